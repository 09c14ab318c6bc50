import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises';
import { Pool, type Dispatcher } from 'undici';
import type { Logger } from '../../logging.js';
import type { Metrics } from '../../metrics.js';
import { ProviderError } from '../../calls/ports/whatsapp-errors.js';
import { apiError, isUndiciTimeout, networkError, protocolError, timeoutError } from './graph-errors.js';
import { DEFAULT_RETRY_DELAY_MS, shouldRetry } from './graph-retry.js';
import type { GraphEdge, GraphOperation, GraphTarget } from './graph-types.js';

export interface GraphClientOptions {
  /** e.g. "https://graph.facebook.com"; a path prefix (a simulator mounted under /graph) is kept. */
  baseUrl: string;
  logger: Logger;
  metrics: Metrics;
  /** Pause before the single retry the policy allows (graph-retry.ts). */
  retryDelayMs?: number;
  /** How long an idle connection is kept when the server sends no Keep-Alive hint. */
  keepAliveTimeoutMs?: number;
  /** Larger response bodies are a protocol error (Graph answers are a few KB). */
  maxResponseBytes?: number;
}

export interface GraphRequest<T> {
  operation: GraphOperation;
  method: 'GET' | 'POST';
  edge: GraphEdge;
  query?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Checks a 2xx JSON body and maps it; throws when the body is not what the API promises. */
  parse: (body: unknown) => T;
}

type Outcome = 'ok' | 'api_error' | 'timeout' | 'network' | 'protocol';

const DEFAULT_KEEP_ALIVE_MS = 30_000;
const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

async function readCapped(body: Dispatcher.ResponseData['body'], maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBytes) return undefined; // leaving the loop destroys the stream
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * HTTP client for Meta's Graph API: one per base URL, shared by every business number on it.
 * A keep-alive connection pool means a call's POST reuses a warm TCP/TLS connection.
 * Each attempt has a whole-request deadline (target.timeoutMs) and is counted in
 * providerRequests{operation,outcome} and providerLatency{operation}. Failures reject with
 * ProviderError; nothing is logged above debug here (callers log once, with call context).
 */
export class GraphClient {
  readonly origin: string;
  private readonly pathPrefix: string;
  private readonly pool: Pool;
  private readonly log: Logger;
  private readonly metrics: Metrics;
  private readonly retryDelayMs: number;
  private readonly maxResponseBytes: number;
  private closed = false;

  constructor(opts: GraphClientOptions) {
    const url = new URL(opts.baseUrl);
    this.origin = url.origin;
    this.pathPrefix = url.pathname.replace(/\/+$/, '');
    this.pool = new Pool(url.origin, {
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_MS,
      keepAliveMaxTimeout: 10 * 60_000,
    });
    this.log = opts.logger.child({ component: 'graph' });
    this.metrics = opts.metrics;
    this.retryDelayMs = opts.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /** Sends the request, retrying once when the policy allows it (graph-retry.ts). */
  async send<T>(target: GraphTarget, req: GraphRequest<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(target, req, attempt);
      } catch (err) {
        if (!(err instanceof ProviderError) || !shouldRetry(req.operation, err, attempt)) throw err;
        this.log.debug(
          { operation: req.operation, attempt, kind: err.kind, httpStatus: err.httpStatus, retryInMs: this.retryDelayMs },
          'graph request failed; retrying',
        );
        await delay(this.retryDelayMs);
      }
    }
  }

  /** Destroys the pool and its connections; later requests fail with a network error. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.destroy();
  }

  private pathFor(target: GraphTarget, req: GraphRequest<unknown>): string {
    const path = `${this.pathPrefix}/${encodeURIComponent(target.graphVersion)}/${encodeURIComponent(target.phoneNumberId)}/${req.edge}`;
    const query = req.query ? new URLSearchParams(req.query).toString() : '';
    return query ? `${path}?${query}` : path;
  }

  private async attempt<T>(target: GraphTarget, req: GraphRequest<T>, attempt: number): Promise<T> {
    const { operation } = req;
    const secret = target.accessToken;
    const headers: Record<string, string> = {
      // Bearer token; JSON body on POSTs (docs/whatsapp-calling.md#graph-api-basics).
      authorization: `Bearer ${secret}`,
      accept: 'application/json',
    };
    let payload: string | undefined;
    if (req.body !== undefined) {
      payload = JSON.stringify(req.body);
      headers['content-type'] = 'application/json';
    }

    // undici hands a socket back to the pool only one event-loop turn after its response ended
    // (GHSA-35p6-xmwp-9g52). A request sent back-to-back (pre_accept → accept) would otherwise open
    // a second connection and pay a TCP/TLS handshake; yielding one turn reuses the warm one.
    await nextTurn();
    const started = performance.now();
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; controller.abort(); }, target.timeoutMs);
    let outcome: Outcome = 'network';
    let status: number | undefined;
    let traceId: string | undefined;
    try {
      let text: string | undefined;
      try {
        const res = await this.pool.request({
          path: this.pathFor(target, req),
          method: req.method,
          headers,
          body: payload,
          signal: controller.signal,
        });
        status = res.statusCode;
        traceId = firstHeader(res.headers['x-fb-trace-id']);
        text = await readCapped(res.body, this.maxResponseBytes);
      } catch (err) {
        if (timedOut || isUndiciTimeout(err)) {
          outcome = 'timeout';
          throw timeoutError(operation, target.timeoutMs);
        }
        outcome = 'network';
        throw networkError(operation, err, secret);
      }
      if (status < 200 || status >= 300) {
        outcome = 'api_error';
        const e = apiError(operation, status, text ?? '', traceId, secret);
        traceId = e.traceId;
        throw e;
      }
      outcome = 'protocol';
      if (text === undefined) throw protocolError(operation, `body over ${this.maxResponseBytes} bytes`, status, traceId, secret);
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch {
        throw protocolError(operation, 'body is not JSON', status, traceId, secret);
      }
      let value: T;
      try {
        value = req.parse(doc);
      } catch (err) {
        throw protocolError(operation, (err as Error).message, status, traceId, secret);
      }
      outcome = 'ok';
      return value;
    } finally {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      this.metrics.providerRequests.inc({ operation, outcome });
      this.metrics.providerLatency.observe({ operation }, seconds);
      // Never the token, never a body (SDPs, SIP passwords): metadata only.
      this.log.debug(
        {
          operation, method: req.method, phoneNumberId: target.phoneNumberId, attempt, status, outcome,
          durationMs: Math.round(seconds * 1000), fbtraceId: traceId,
        },
        'graph request',
      );
    }
  }
}
