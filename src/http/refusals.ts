import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';

/** The two HTTP listeners: `public` (config `http`, webhooks) and `internal` (config `internal_http`). */
export type ListenerName = 'public' | 'internal';

export interface RefusalNote {
  /** A short snake_case word for the counter and the log line; default: from the status. */
  reason?: string;
  /** What the log line says; default: "<METHOD> <path> refused: <status> <reason>". */
  message?: string;
  /** Extra fields for the log line (never a secret). */
  fields?: Record<string, unknown>;
  /** The handler wrote its own log line (an audit line): the edge only counts. */
  logged?: boolean;
}

const notes = new WeakMap<IncomingMessage, RefusalNote>();

/**
 * A handler that refuses a request says why (and whether it logged that itself); the edge then
 * counts the refusal and logs it once, at warn, without a stack.
 */
export function noteRefusal(req: FastifyRequest, note: RefusalNote): void {
  notes.set(req.raw, note);
}

const REASON_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed',
  408: 'request_timeout', 413: 'body_too_large', 415: 'unsupported_media_type', 429: 'rate_limited', 431: 'headers_too_large',
};

/**
 * Anyone on the Internet can repeat a refused request as fast as they like: each reason is logged
 * once per client address per minute, and always counted.
 */
const LOG_INTERVAL_MS = 60_000;

/** Path prefixes whose rest is a secret (events path tokens): logged as `<prefix>[redacted]`. */
const secretPathPrefixes = new Set<string>();

/** Paths under `prefix` end in a secret (an events path token): no log line shows it. */
export function redactPathsUnder(prefix: string): void {
  secretPathPrefixes.add(prefix);
}

/** A request path for a log line: no query string (a GET verification carries the verify token there). */
export function pathOf(url: string): string {
  const path = url.split('?', 1)[0] ?? '';
  for (const prefix of secretPathPrefixes) if (path.startsWith(prefix)) return `${prefix}[redacted]`;
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}

/**
 * Counts every refused request or connection of one listener (`watrunk_http_rejections_total`)
 * and logs it at warn: once per request, and once per reason and client address a minute.
 */
export class RefusalLog {
  private readonly recorded = new WeakSet<IncomingMessage>();
  private readonly recentlyLogged = new LRUCache<string, true>({ max: 10_000, ttl: LOG_INTERVAL_MS });

  constructor(private readonly listener: ListenerName, private readonly log: Logger, private readonly metrics: Metrics) {}

  /** A request answered 4xx, or abandoned by its client (reason `aborted`). At most once per request. */
  request(req: FastifyRequest, status: number, reason?: string): void {
    if (this.recorded.has(req.raw)) return;
    this.recorded.add(req.raw);
    const note = notes.get(req.raw);
    const why = reason ?? note?.reason ?? REASON_BY_STATUS[status] ?? 'client_error';
    this.count(String(status), why);
    if (note?.logged) return;
    const path = pathOf(req.url);
    this.warn(why, req.ip, { status, reason: why, method: req.method, path, remote: req.ip, ...note?.fields }, note?.message ?? `${req.method} ${path} refused: ${status} ${why}`);
  }

  /** Already accounted for elsewhere (the connection-level answer): never counted or logged again. */
  settled(req: FastifyRequest): void {
    this.recorded.add(req.raw);
  }

  /** Refused before any request reached the router: a connection over the limit, a 408 while reading. */
  connection(remote: string, status: number | undefined, reason: string): void {
    this.count(status === undefined ? 'none' : String(status), reason);
    const what = status === undefined ? 'connection closed' : `answered ${status}`;
    this.warn(reason, remote, { ...(status !== undefined && { status }), reason, remote }, `${what}: ${reason}`);
  }

  private count(status: string, reason: string): void {
    this.metrics.httpRejections.inc({ listener: this.listener, status, reason });
  }

  private warn(reason: string, remote: string, fields: Record<string, unknown>, msg: string): void {
    const key = `${reason}|${remote}`;
    if (this.recentlyLogged.has(key)) return;
    this.recentlyLogged.set(key, true);
    this.log.warn(fields, `${msg} (the same from this address in the next ${LOG_INTERVAL_MS / 1000} s: counted, not logged)`);
  }
}
