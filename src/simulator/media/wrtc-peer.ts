/**
 * Real-media simulated WhatsApp user on @roamhq/wrtc (libwebrtc): ICE + DTLS-SRTP + Opus.
 * Plays a sine tone through nonstandard.RTCAudioSource (10 ms 48 kHz frames on a bounded timer),
 * records what it hears through RTCAudioSink, and reports packets (from getStats), tones (Goertzel)
 * and DTMF digits heard in the playout. libwebrtc renders received RFC 4733 telephone-events as
 * DTMF tones in the playout (NetEq), so `dtmfReceived` lists digits heard as tones: RFC 4733
 * events and in-band DTMF audio look the same here.
 */
import type { MediaReport, SimulatedMediaFactory, SimulatedUserMedia, ToneReport } from './types.js';
import { SineTone } from './sine-tone.js';
import { dominantFrequency, frameEnergy, toneFraction } from './goertzel.js';
import { ReceivedAudio } from './received-audio.js';
import { keepLoopbackCandidates } from './loopback-candidates.js';
import { realMediaAvailability, type Wrtc, type WrtcAudioData, type WrtcAudioSink, type WrtcPeerConnection, type WrtcSender } from './wrtc-loader.js';

const FRAME_MS = 10;
const RATE = 48_000;
const FRAME_SAMPLES = RATE / 100;
const SETTLE_MS = 100; // skipped after the first audible frame (decoder/jitter-buffer ramp-up)

export interface WrtcPeerOptions {
  toneHz: number;
  listenHz: number[];
  /** The tone and the stats poller stop after this long (default 10 minutes). */
  maxDurationMs?: number;
  /** How long to wait for ICE gathering before returning SDP (default 3 s). */
  gatherTimeoutMs?: number;
}

export interface WrtcMediaReport extends MediaReport {
  mode: 'real';
  /** Audio frames delivered by RTCAudioSink (libwebrtc may deliver silence frames without packets). */
  sinkFrames: number;
  /** The sample rates those frames came at, in order of first appearance (all recorded at 48 kHz: received-audio.ts). */
  sinkRates: number[];
  /** Epoch ms: local description set, ICE gathering done (SDP returned), remote description set, ICE and DTLS up. */
  timings: {
    createdAt: number; localDescriptionAt?: number; localSdpAt?: number; remoteSdpAt?: number; iceConnectedAt?: number; connectedAt?: number;
  };
}

export class WrtcUserMedia implements SimulatedUserMedia {
  private readonly pc: WrtcPeerConnection;
  private readonly tone: SineTone;
  private sender?: WrtcSender;
  private sink?: WrtcAudioSink;
  /** Created with the first frame the sink delivers (its recording is 5.8 MB). */
  private heard?: ReceivedAudio;
  private packetsReceived = 0;
  private firstPacketAt?: number;
  private readonly timings: WrtcMediaReport['timings'] = { createdAt: Date.now() };
  private playTimer?: NodeJS.Timeout;
  private statsTimer?: NodeJS.Timeout;
  private playStart = 0;
  private framesSent = 0;
  private closed = false;

  constructor(private readonly wrtc: Wrtc, private readonly opts: WrtcPeerOptions) {
    this.tone = new SineTone(opts.toneHz, RATE, 0.3);
    this.pc = new wrtc.RTCPeerConnection({ iceServers: [] });
    this.pc.oniceconnectionstatechange = () => {
      const s = this.pc.iceConnectionState;
      if ((s === 'connected' || s === 'completed') && !this.timings.iceConnectedAt) this.timings.iceConnectedAt = Date.now();
    };
    this.pc.onconnectionstatechange = () => {
      if (this.pc.connectionState === 'connected' && !this.timings.connectedAt) this.timings.connectedAt = Date.now();
    };
    this.pc.ontrack = ({ track }) => {
      if (track.kind !== 'audio' || this.sink) return;
      this.sink = new wrtc.nonstandard.RTCAudioSink(track);
      this.sink.ondata = (d) => this.onAudio(d);
    };
  }

  get connectionState(): string {
    return this.pc.connectionState;
  }

  /** Epoch ms when the connection (ICE + DTLS) first reached "connected", if it did. */
  get connectedAt(): number | undefined {
    return this.timings.connectedAt;
  }

  async answer(offerSdp: string): Promise<string> {
    await this.pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    this.timings.remoteSdpAt = Date.now();
    this.attachSource();
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    this.timings.localDescriptionAt = Date.now();
    return this.finishLocal();
  }

  /** An offer shaped like Meta's: only Opus 111 and telephone-event/8000 126 (actpass is libwebrtc's default). */
  async createOffer(): Promise<string> {
    this.attachSource();
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription({ type: 'offer', sdp: onlyOpusAndTelephoneEvent8000(offer.sdp) });
    this.timings.localDescriptionAt = Date.now();
    return this.finishLocal();
  }

  async applyAnswer(answerSdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
    this.timings.remoteSdpAt = Date.now();
  }

  /** Whether this peer can send RFC 4733 (RTCRtpSender.dtmf exists; not in @roamhq/wrtc 0.10). */
  get canSendDtmf(): boolean {
    return Boolean(this.sender?.dtmf);
  }

  /** RFC 4733 via RTCRtpSender.dtmf where the binding has it; @roamhq/wrtc 0.10 does not. */
  async sendDtmf(digits: string): Promise<void> {
    const dtmf = this.sender?.dtmf;
    if (!dtmf) {
      throw new Error('@roamhq/wrtc does not expose RTCRtpSender.dtmf (RTCDTMFSender): RFC 4733 cannot be sent from this peer');
    }
    dtmf.insertDTMF(digits, 500, 100);
    await new Promise((r) => setTimeout(r, digits.length * 600 + 200));
  }

  /** Absolute position in the received-audio recording (for `toneFractionSince`). */
  audioMark(): number {
    return this.heard?.recorder.position ?? 0;
  }

  /** Fraction of 20 ms frames since `mark` in which `hz` dominates. */
  toneFractionSince(mark: number, hz: number): number {
    const r = this.heard?.recorder;
    return r ? toneFraction(r.since(mark), r.sampleRate, hz) : 0;
  }

  /** RMS of received audio since `mark` (16-bit units). */
  rmsSince(mark: number): number {
    if (!this.heard) return 0;
    const s = this.heard.recorder.since(mark);
    return s.length ? Math.sqrt(frameEnergy(s, 0, s.length) / s.length) : 0;
  }

  /** Refreshes packet counters from getStats now (report() uses the last poll). */
  async refreshStats(): Promise<void> {
    if (this.closed) return;
    const stats = await this.pc.getStats();
    stats.forEach((s) => {
      if (s.type === 'inbound-rtp' && (s.kind === 'audio' || s.mediaType === 'audio')) {
        const n = Number(s.packetsReceived ?? 0);
        if (n > 0 && this.firstPacketAt === undefined) this.firstPacketAt = Date.now();
        this.packetsReceived = n;
      }
    });
  }

  /** All getStats() entries (debugging and measurements). */
  async rawStats(): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    if (this.closed) return out;
    (await this.pc.getStats()).forEach((s) => out.push(s));
    return out;
  }

  report(): WrtcMediaReport {
    const r = this.heard?.recorder;
    const onset = this.heard?.onsetPosition;
    const analysed = r && onset !== undefined
      ? r.since(onset + Math.round((SETTLE_MS * r.sampleRate) / 1000))
      : new Int16Array(0);
    const tones: ToneReport[] = this.opts.listenHz.map((f) => ({
      frequencyHz: f,
      fraction: r ? toneFraction(analysed, r.sampleRate, f) : 0,
    }));
    const dominant = r ? dominantFrequency(r.last(2), r.sampleRate) : undefined;
    return {
      mode: 'real',
      receivedPackets: this.packetsReceived,
      ...(this.firstPacketAt !== undefined ? { firstPacketAt: this.firstPacketAt } : {}),
      ...(dominant !== undefined ? { dominantFrequencyHz: dominant } : {}),
      tones,
      dtmfReceived: this.heard?.dtmf.digits ?? '',
      connectionState: this.pc.connectionState,
      sinkFrames: this.heard?.frames ?? 0,
      sinkRates: [...(this.heard?.rates ?? [])],
      timings: { ...this.timings },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.playTimer);
    clearInterval(this.statsTimer);
    try { this.sink?.stop(); } catch { /* already stopped */ }
    try { this.sender?.track?.stop(); } catch { /* already stopped */ }
    try { this.pc.close(); } catch { /* already closed */ }
  }

  private talkingSince?: number;

  startTalking(): void {
    this.talkingSince ??= Date.now();
  }

  private attachSource(): void {
    if (this.sender) return;
    const source = new this.wrtc.nonstandard.RTCAudioSource();
    const track = source.createTrack();
    this.sender = this.pc.addTrack(track, new this.wrtc.MediaStream([track]));
    const maxMs = this.opts.maxDurationMs ?? 600_000;
    this.playStart = Date.now();
    // Every 10 ms frame that is due is fed (at most 5 per tick to catch up after timer jitter).
    this.playTimer = setInterval(() => {
      const elapsed = Date.now() - this.playStart;
      if (elapsed > maxMs || this.closed) { clearInterval(this.playTimer); return; }
      // Silent (no frames at all, so libwebrtc sends no RTP) until the user starts talking.
      if (this.talkingSince === undefined) { this.framesSent = Math.floor(elapsed / FRAME_MS) + 1; return; }
      const due = Math.floor(elapsed / FRAME_MS) + 1;
      for (let burst = 0; this.framesSent < due && burst < 5; burst++) {
        this.framesSent++;
        source.onData({ samples: this.tone.next(FRAME_SAMPLES), sampleRate: RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: FRAME_SAMPLES });
      }
    }, FRAME_MS);
    this.statsTimer = setInterval(() => {
      if (Date.now() - this.playStart > maxMs) { clearInterval(this.statsTimer); return; }
      this.refreshStats().catch(() => undefined);
    }, 100);
  }

  private async finishLocal(): Promise<string> {
    await this.gathered(this.opts.gatherTimeoutMs ?? 3_000);
    this.timings.localSdpAt = Date.now();
    const sdp = this.pc.localDescription?.sdp;
    if (!sdp) throw new Error('wrtc produced no local description');
    return keepLoopbackCandidates(sdp);
  }

  private gathered(timeoutMs: number): Promise<void> {
    if (this.pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.pc.onicegatheringstatechange = () => {
        if (this.pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve(); }
      };
    });
  }

  private onAudio(d: WrtcAudioData): void {
    (this.heard ??= new ReceivedAudio()).push(d);
  }
}

/** Keeps only opus/48000/2 and telephone-event/8000 in the audio m-line (Meta's offer shape, docs/whatsapp-calling.md#sdp-rules). */
export function onlyOpusAndTelephoneEvent8000(sdp: string): string {
  const lines = sdp.split(/\r?\n/);
  const keep = new Set<string>();
  for (const l of lines) {
    const m = /^a=rtpmap:(\d+) (opus\/48000\/2|telephone-event\/8000)$/i.exec(l);
    if (m) keep.add(m[1]!);
  }
  const pt = (l: string): string | undefined => /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+)[ ]/.exec(l)?.[1];
  return lines
    .map((l) => (l.startsWith('m=audio ') ? [...l.split(' ').slice(0, 3), ...l.split(' ').slice(3).filter((p) => keep.has(p))].join(' ') : l))
    .filter((l) => { const p = pt(l); return p === undefined || keep.has(p); })
    .join('\r\n');
}

export class WrtcMediaFactory implements SimulatedMediaFactory {
  readonly mode = 'real' as const;

  constructor(private readonly wrtc: Wrtc, private readonly defaults: Partial<WrtcPeerOptions> = {}) {}

  create(opts: { toneHz: number; listenHz: number[] }): WrtcUserMedia {
    return new WrtcUserMedia(this.wrtc, { ...this.defaults, ...opts });
  }
}

/** The real-media factory; throws with the reason when @roamhq/wrtc is not usable. */
export async function createWrtcMediaFactory(defaults: Partial<WrtcPeerOptions> = {}): Promise<WrtcMediaFactory> {
  const a = await realMediaAvailability();
  if (!a.available) throw new Error(a.reason);
  return new WrtcMediaFactory(a.wrtc, defaults);
}
