import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises';
import { Pool, type Dispatcher } from 'undici';
import type { Logger } from '../../logging.js';
import type { Metrics } from '../../metrics.js';
import { ProviderError } from '../../calls/ports/whatsapp-errors.js';
import { isUndiciTimeout } from '../meta/graph-errors.js';
import { DEFAULT_RETRY_DELAY_MS, shouldRetry } from '../meta/graph-retry.js';
import { d360ApiError, d360ErrorIn2xxBody, d360NetworkError, d360ProtocolError, d360TimeoutError } from './d360-errors.js';
import { D360_API_KEY_HEADER, D360_DEFAULT_BASE_URL, type D360Request, type D360Target } from './d360-types.js';

export interface D360ClientOptions {
  /** Defaults to https://waba-v2.360dialog.io; a path prefix (a test stub under /d360) is kept. */
  baseUrl?: string;
  logger: Logger;
  metrics: Metrics;
  /** Pause before the single retry the policy allows (Meta's policy, graph-retry.ts). */
  retryDelayMs?: number;
  /** How long an idle connection is kept when the server sends no Keep-Alive hint. */
  keepAliveTimeoutMs?: number;
  /** Larger response bodies are a protocol error. */
  maxResponseBytes?: number;
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
 * HTTP client for 360dialog's Cloud API proxy (docs/providers.md#360dialog): one per base URL,
 * shared by every number on it (one keep-alive pool); each request carries its number's API key in
 * the D360-API-KEY header. Same contract as Meta's GraphClient: a whole-request deadline per
 * attempt, Meta's retry policy (connect never retried), providerRequests/providerLatency metrics,
 * failures as ProviderError, nothing logged above debug and never a key or a body.
 */
export class D360Client {
  readonly origin: string;
  private readonly pathPrefix: string;
  private readonly pool: Pool;
  private readonly log: Logger;
  private readonly metrics: Metrics;
  private readonly retryDelayMs: number;
  private readonly maxResponseBytes: number;
  private closed = false;

  constructor(opts: D360ClientOptions) {
    const url = new URL(opts.baseUrl ?? D360_DEFAULT_BASE_URL);
    this.origin = url.origin;
    this.pathPrefix = url.pathname.replace(/\/+$/, '');
    this.pool = new Pool(url.origin, {
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_MS,
      keepAliveMaxTimeout: 10 * 60_000,
    });
    this.log = opts.logger.child({ component: 'd360' });
    this.metrics = opts.metrics;
    this.retryDelayMs = opts.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /** Sends the request, retrying once when Meta's policy allows it for the operation. */
  async send<T>(target: D360Target, req: D360Request<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(target, req, attempt);
      } catch (err) {
        if (!(err instanceof ProviderError) || !shouldRetry(req.operation, err, attempt)) throw err;
        this.log.debug(
          { operation: req.operation, attempt, kind: err.kind, httpStatus: err.httpStatus, retryInMs: this.retryDelayMs },
          '360dialog request failed; retrying',
        );
        await delay(this.retryDelayMs);
      }
    }
  }

  /** Destroys the pool; later requests fail with a network error. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.destroy();
  }

  private pathFor(req: D360Request<unknown>): string {
    const query = req.query ? new URLSearchParams(req.query).toString() : '';
    const path = `${this.pathPrefix}${req.path}`;
    return query ? `${path}?${query}` : path;
  }

  private async attempt<T>(target: D360Target, req: D360Request<T>, attempt: number): Promise<T> {
    const { operation } = req;
    const secret = target.apiKey;
    const headers: Record<string, string> = { [D360_API_KEY_HEADER]: secret, accept: 'application/json' };
    let payload: string | undefined;
    if (req.body !== undefined) {
      payload = JSON.stringify(req.body);
      headers['content-type'] = 'application/json';
    }
    // One event-loop turn lets undici hand the previous socket back to the pool (see graph-client.ts).
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
          path: this.pathFor(req), method: req.method, headers, body: payload, signal: controller.signal,
        });
        status = res.statusCode;
        traceId = firstHeader(res.headers['x-fb-trace-id']) ?? firstHeader(res.headers['x-request-id']);
        text = await readCapped(res.body, this.maxResponseBytes);
      } catch (err) {
        if (timedOut || isUndiciTimeout(err)) {
          outcome = 'timeout';
          throw d360TimeoutError(operation, target.timeoutMs);
        }
        outcome = 'network';
        throw d360NetworkError(operation, err, secret);
      }
      if (status < 200 || status >= 300) {
        outcome = 'api_error';
        const e = d360ApiError(operation, status, text ?? '', traceId, secret);
        traceId = e.traceId;
        throw e;
      }
      outcome = 'protocol';
      if (text === undefined) throw d360ProtocolError(operation, `body over ${this.maxResponseBytes} bytes`, status, traceId, secret);
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch {
        throw d360ProtocolError(operation, 'body is not JSON', status, traceId, secret);
      }
      const hidden = d360ErrorIn2xxBody(operation, doc, secret);
      if (hidden) {
        outcome = 'api_error';
        throw hidden;
      }
      let value: T;
      try {
        value = req.parse(doc);
      } catch (err) {
        throw d360ProtocolError(operation, (err as Error).message, status, traceId, secret);
      }
      outcome = 'ok';
      return value;
    } finally {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      this.metrics.providerRequests.inc({ operation, outcome });
      this.metrics.providerLatency.observe({ operation }, seconds);
      // Never the API key, never a body (SDPs, SIP passwords): metadata only.
      this.log.debug(
        { operation, method: req.method, attempt, status, outcome, durationMs: Math.round(seconds * 1000), traceId },
        '360dialog request',
      );
    }
  }
}
