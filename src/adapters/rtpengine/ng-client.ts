/**
 * Typed wrapper around rtpengine-client (CommonJS, no types): one UDP ng socket, bencoded
 * commands, a timeout per command, and `result: "error"` turned into a thrown NgError
 * (rtpengine-client resolves error results unless told otherwise; docs/media.md#talking-to-rtpengine).
 */
import { createRequire } from 'node:module';

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

/** Method names of rtpengine-client (it maps them to ng command strings such as "block media"). */
export type NgCommand =
  | 'ping' | 'offer' | 'answer' | 'delete' | 'query' | 'list'
  | 'blockMedia' | 'unblockMedia' | 'blockDTMF' | 'unblockDTMF' | 'playDTMF';

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

interface RawClient {
  on(event: 'error' | 'listening', fn: (arg?: unknown) => void): void;
  close(): void;
  socket: { unref(): void };
  [method: string]: unknown;
}

type RawClientCtor = new (opts: { localPort?: number; localAddress?: string; timeout?: number }) => RawClient;

const require = createRequire(import.meta.url);

export interface NgClientOptions {
  timeoutMs: number;
  /** Local address for the ng socket (default: 127.0.0.1 when every engine is on loopback, else any). */
  localAddress?: string;
}

export class NgClient {
  private readonly client: RawClient;
  private closed = false;

  constructor(opts: NgClientOptions) {
    const { Client } = require('rtpengine-client') as { Client: RawClientCtor };
    this.client = new Client({
      localPort: 0,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      timeout: opts.timeoutMs,
    });
    // rtpengine-client emits 'error' for late or uncorrelated replies; without a listener that would crash.
    this.client.on('error', () => undefined);
    // The socket must not keep the process alive on its own (pending commands have timers).
    this.client.socket.unref();
  }

  /** Sends one command; resolves the reply or throws NgError (error result, timeout, socket error). */
  async send(engine: EngineAddress, command: NgCommand, params: NgParams = {}): Promise<NgResponse> {
    if (this.closed) throw new NgError(command, engine, 'ng client closed', 'transport');
    const fn = this.client[command];
    if (typeof fn !== 'function') throw new NgError(command, engine, 'command not supported by rtpengine-client', 'transport');
    let reply: NgResponse;
    try {
      reply = (await (fn as (e: EngineAddress, p: NgParams) => Promise<NgResponse>).call(this.client, engine, params));
    } catch (err) {
      throw new NgError(command, engine, err instanceof Error ? err.message : String(err), 'transport');
    }
    if (!reply || typeof reply !== 'object') throw new NgError(command, engine, 'empty reply', 'transport');
    if (reply.result === 'error') {
      throw new NgError(command, engine, String(reply['error-reason'] ?? 'unknown error'), 'error-result');
    }
    return reply;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try { this.client.close(); } catch { /* already closed */ }
  }
}
