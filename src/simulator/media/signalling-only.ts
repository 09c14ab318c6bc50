/**
 * Signalling-only simulated user media (load tests): answers and offers with syntactically valid
 * WebRTC SDP shaped like Meta's, but nothing listens on the advertised address (127.0.0.1, port 9
 * = discard by default), so no ICE/DTLS/RTP ever happens. Checks the business's SDP against
 * Meta's documented rules (fingerprint present, DTLS client in answers, Opus offered; docs/whatsapp-calling.md#media)
 * and throws like Meta would reject.
 */
import { parse } from 'sdp-transform';
import type { MediaReport, SimulatedMediaFactory, SimulatedUserMedia } from './types.js';
import { buildWebrtcSdp } from './webrtc-sdp-shapes.js';

const META_OPUS_PT = 111;
const META_TELEPHONE_EVENT_PT = 126;

export interface SignallingOnlyOptions {
  /** Advertised port (default 9, the discard port: nothing listens there). */
  port?: number;
}

interface RemoteAudio { opusPt?: number; telephoneEventPt?: number; mid?: string; setup?: string; fingerprint: boolean; ice: boolean }

function readRemote(sdp: string): RemoteAudio {
  const s = parse(sdp);
  const m = s.media.find((x) => x.type === 'audio');
  if (!m) throw new Error('SDP has no audio m-line');
  const rtp = m.rtp ?? [];
  return {
    opusPt: rtp.find((r) => r.codec.toLowerCase() === 'opus' && r.rate === 48000)?.payload,
    telephoneEventPt: rtp.find((r) => r.codec.toLowerCase() === 'telephone-event' && r.rate === 8000)?.payload,
    mid: m.mid !== undefined ? String(m.mid) : undefined,
    setup: m.setup ?? s.setup,
    fingerprint: Boolean(m.fingerprint ?? s.fingerprint),
    ice: Boolean((m.iceUfrag ?? s.iceUfrag) && (m.icePwd ?? s.icePwd)),
  };
}

export class SignallingOnlyUserMedia implements SimulatedUserMedia {
  private closed = false;

  constructor(private readonly listenHz: number[], private readonly port: number) {}

  /** Business-initiated: answer the business's offer (its payload types, a=setup:active like Meta's answers). */
  async answer(offerSdp: string): Promise<string> {
    this.assertOpen();
    const r = readRemote(offerSdp);
    if (!r.fingerprint) throw new Error('No fingerprint found in SDP'); // Meta's wording (docs/whatsapp-calling.md#sdp-rules)
    if (!r.ice) throw new Error('offer has no ICE credentials (a=ice-ufrag/a=ice-pwd)');
    if (r.opusPt === undefined) throw new Error('offer has no opus/48000/2');
    return buildWebrtcSdp({
      setup: 'active', address: '127.0.0.1', port: this.port, mid: r.mid ?? '0', opusPt: r.opusPt,
      ...(r.telephoneEventPt !== undefined ? { telephoneEventPt: r.telephoneEventPt } : {}), iceLite: true,
    });
  }

  /** User-initiated: an ice-lite offer like Meta's (actpass, Opus 111, telephone-event/8000 126). */
  async createOffer(): Promise<string> {
    this.assertOpen();
    return buildWebrtcSdp({
      setup: 'actpass', address: '127.0.0.1', port: this.port, mid: 'audio', opusPt: META_OPUS_PT,
      telephoneEventPt: META_TELEPHONE_EVENT_PT, iceLite: true,
    });
  }

  /** Checks the business's answer as Meta requires: fingerprint, ICE, and a=setup:active (business = DTLS client). */
  async applyAnswer(answerSdp: string): Promise<void> {
    this.assertOpen();
    const r = readRemote(answerSdp);
    if (!r.fingerprint) throw new Error('No fingerprint found in SDP');
    if (!r.ice) throw new Error('answer has no ICE credentials (a=ice-ufrag/a=ice-pwd)');
    if (r.setup !== 'active') throw new Error(`answer has a=setup:${r.setup ?? '(none)'}; Meta requires a=setup:active`);
    if (r.opusPt === undefined) throw new Error('answer has no opus/48000/2');
  }

  /** No media here: nothing is sent. */
  /** Nothing is ever sent in signalling-only mode. */
  startTalking(): void {}

  async sendDtmf(_digits: string): Promise<void> {
    this.assertOpen();
  }

  report(): MediaReport {
    return {
      mode: 'signalling-only',
      receivedPackets: 0,
      tones: this.listenHz.map((frequencyHz) => ({ frequencyHz, fraction: 0 })),
      dtmfReceived: '',
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('simulated media is closed');
  }
}

export class SignallingOnlyMediaFactory implements SimulatedMediaFactory {
  readonly mode = 'signalling-only' as const;

  constructor(private readonly options: SignallingOnlyOptions = {}) {}

  create(opts: { toneHz: number; listenHz: number[] }): SignallingOnlyUserMedia {
    return new SignallingOnlyUserMedia(opts.listenHz, this.options.port ?? 9);
  }
}
