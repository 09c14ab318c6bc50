/**
 * A plain-RTP "PBX" media endpoint on one UDP socket (127.0.0.1): SDP offer/answer, a PCMU/PCMA
 * tone at ptime 20 with one SSRC and continuous sequence numbers/timestamps (RFC 3550 §5.1),
 * RFC 4733 digits, and recording of what it receives (G.711 decoded into a PcmRecorder; RFC 4733
 * events collected).
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import * as alawmulawModule from 'alawmulaw';
import { SineTone } from '../../../src/simulator/media/sine-tone.js';
import { PcmRecorder } from '../../../src/simulator/media/pcm-recorder.js';
import { decodeRtp, encodeRtp } from './rtp-packet.js';
import { decodeTelephoneEvent, digitToEvent, encodeTelephoneEvent, eventToDigit } from './rfc4733.js';
import {
  buildPlainAnswer, buildPlainOffer, parseRemoteMedia, TELEPHONE_EVENT_PT, type PlainCodec, type RemotePayload,
} from './plain-sdp.js';

// alawmulaw is CommonJS for Node (namespace.default) but Vite may load its ESM build (named exports).
const g711 = ('mulaw' in alawmulawModule ? alawmulawModule : (alawmulawModule as unknown as { default: typeof alawmulawModule }).default);

const FRAME_MS = 20;
const SAMPLES_PER_FRAME = 160; // 20 ms at 8 kHz
/** An Opus packet that decodes to 20 ms of silence (TOC 0xF8: CELT FB 20 ms, RFC 6716 §3.1). */
const OPUS_SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);
const MAX_SEND_MS = 180_000; // a sender never runs longer than this

export interface ReceivedDtmfEvent {
  digit: string;
  payloadType: number;
  timestamp: number;
  ssrc: number;
  /** Clock rate of the payload type as negotiated (a=rtpmap). */
  clockRate: number;
  /** Largest duration seen (RTP clock units of the event's payload type). */
  duration: number;
  /** Timestamp and SSRC of the last audio packet received before this event (timeline check). */
  lastAudio?: { timestamp: number; ssrc: number };
  endSeen: boolean;
  firstAt: number;
}

export interface RtpEndpointStats {
  packets: number;
  audioPackets: number;
  byPayloadType: Record<number, number>;
  ssrcs: number[];
  firstPacketAt?: number;
}

type Payload = RemotePayload;

interface PendingDigit { event: number; durationSlots: number; gapSlots: number; done: () => void }

export class RtpEndpoint {
  readonly address = '127.0.0.1';
  readonly recorder = new PcmRecorder(8000, 120);
  readonly dtmfEvents: ReceivedDtmfEvent[] = [];
  private readonly stats: RtpEndpointStats = { packets: 0, audioPackets: 0, byPayloadType: {}, ssrcs: [] };
  private readonly payloads = new Map<number, Payload>();
  private remote?: { address: string; port: number };
  private sendPt?: number;
  private sendTePt?: number;
  private readonly ssrc = randomInt(1, 2 ** 32 - 1);
  private seq = randomInt(0, 0x7fff);
  private ts = randomInt(0, 2 ** 31);
  private tone?: SineTone;
  private silence = false;
  private timer?: NodeJS.Timeout;
  private sendStart = 0;
  private slotsSent = 0;
  private firstPacket = true;
  private digits: PendingDigit[] = [];
  private active?: { d: PendingDigit; startTs: number; slot: number; phase: 'tone' | 'end' | 'gap'; endSent: number };
  private closed = false;
  private lastAudio?: { timestamp: number; ssrc: number };
  private echo = false;

  private constructor(private readonly socket: Socket, readonly port: number) {
    socket.on('message', (msg) => this.onPacket(msg));
  }

  static async create(): Promise<RtpEndpoint> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    socket.on('error', () => { /* ICMP unreachable etc. on loopback: ignore */ });
    return new RtpEndpoint(socket, socket.address().port);
  }

  /** Our offer; `telephoneEventPt: null` leaves telephone-event out. */
  offer(codecs: PlainCodec[] = ['PCMU', 'PCMA'], telephoneEventPt: number | null = TELEPHONE_EVENT_PT): string {
    const sdp = buildPlainOffer({ address: this.address, port: this.port, codecs, telephoneEventPt });
    for (const p of parseRemoteMedia(sdp).payloads) this.payloads.set(p.pt, p);
    return sdp;
  }

  /** Applies the remote answer to our offer. */
  applyAnswer(sdp: string): void {
    this.setRemote(sdp);
  }

  /** Answers a remote offer (accepting the first offered codec in `accept`) and applies it. */
  answer(offerSdp: string, accept: PlainCodec[] = ['PCMU', 'PCMA']): string {
    const a = buildPlainAnswer(offerSdp, { address: this.address, port: this.port, accept });
    this.setRemote(offerSdp, [a.codec.pt, ...(a.telephoneEvent ? [a.telephoneEvent.pt] : [])]);
    return a.sdp;
  }

  private setRemote(sdp: string, only?: number[]): void {
    const m = parseRemoteMedia(sdp);
    const usable = m.payloads.filter((p) => !only || only.includes(p.pt));
    for (const p of usable) this.payloads.set(p.pt, p);
    this.remote = { address: m.address, port: m.port };
    this.sendPt = usable.find((p) => ['pcmu', 'pcma', 'opus'].includes(p.name.toLowerCase()))?.pt;
    const events = usable.filter((p) => p.name.toLowerCase() === 'telephone-event');
    this.sendTePt = (events.find((p) => p.clockRate === 8000) ?? events[0])?.pt;
  }

  /** The negotiated codec we send (PCMU/PCMA), if any. */
  get sendCodec(): string | undefined {
    return this.sendPt === undefined ? undefined : this.payloads.get(this.sendPt)?.name;
  }

  /** Starts sending `hz` as G.711 every 20 ms (after the remote address is known); Opus sends silence. */
  startTone(hz: number): void {
    this.tone = new SineTone(hz, 8000, 0.3);
    this.silence = false;
    this.ensureTimer();
  }

  /** Sends G.711 silence instead of a tone. */
  startSilence(): void {
    this.tone = undefined;
    this.silence = true;
    this.ensureTimer();
  }

  /**
   * Sends every received audio payload straight back (own SSRC and sequence numbers, the sender's
   * timestamps), e.g. to loop Opus through rtpengine without an Opus codec here.
   */
  startEcho(): void {
    this.echo = true;
    this.tone = undefined;
    this.silence = false;
  }

  /** Stops audio (digits still queued keep going). */
  stopAudio(): void {
    this.tone = undefined;
    this.silence = false;
  }

  /**
   * Sends RFC 4733 events for `digits` (§2.5: one timestamp per event, growing duration, marker on
   * the first packet, E bit on the last, which is sent three times). Resolves when all are sent.
   */
  sendDigits(digits: string, { durationMs = 200, gapMs = 100 } = {}): Promise<void> {
    if (this.sendTePt === undefined) return Promise.reject(new Error('telephone-event was not negotiated'));
    const promises = [...digits].map((digit) => new Promise<void>((done) => {
      this.digits.push({
        event: digitToEvent(digit),
        durationSlots: Math.max(1, Math.round(durationMs / FRAME_MS)),
        gapSlots: Math.max(0, Math.round(gapMs / FRAME_MS)),
        done,
      });
    }));
    this.ensureTimer();
    return Promise.all(promises).then(() => undefined);
  }

  /** Digits received as RFC 4733 events, in order (one per event timestamp). */
  dtmfReceived(): string {
    return this.dtmfEvents.map((e) => e.digit).join('');
  }

  snapshot(): RtpEndpointStats {
    return { ...this.stats, byPayloadType: { ...this.stats.byPayloadType }, ssrcs: [...this.stats.ssrcs] };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.releaseDigits();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  /** Resolves every pending sendDigits() (on close or when the sender's time is up). */
  private releaseDigits(): void {
    this.active?.d.done();
    this.active = undefined;
    for (const d of this.digits) d.done();
    this.digits = [];
  }

  private ensureTimer(): void {
    if (this.timer || this.closed) return;
    this.sendStart = Date.now();
    this.slotsSent = 0;
    this.timer = setInterval(() => this.tick(), FRAME_MS / 2);
  }

  /** Sends every 20 ms slot that is due (at most 5 per tick, to catch up after timer jitter). */
  private tick(): void {
    const elapsed = Date.now() - this.sendStart;
    if (elapsed > MAX_SEND_MS) {
      clearInterval(this.timer);
      this.releaseDigits();
      return;
    }
    const due = Math.floor(elapsed / FRAME_MS) + 1;
    for (let burst = 0; this.slotsSent < due && burst < 5; burst++) {
      this.slotsSent++;
      this.sendSlot();
    }
  }

  /** RTP clock of the audio codec we send (RFC 3551 / RFC 7587: Opus uses 48000). */
  private get audioClock(): number {
    return this.sendPt === undefined ? 8000 : (this.payloads.get(this.sendPt)?.clockRate ?? 8000);
  }

  private sendSlot(): void {
    const slotTs = this.ts;
    this.ts = (this.ts + (this.audioClock * FRAME_MS) / 1000) >>> 0;
    if (!this.remote) return;
    if (!this.active && this.digits.length > 0) {
      this.active = { d: this.digits.shift()!, startTs: slotTs, slot: 0, phase: 'tone', endSent: 0 };
    }
    const a = this.active;
    if (a && a.phase !== 'gap' && this.sendTePt !== undefined) {
      const first = a.phase === 'tone' && a.slot === 0;
      if (a.phase === 'tone') a.slot++;
      // Duration in the telephone-event payload type's clock (RFC 4733 §2.5.1.3); the event
      // timestamp is on the audio timeline, as libwebrtc (and Meta) do next to Opus.
      const teClock = this.payloads.get(this.sendTePt)?.clockRate ?? 8000;
      const duration = (a.slot * teClock * FRAME_MS) / 1000;
      const end = a.phase === 'end' || a.slot >= a.d.durationSlots;
      if (end) a.phase = 'end';
      this.send(this.sendTePt, a.startTs, first, encodeTelephoneEvent({ event: a.d.event, end, volume: 10, duration }));
      if (end && ++a.endSent >= 3) { a.phase = 'gap'; a.slot = 0; }
      return;
    }
    if (a && a.phase === 'gap') {
      if (a.slot++ >= a.d.gapSlots) { a.d.done(); this.active = undefined; }
    }
    if (this.sendPt === undefined || (!this.tone && !this.silence)) return;
    const codec = this.payloads.get(this.sendPt)?.name.toLowerCase();
    let payload: Buffer;
    if (codec === 'opus') {
      payload = OPUS_SILENCE; // no Opus encoder here: Opus legs carry silence (DTMF/codec tests only)
    } else {
      const pcm = this.tone ? this.tone.next(SAMPLES_PER_FRAME) : new Int16Array(SAMPLES_PER_FRAME);
      payload = Buffer.from(codec === 'pcma' ? g711.alaw.encode(pcm) : g711.mulaw.encode(pcm));
    }
    this.send(this.sendPt, slotTs, this.firstPacket, payload);
    this.firstPacket = false;
  }

  private send(payloadType: number, timestamp: number, marker: boolean, payload: Buffer): void {
    if (!this.remote || this.closed) return;
    const pkt = encodeRtp({ payloadType, sequenceNumber: this.seq, timestamp, ssrc: this.ssrc, marker, payload });
    this.seq = (this.seq + 1) & 0xffff;
    this.socket.send(pkt, this.remote.port, this.remote.address);
  }

  private onPacket(msg: Buffer): void {
    const p = decodeRtp(msg);
    if (!p) return;
    this.stats.packets++;
    this.stats.firstPacketAt ??= Date.now();
    this.stats.byPayloadType[p.payloadType] = (this.stats.byPayloadType[p.payloadType] ?? 0) + 1;
    if (!this.stats.ssrcs.includes(p.ssrc)) this.stats.ssrcs.push(p.ssrc);
    const name = this.payloads.get(p.payloadType)?.name.toLowerCase();
    if (name === 'telephone-event') return this.onEvent(p.payloadType, p.timestamp, p.ssrc, p.payload);
    if (name !== undefined) this.lastAudio = { timestamp: p.timestamp, ssrc: p.ssrc };
    if (name === 'pcmu' || name === 'pcma') {
      this.stats.audioPackets++;
      const pcm = name === 'pcmu' ? g711.mulaw.decode(p.payload) : g711.alaw.decode(p.payload);
      this.recorder.write(pcm);
    } else if (name !== undefined) {
      this.stats.audioPackets++; // e.g. Opus passed through: counted, not decoded
    }
    if (this.echo && name !== undefined) this.send(p.payloadType, p.timestamp, false, Buffer.from(p.payload));
  }

  private onEvent(pt: number, timestamp: number, ssrc: number, payload: Buffer): void {
    const e = decodeTelephoneEvent(payload);
    if (!e) return;
    const known = this.dtmfEvents.find((x) => x.timestamp === timestamp && x.ssrc === ssrc && x.payloadType === pt);
    if (known) {
      known.duration = Math.max(known.duration, e.duration);
      known.endSeen ||= e.end;
      return;
    }
    this.dtmfEvents.push({
      digit: eventToDigit(e.event), payloadType: pt, timestamp, ssrc, duration: e.duration, endSeen: e.end, firstAt: Date.now(),
      clockRate: this.payloads.get(pt)?.clockRate ?? 8000, ...(this.lastAudio ? { lastAudio: { ...this.lastAudio } } : {}),
    });
  }
}
