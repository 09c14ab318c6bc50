/**
 * A plain-RTP "PBX" media endpoint on one UDP socket (127.0.0.1): SDP offer/answer (its own, or
 * SDP text the test supplies), a PCMU/PCMA/G.722/Opus tone at the negotiated ptime with one SSRC
 * and continuous sequence numbers/timestamps (https://www.rfc-editor.org/rfc/rfc3550#section-5.1),
 * RFC 4733 digits, and recording of what it receives (audio decoded into an 8 kHz PcmRecorder;
 * RFC 4733 events collected). It can also misbehave like real equipment: change port, announce a
 * port it does not send from, fall silent.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { PcmRecorder } from '../../../src/simulator/media/pcm-recorder.js';
import { decodeRtp, encodeRtp } from './rtp-packet.js';
import { decodeTelephoneEvent, digitToEvent, encodeTelephoneEvent, eventToDigit } from './rfc4733.js';
import {
  buildPlainAnswer, buildPlainOffer, parseRemoteMedia, TELEPHONE_EVENT_PT, type PlainCodec, type RemotePayload,
} from './plain-sdp.js';
import { AudioDecoder, AudioSource, audioCodec, framePtime } from './rtp-codecs.js';

const DEFAULT_PTIME = 20;
const PTIMES = [10, 20, 30, 40];
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
  /** SSRCs received, in order of first appearance. */
  ssrcs: number[];
  firstPacketAt?: number;
}

export interface RtpEndpointOptions {
  /** SSRC we send with (default random), e.g. the one a fixture SDP announces in a=ssrc. */
  ssrc?: number;
  /**
   * Port written into offer()/answer() (and `sdpPort`) instead of the bound one: NAT, where the
   * SDP says port A and packets come from port B. Receiving still works with a peer that does
   * symmetric RTP (https://www.rfc-editor.org/rfc/rfc4961), like rtpengine latching to our source.
   */
  announcePort?: number;
}

type Payload = RemotePayload;

interface PendingDigit { event: number; durationMs: number; gapMs: number; done: () => void }

export class RtpEndpoint {
  readonly address = '127.0.0.1';
  readonly recorder = new PcmRecorder(8000, 120);
  readonly dtmfEvents: ReceivedDtmfEvent[] = [];
  private readonly stats: RtpEndpointStats = { packets: 0, audioPackets: 0, byPayloadType: {}, ssrcs: [] };
  private readonly payloads = new Map<number, Payload>();
  private readonly decoders = new Map<number, AudioDecoder>();
  private readonly source = new AudioSource();
  private remote?: { address: string; port: number };
  private sendPt?: number;
  private sendTePt?: number;
  private sendSsrc: number;
  private seq = randomInt(0, 0x7fff);
  private ts = randomInt(0, 2 ** 31);
  private paused = false;
  private forcedPtime?: number;
  private remotePtime?: number;
  private localPtime?: number;
  private timer?: NodeJS.Timeout;
  private timerPtime = DEFAULT_PTIME;
  private sendStart = 0;
  private slotsSent = 0;
  private firstPacket = true;
  private digits: PendingDigit[] = [];
  private active?: { d: PendingDigit; startTs: number; slot: number; slots: number; gapSlots: number; phase: 'tone' | 'end' | 'gap'; endSent: number };
  private closed = false;
  private lastAudio?: { timestamp: number; ssrc: number };
  private echo = false;
  private boundPort: number;

  private constructor(private socket: Socket, private readonly announcePort: number | undefined, ssrc: number | undefined) {
    this.sendSsrc = ssrc ?? randomInt(1, 2 ** 32 - 1);
    this.boundPort = socket.address().port;
    this.listen(socket);
  }

  static async create(opts: RtpEndpointOptions = {}): Promise<RtpEndpoint> {
    return new RtpEndpoint(await bindSocket(), opts.announcePort, opts.ssrc);
  }

  /** The UDP port we receive and send on (changes with rebind()). */
  get port(): number {
    return this.boundPort;
  }

  /** The port our own SDP (offer()/answer()) announces: `announcePort` if given, else `port`. */
  get sdpPort(): number {
    return this.announcePort ?? this.port;
  }

  /** The SSRC we send with. */
  get ssrc(): number {
    return this.sendSsrc;
  }

  /** Sends with SSRC `n` from the next packet on (as a phone announcing a=ssrc:N does). */
  setSsrc(n: number): void {
    this.sendSsrc = n >>> 0;
  }

  /** Our offer; `telephoneEventPt: null` leaves telephone-event out. */
  offer(codecs: PlainCodec[] = ['PCMU', 'PCMA'], telephoneEventPt: number | null = TELEPHONE_EVENT_PT): string {
    return this.useLocalSdp(buildPlainOffer({ address: this.address, port: this.sdpPort, codecs, telephoneEventPt }));
  }

  /**
   * Uses `sdp` (complete SDP text, the caller's, e.g. what a desk phone sends) as our offer: its
   * payload types (rtpmap, or static 0/8/9) are registered for receiving. Returns it unchanged.
   */
  useLocalSdp(sdp: string): string {
    const m = parseRemoteMedia(sdp);
    for (const p of m.payloads) this.payloads.set(p.pt, p);
    this.localPtime = m.ptime;
    this.retime();
    return sdp;
  }

  /** Applies the remote answer to our offer; again after a re-INVITE to move or re-codec the stream. */
  applyAnswer(sdp: string): void {
    this.applyRemoteSdp(sdp);
  }

  /** Answers a remote offer (accepting the first offered codec in `accept`) and applies it. */
  answer(offerSdp: string, accept: PlainCodec[] = ['PCMU', 'PCMA']): string {
    const a = buildPlainAnswer(offerSdp, { address: this.address, port: this.sdpPort, accept });
    this.localPtime = undefined;
    this.applyRemoteSdp(offerSdp, [a.codec.pt, ...(a.telephoneEvent ? [a.telephoneEvent.pt] : [])]);
    return a.sdp;
  }

  /**
   * Answers `remoteOffer` with `localAnswer`, SDP text the caller wrote: registers the answer's
   * payload types and applies the offer restricted to them (as answer() does). Returns the answer.
   */
  answerWithSdp(remoteOffer: string, localAnswer: string): string {
    const local = parseRemoteMedia(localAnswer);
    for (const p of local.payloads) this.payloads.set(p.pt, p);
    this.localPtime = local.ptime;
    this.applyRemoteSdp(remoteOffer, local.payloads.map((p) => p.pt));
    return localAnswer;
  }

  /** Points our sending at `address:port` (e.g. what a re-answer says), leaving codecs alone. */
  setRemote(address: string, port: number): void {
    this.remote = { address, port };
  }

  /** Forces the packet duration we send (ms); `undefined` goes back to what the SDP says. */
  setPtime(ms: number | undefined): void {
    this.forcedPtime = ms;
    this.retime();
  }

  /**
   * The packet duration we send: forced, else the remote's a=ptime, else our own SDP's (each only
   * if 10, 20, 30 or 40), else 20. a=ptime is the receiver's wish (https://www.rfc-editor.org/rfc/rfc4566#section-6).
   */
  get ptime(): number {
    const valid = (p: number | undefined): number | undefined => (p !== undefined && PTIMES.includes(p) ? p : undefined);
    const wanted = this.forcedPtime ?? valid(this.remotePtime) ?? valid(this.localPtime) ?? DEFAULT_PTIME;
    return framePtime(audioCodec(this.sendCodec), wanted);
  }

  private applyRemoteSdp(sdp: string, only?: number[]): void {
    const m = parseRemoteMedia(sdp);
    const usable = m.payloads.filter((p) => !only || only.includes(p.pt));
    for (const p of usable) this.payloads.set(p.pt, p);
    this.remote = { address: m.address, port: m.port };
    this.remotePtime = m.ptime;
    this.sendPt = usable.find((p) => audioCodec(p.name) !== undefined)?.pt;
    const events = usable.filter((p) => p.name.toLowerCase() === 'telephone-event');
    this.sendTePt = (events.find((p) => p.clockRate === 8000) ?? events[0])?.pt;
    this.retime();
  }

  /** The negotiated codec we send (PCMU, PCMA, G722 or opus, as the SDP spells it), if any. */
  get sendCodec(): string | undefined {
    return this.sendPt === undefined ? undefined : this.payloads.get(this.sendPt)?.name;
  }

  /** Starts sending `hz` in the negotiated codec every ptime (once the remote address is known). */
  startTone(hz: number): void {
    this.source.startTone(hz);
    this.ensureTimer();
  }

  /** Sends silence instead of a tone (Opus at 20 ms: a canned silence frame, no encoder needed). */
  startSilence(): void {
    this.source.startSilence();
    this.ensureTimer();
  }

  /**
   * Sends every received audio payload straight back (own SSRC and sequence numbers, the sender's
   * timestamps), e.g. to loop Opus through rtpengine untouched.
   */
  startEcho(): void {
    this.echo = true;
    this.source.stop();
  }

  /** Stops audio (digits still queued keep going). */
  stopAudio(): void {
    this.source.stop();
  }

  /** Stops sending anything (a vanished phone, or hold with a=inactive); receiving goes on. */
  pause(): void {
    this.paused = true;
  }

  /** Sends again after pause(); the first packet is marked as after silence (https://www.rfc-editor.org/rfc/rfc3551#section-4.1). */
  resumeSending(): void {
    if (!this.paused) return;
    this.paused = false;
    this.firstPacket = true;
  }

  /**
   * Moves to a new UDP socket on a new port (a PBX whose media address changes after a re-INVITE,
   * or a NAT rebinding): the old socket is closed, sending carries on from the new one.
   */
  async rebind(): Promise<number> {
    if (this.closed) throw new Error('endpoint is closed');
    const next = await bindSocket();
    if (this.closed) {
      next.close();
      throw new Error('endpoint was closed while rebinding');
    }
    const old = this.socket;
    this.socket = next;
    this.boundPort = next.address().port;
    this.listen(next);
    await new Promise<void>((resolve) => old.close(() => resolve()));
    return this.port;
  }

  /**
   * Sends RFC 4733 events for `digits` (§2.5: one timestamp per event, growing duration, marker on
   * the first packet, E bit on the last, which is sent three times). Resolves when all are sent.
   */
  sendDigits(digits: string, { durationMs = 200, gapMs = 100 } = {}): Promise<void> {
    if (this.sendTePt === undefined) return Promise.reject(new Error('telephone-event was not negotiated'));
    const promises = [...digits].map((digit) => new Promise<void>((done) => {
      this.digits.push({ event: digitToEvent(digit), durationMs, gapMs, done });
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

  /** SSRCs received, in order of first appearance. */
  get receivedSsrcs(): number[] {
    return [...this.stats.ssrcs];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.releaseDigits();
    this.source.close();
    for (const d of this.decoders.values()) d.close();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private listen(socket: Socket): void {
    socket.on('message', (msg) => { if (socket === this.socket) this.onPacket(msg); });
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
    this.timerPtime = this.ptime;
    this.sendStart = Date.now();
    this.slotsSent = 0;
    this.timer = setInterval(() => this.tick(), Math.min(10, this.timerPtime / 2));
  }

  /** Restarts a running sender's clock when the ptime changed (timestamps stay continuous). */
  private retime(): void {
    if (!this.timer || this.ptime === this.timerPtime) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.ensureTimer();
  }

  /** Sends every ptime slot that is due (at most 5 per tick, to catch up after timer jitter). */
  private tick(): void {
    const elapsed = Date.now() - this.sendStart;
    if (elapsed > MAX_SEND_MS) {
      clearInterval(this.timer);
      this.releaseDigits();
      return;
    }
    const due = Math.floor(elapsed / this.timerPtime) + 1;
    for (let burst = 0; this.slotsSent < due && burst < 5; burst++) {
      this.slotsSent++;
      this.sendSlot();
    }
  }

  /** RTP clock of the audio codec we send (G.722: 8000 though it samples at 16 kHz; Opus: 48000). */
  private get audioClock(): number {
    return this.sendPt === undefined ? 8000 : (this.payloads.get(this.sendPt)?.clockRate ?? 8000);
  }

  private sendSlot(): void {
    const ptime = this.timerPtime;
    const slotTs = this.ts;
    this.ts = (this.ts + (this.audioClock * ptime) / 1000) >>> 0;
    if (!this.remote || this.paused) return;
    if (!this.active && this.digits.length > 0) {
      const d = this.digits.shift()!;
      this.active = {
        d, startTs: slotTs, slot: 0, phase: 'tone', endSent: 0,
        slots: Math.max(1, Math.round(d.durationMs / ptime)), gapSlots: Math.max(0, Math.round(d.gapMs / ptime)),
      };
    }
    const a = this.active;
    if (a && a.phase !== 'gap' && this.sendTePt !== undefined) {
      const first = a.phase === 'tone' && a.slot === 0;
      if (a.phase === 'tone') a.slot++;
      // Duration in the telephone-event payload type's clock (RFC 4733 §2.5.1.3); the event
      // timestamp is on the audio timeline, as libwebrtc (and Meta) do next to Opus.
      const teClock = this.payloads.get(this.sendTePt)?.clockRate ?? 8000;
      const duration = (a.slot * teClock * ptime) / 1000;
      const end = a.phase === 'end' || a.slot >= a.slots;
      if (end) a.phase = 'end';
      this.send(this.sendTePt, a.startTs, first, encodeTelephoneEvent({ event: a.d.event, end, volume: 10, duration }));
      if (end && ++a.endSent >= 3) { a.phase = 'gap'; a.slot = 0; }
      return;
    }
    if (a && a.phase === 'gap') {
      if (a.slot++ >= a.gapSlots) { a.d.done(); this.active = undefined; }
    }
    const payload = this.source.frame(audioCodec(this.sendCodec), ptime);
    if (this.sendPt === undefined || !payload) return;
    this.send(this.sendPt, slotTs, this.firstPacket, payload);
    this.firstPacket = false;
  }

  private send(payloadType: number, timestamp: number, marker: boolean, payload: Buffer): void {
    if (!this.remote || this.closed) return;
    const pkt = encodeRtp({ payloadType, sequenceNumber: this.seq, timestamp, ssrc: this.sendSsrc, marker, payload });
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
    if (name !== undefined) {
      this.lastAudio = { timestamp: p.timestamp, ssrc: p.ssrc };
      this.stats.audioPackets++; // every negotiated audio payload counts; those we know are decoded
      this.decoderFor(p.payloadType, name)?.push(p.payload);
    }
    if (this.echo && name !== undefined) this.send(p.payloadType, p.timestamp, false, Buffer.from(p.payload));
  }

  private decoderFor(pt: number, name: string): AudioDecoder | undefined {
    const codec = audioCodec(name);
    if (!codec) return undefined;
    let d = this.decoders.get(pt);
    if (d?.codec !== codec) {
      d?.close();
      d = new AudioDecoder(codec, (pcm) => this.recorder.write(pcm));
      this.decoders.set(pt, d);
    }
    return d;
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

async function bindSocket(): Promise<Socket> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  socket.on('error', () => { /* ICMP unreachable etc. on loopback: ignore */ });
  return socket;
}
