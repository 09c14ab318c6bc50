/**
 * rtpengine's ng control protocol over UDP: `<cookie> <bencoded dictionary>` each way
 * (https://rtpengine.readthedocs.io/en/latest/ng_control_protocol.html; docs/media.md#talking-to-rtpengine).
 *
 * Written here rather than taken from rtpengine-client because UDP loses datagrams when the cores
 * are saturated, and that client never retransmits: a lost reply cost a call the whole timeout. This
 * client retransmits a command under the **same cookie** until the deadline, as Kamailio's rtpengine
 * module does (`rtpengine_retr`). rtpengine keeps a cookie cache: a retransmission of a command it is
 * still working on waits for it, and one it has answered gets the cached reply, so an `offer` is never
 * run twice (https://github.com/sipwise/rtpengine/blob/master/daemon/cookie_cache.c).
 * `result: "error"` is turned into a thrown NgError.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import bencode from 'bencode';

export interface EngineAddress {
  host: string;
  port: number;
}

export type NgParams = Record<string, unknown>;

export interface NgResponse {
  result: string;
  'error-reason'?: string;
  warning?: string;
  sdp?: string;
  [key: string]: unknown;
}

/** The ng commands watrunk sends, by method-style name. */
const COMMAND_NAMES = {
  ping: 'ping', offer: 'offer', answer: 'answer', delete: 'delete', query: 'query', list: 'list',
  blockMedia: 'block media', unblockMedia: 'unblock media', blockDTMF: 'block DTMF',
  unblockDTMF: 'unblock DTMF', playDTMF: 'play DTMF',
} as const;

export type NgCommand = keyof typeof COMMAND_NAMES;

export class NgError extends Error {
  constructor(
    readonly command: NgCommand,
    readonly engine: EngineAddress,
    /** rtpengine's `error-reason`, or the transport failure. */
    readonly reason: string,
    readonly kind: 'error-result' | 'transport',
  ) {
    super(`rtpengine ${engine.host}:${engine.port} ${command} failed: ${reason}`);
    this.name = 'NgError';
  }
}

export interface NgClientOptions {
  /** Overall deadline of one command, retransmissions included. */
  timeoutMs: number;
  /**
   * First retransmission after this long, then doubling (500, 1000, 2000 … ms) until the deadline.
   * 0 turns retransmission off.
   */
  retransmitMs?: number;
  /** Called once per retransmission (a metric). */
  onRetransmit?: () => void;
  /** Local address for the ng socket (default: 127.0.0.1 when every engine is on loopback, else any). */
  localAddress?: string;
}

interface Pending {
  command: NgCommand;
  engine: EngineAddress;
  message: Buffer;
  resolve(reply: NgResponse): void;
  reject(err: NgError): void;
  retransmitTimer?: NodeJS.Timeout;
  deadline: NodeJS.Timeout;
}

const DEFAULT_RETRANSMIT_MS = 500;

export class NgClient {
  private readonly socket: Socket;
  private readonly pending = new Map<string, Pending>();
  private readonly retransmitMs: number;
  private closed = false;
  /** Commands sent again after no reply came in time (exported as a metric by the media adapter). */
  retransmissions = 0;

  constructor(private readonly opts: NgClientOptions) {
    this.retransmitMs = opts.retransmitMs ?? DEFAULT_RETRANSMIT_MS;
    this.socket = createSocket('udp4');
    this.socket.on('message', (msg) => this.onMessage(msg));
    // A socket error (e.g. ICMP unreachable surfacing on send) is seen per command by its deadline.
    this.socket.on('error', () => undefined);
    this.socket.bind(0, opts.localAddress);
    // The socket must not keep the process alive on its own (pending commands have timers).
    this.socket.unref();
  }

  /** Sends one command; resolves the reply or throws NgError (error result, timeout, socket error). */
  send(engine: EngineAddress, command: NgCommand, params: NgParams = {}): Promise<NgResponse> {
    if (this.closed) return Promise.reject(new NgError(command, engine, 'ng client closed', 'transport'));
    const cookie = randomBytes(8).toString('hex');
    const body = Buffer.from(bencode.encode({ ...params, command: COMMAND_NAMES[command] }));
    const message = Buffer.concat([Buffer.from(`${cookie} `), body]);
    return new Promise<NgResponse>((resolve, reject) => {
      const p: Pending = {
        command, engine, message, resolve, reject,
        deadline: setTimeout(() => this.fail(cookie, `no reply within ${this.opts.timeoutMs} ms`), this.opts.timeoutMs),
      };
      this.pending.set(cookie, p);
      this.transmit(p);
      if (this.retransmitMs > 0) this.scheduleRetransmit(cookie, p, this.retransmitMs);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const cookie of [...this.pending.keys()]) this.fail(cookie, 'ng client closed');
    try { this.socket.close(); } catch { /* already closed */ }
  }

  private transmit(p: Pending): void {
    this.socket.send(p.message, p.engine.port, p.engine.host, () => undefined);
  }

  private scheduleRetransmit(cookie: string, p: Pending, afterMs: number): void {
    p.retransmitTimer = setTimeout(() => {
      if (this.pending.get(cookie) !== p) return;
      this.retransmissions++;
      this.opts.onRetransmit?.();
      this.transmit(p);
      this.scheduleRetransmit(cookie, p, afterMs * 2);
    }, afterMs);
  }

  private onMessage(msg: Buffer): void {
    const space = msg.indexOf(0x20);
    if (space <= 0) return;
    const cookie = msg.subarray(0, space).toString('latin1');
    const p = this.pending.get(cookie);
    // A second reply to a retransmitted command, or one after its deadline: nothing waits for it.
    if (!p) return;
    this.settle(cookie, p);
    let reply: unknown;
    try {
      reply = bencode.decode(msg.subarray(space + 1), 'utf8');
    } catch (err) {
      p.reject(new NgError(p.command, p.engine, `undecodable reply: ${(err as Error).message}`, 'transport'));
      return;
    }
    if (!reply || typeof reply !== 'object') {
      p.reject(new NgError(p.command, p.engine, 'empty reply', 'transport'));
      return;
    }
    const r = reply as NgResponse;
    if (r.result === 'error') {
      p.reject(new NgError(p.command, p.engine, String(r['error-reason'] ?? 'unknown error'), 'error-result'));
      return;
    }
    p.resolve(r);
  }

  private fail(cookie: string, reason: string): void {
    const p = this.pending.get(cookie);
    if (!p) return;
    this.settle(cookie, p);
    p.reject(new NgError(p.command, p.engine, reason, 'transport'));
  }

  private settle(cookie: string, p: Pending): void {
    this.pending.delete(cookie);
    clearTimeout(p.deadline);
    if (p.retransmitTimer) clearTimeout(p.retransmitTimer);
  }
}
