/**
 * The light media generator and sinks: one UDP socket per call leg (127.0.0.1), pre-encoded 20 ms
 * frames replayed with per-stream SSRC, sequence numbers and timestamps
 * (https://www.rfc-editor.org/rfc/rfc3550#section-5.1), and ONE timer for every stream of every
 * call. Streams are spread over the 20 ms period (golden-ratio phases) so the engines see a steady
 * packet rate rather than a burst of 2N packets every 20 ms.
 *
 * Each leg's socket also is the sink of the opposite direction: it counts the audio packets it
 * receives and keeps the RFC 3550 interarrival jitter estimate
 * (https://www.rfc-editor.org/rfc/rfc3550#appendix-A.8). The same estimator is applied to the
 * generator's own send times (lateness against the schedule), so the reader can tell jitter the
 * generator introduced from jitter the engines added.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';

const FRAME_MS = 20;
/** The one timer's period. Short, so a stream's send time is never more than this late. */
const TICK_MS = 2;
/** Frames a stream may send in one tick to catch up after a stall; older frames are skipped. */
const MAX_BURST = 3;
/** Received payloads kept per sampled stream for the tone check. */
const SAMPLE_FRAMES = 25;
const GOLDEN = (Math.sqrt(5) - 1) / 2;

/** RFC 3550 A.8 running jitter (in ms here), plus its mean over the measuring window. */
class Jitter {
  private j = 0;
  private last?: number;
  private sum = 0;
  private n = 0;

  /** `transitMs`: arrival minus the RTP timestamp as ms (for received packets), or send lateness (sent). */
  update(transitMs: number): void {
    if (this.last !== undefined) {
      const d = Math.abs(transitMs - this.last);
      this.j += (d - this.j) / 16;
      this.sum += this.j;
      this.n++;
    }
    this.last = transitMs;
  }

  resetWindow(): void {
    this.sum = 0;
    this.n = 0;
  }

  /** Mean of the running estimate over the packets since resetWindow(); undefined without packets. */
  windowMean(): number | undefined {
    return this.n > 0 ? this.sum / this.n : undefined;
  }
}

export interface SendSpec {
  address: string;
  port: number;
  payloadType: number;
  /** RTP clock rate of the payload type (PCMU 8000, Opus 48000). */
  clockRate: number;
  frames: Buffer[];
}

class SendStream {
  readonly ssrc = randomInt(1, 2 ** 32 - 1);
  private seq = randomInt(0, 0xffff);
  private ts = randomInt(0, 2 ** 31);
  private frame = 0;
  private readonly tsStep: number;
  nextDue: number;
  sent = 0;
  /** Frames dropped at the source because the generator fell more than MAX_BURST frames behind. */
  skipped = 0;
  first = true;
  readonly jitter = new Jitter();

  constructor(readonly spec: SendSpec, phaseMs: number) {
    this.tsStep = (spec.clockRate * FRAME_MS) / 1000;
    this.nextDue = performance.now() + phaseMs;
  }

  /** Sends what is due at `now` on `socket` (connected to the remote). */
  tick(socket: Socket, now: number): void {
    let burst = 0;
    while (this.nextDue <= now) {
      if (burst < MAX_BURST) {
        this.jitter.update(now - this.nextDue);
        this.sendOne(socket);
        burst++;
      } else {
        this.skipped++;
        this.advance();
      }
    }
  }

  private sendOne(socket: Socket): void {
    const payload = this.spec.frames[this.frame % this.spec.frames.length]!;
    const pkt = Buffer.allocUnsafe(12 + payload.length);
    pkt[0] = 0x80;
    pkt[1] = (this.first ? 0x80 : 0) | this.spec.payloadType;
    pkt.writeUInt16BE(this.seq, 2);
    pkt.writeUInt32BE(this.ts, 4);
    pkt.writeUInt32BE(this.ssrc, 8);
    payload.copy(pkt, 12);
    socket.send(pkt);
    this.first = false;
    this.sent++;
    this.advance();
  }

  private advance(): void {
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + this.tsStep) >>> 0;
    this.frame++;
    this.nextDue += FRAME_MS;
  }
}

export interface ReceiveSpec {
  payloadType: number;
  clockRate: number;
}

class ReceiveStream {
  received = 0;
  /** performance.now() of the first audio packet. */
  firstAt?: number;
  /** Packets of other payload types (telephone-event, comfort noise …), not counted as audio. */
  other = 0;
  readonly jitter = new Jitter();
  private lastTs?: number;
  private lastArrival?: number;
  private transit = 0;
  /** Last SAMPLE_FRAMES payloads (copies), kept only when sampling is on. */
  samples?: Buffer[];

  constructor(readonly spec: ReceiveSpec) {}

  onPacket(msg: Buffer, now: number): void {
    if (msg.length < 12 || msg[0]! >> 6 !== 2) return;
    const b1 = msg[1]!;
    if (b1 >= 200 && b1 <= 204) return; // RTCP (RFC 5761 §4), e.g. on a port shared by accident
    if ((b1 & 0x7f) !== this.spec.payloadType) { this.other++; return; }
    this.received++;
    this.firstAt ??= now;
    const ts = msg.readUInt32BE(4);
    if (this.lastTs !== undefined && this.lastArrival !== undefined) {
      // Transit difference without unwrapping absolute timestamps: (Rj - Ri) - (Sj - Si).
      const dts = ((ts - this.lastTs) | 0) * 1000 / this.spec.clockRate;
      this.transit += (now - this.lastArrival) - dts;
    }
    this.jitter.update(this.transit);
    this.lastTs = ts;
    this.lastArrival = now;
    if (this.samples) {
      this.samples.push(Buffer.from(payloadOf(msg)));
      if (this.samples.length > SAMPLE_FRAMES) this.samples.shift();
    }
  }
}

function payloadOf(msg: Buffer): Buffer {
  let offset = 12 + 4 * (msg[0]! & 0x0f);
  if (msg[0]! & 0x10) offset += 4 + 4 * msg.readUInt16BE(offset + 2);
  const end = msg[0]! & 0x20 ? msg.length - msg[msg.length - 1]! : msg.length;
  return msg.subarray(Math.min(offset, end), end);
}

/** One call leg: a socket that sends one stream and receives the other. */
export class Leg {
  send?: SendStream;
  recv?: ReceiveStream;
  private connected = false;

  constructor(readonly socket: Socket, readonly port: number) {}

  /** Sets what this leg receives (before the remote starts sending). */
  expect(spec: ReceiveSpec): void {
    this.recv = new ReceiveStream(spec);
  }

  /** Connects the socket to the remote (no per-packet address lookup) and schedules sending. */
  async startSending(spec: SendSpec, phaseMs: number): Promise<void> {
    if (!this.connected) {
      await new Promise<void>((resolve, reject) => {
        this.socket.once('error', reject);
        this.socket.connect(spec.port, spec.address, () => { this.socket.off('error', reject); resolve(); });
      });
      this.connected = true;
    }
    this.send = new SendStream(spec, phaseMs);
  }

  stopSending(): void {
    this.send = undefined;
  }
}

export interface DirectionTotals {
  sent: number;
  received: number;
}

export class Generator {
  private readonly legs: Leg[] = [];
  private timer?: NodeJS.Timeout;
  private started = 0;

  /** A new leg on its own socket (127.0.0.1, a free port). */
  async newLeg(): Promise<Leg> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => { socket.off('error', reject); resolve(); });
    });
    // ICMP port unreachable (a call already deleted) surfaces as an error on a connected socket.
    socket.on('error', () => undefined);
    const leg = new Leg(socket, socket.address().port);
    socket.on('message', (msg) => leg.recv?.onPacket(msg, performance.now()));
    this.legs.push(leg);
    return leg;
  }

  /** A send phase for the next stream: golden-ratio spread over the 20 ms period. */
  nextPhaseMs(): number {
    return ((this.started++ * GOLDEN) % 1) * FRAME_MS;
  }

  /** Starts the one timer (idempotent). */
  run(): void {
    this.timer ??= setInterval(() => {
      const now = performance.now();
      for (const leg of this.legs) if (leg.send) leg.send.tick(leg.socket, now);
    }, TICK_MS);
  }

  /** Closes every socket of `legs` and forgets them. */
  async closeLegs(legs: Leg[]): Promise<void> {
    for (const leg of legs) {
      leg.stopSending();
      const i = this.legs.indexOf(leg);
      if (i >= 0) this.legs.splice(i, 1);
    }
    await Promise.all(legs.map((l) => new Promise<void>((resolve) => {
      try { l.socket.close(() => resolve()); } catch { resolve(); }
    })));
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.closeLegs([...this.legs]);
  }
}
