/**
 * Signalling-only simulated user media (load tests): answers and offers with syntactically valid
 * WebRTC SDP shaped like Meta's, but nothing listens on the advertised address (127.0.0.1, port 9
 * = discard by default), so no ICE/DTLS/RTP ever happens. Checks the business's SDP against
 * Meta's documented rules (fingerprint present, DTLS client in answers, Opus offered; docs/whatsapp-calling.md#media)
 * and throws like Meta would reject.
 */
import type { MediaReport, SimulatedMediaFactory, SimulatedUserMedia } from './types.js';
import { buildWebrtcSdp } from './webrtc-sdp-shapes.js';

const META_OPUS_PT = 111;
const META_TELEPHONE_EVENT_PT = 126;

export interface SignallingOnlyOptions {
  /** Advertised port (default 9, the discard port: nothing listens there). */
  port?: number;
}

export interface RemoteAudio { opusPt?: number; telephoneEventPt?: number; mid?: string; setup?: string; fingerprint: boolean; ice: boolean }

/**
 * What the checks need from the business's SDP, read line by line: session-level attributes, then
 * those of the first audio m-section (media-level a=setup/a=fingerprint/ICE win over session-level).
 * A plain scan rather than a full SDP parser: under load tests the simulator reads an SDP per call,
 * and sdp-transform's grammar was a tenth of its CPU (bench:cps profile).
 */
export function readRemote(sdp: string): RemoteAudio {
  const session: Partial<Record<'setup' | 'fingerprint' | 'ufrag' | 'pwd', string>> = {};
  const media: typeof session = {};
  let where: 'session' | 'audio' | 'other' | 'done' = 'session';
  let opusPt: number | undefined;
  let telephoneEventPt: number | undefined;
  let mid: string | undefined;
  let audioSeen = false;
  for (const raw of sdp.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.startsWith('m=')) {
      if (where === 'audio') { where = 'done'; break; }
      where = line.startsWith('m=audio ') && !audioSeen ? 'audio' : 'other';
      if (where === 'audio') audioSeen = true;
      continue;
    }
    if (where === 'other' || !line.startsWith('a=')) continue;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line.slice(2) : line.slice(2, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).trim();
    const into = where === 'session' ? session : media;
    if (name === 'setup') into.setup = value;
    else if (name === 'fingerprint') into.fingerprint = value;
    else if (name === 'ice-ufrag') into.ufrag = value;
    else if (name === 'ice-pwd') into.pwd = value;
    else if (where === 'audio' && name === 'mid') mid = value;
    else if (where === 'audio' && name === 'rtpmap') {
      const m = /^(\d+)\s+([^/\s]+)\/(\d+)/.exec(value);
      if (!m) continue;
      const codec = m[2]!.toLowerCase();
      const rate = Number(m[3]);
      if (codec === 'opus' && rate === 48000) opusPt ??= Number(m[1]);
      else if (codec === 'telephone-event' && rate === 8000) telephoneEventPt ??= Number(m[1]);
    }
  }
  if (!audioSeen) throw new Error('SDP has no audio m-line');
  return {
    opusPt, telephoneEventPt, mid,
    setup: media.setup ?? session.setup,
    fingerprint: Boolean(media.fingerprint ?? session.fingerprint),
    ice: Boolean((media.ufrag ?? session.ufrag) && (media.pwd ?? session.pwd)),
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
