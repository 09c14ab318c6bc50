import { setImmediate as nextTurn } from 'node:timers/promises';
import { Pool, type Dispatcher } from 'undici';
import type { Logger } from '../../logging.js';
import type { Metrics } from '../../metrics.js';
import { ProviderError } from '../../calls/ports/whatsapp-errors.js';
import { isUndiciTimeout } from '../meta/graph-errors.js';
import {
  conceptoMovilApiError, conceptoMovilNetworkError, conceptoMovilProtocolError, conceptoMovilTimeoutError,
} from './conceptomovil-errors.js';
import type { ConceptoMovilOperation } from './conceptomovil-types.js';

export interface ConceptoMovilHttpOptions {
  /** The tenant's base URL, e.g. "https://whatsapp.example-tenant.com"; a path prefix is kept. No default. */
  baseUrl: string;
  logger: Logger;
  metrics: Metrics;
  keepAliveTimeoutMs?: number;
  maxResponseBytes?: number;
}

/** One HTTP exchange. `secrets` are scrubbed from every error text (token, API token). */
export interface ConceptoMovilExchange {
  operation: ConceptoMovilOperation;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: unknown;
  timeoutMs: number;
  secrets: readonly string[];
}

type Outcome = 'ok' | 'api_error' | 'timeout' | 'network' | 'protocol';

const DEFAULT_KEEP_ALIVE_MS = 30_000;
const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

async function readCapped(body: Dispatcher.ResponseData['body'], maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBytes) return undefined;
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A 2xx body as JSON; an empty or non-JSON body is `undefined` (Concepto Móvil's answers are not documented). */
function jsonOrUndefined(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The transport under the Concepto Móvil client and its token exchange: one keep-alive pool per
 * tenant host, a whole-request deadline per exchange, providerRequests/providerLatency metrics,
 * non-2xx answers as ProviderError. No retries here (conceptomovil-client.ts decides). Nothing is
 * logged above debug, and never a header value or a body.
 */
export class ConceptoMovilHttp {
  readonly origin: string;
  private readonly pathPrefix: string;
  private readonly pool: Pool;
  private readonly log: Logger;
  private readonly metrics: Metrics;
  private readonly maxResponseBytes: number;
  private closed = false;

  constructor(opts: ConceptoMovilHttpOptions) {
    const url = new URL(opts.baseUrl);
    this.origin = url.origin;
    this.pathPrefix = url.pathname.replace(/\/+$/, '');
    this.pool = new Pool(url.origin, { keepAliveTimeout: opts.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_MS, keepAliveMaxTimeout: 10 * 60_000 });
    this.log = opts.logger.child({ component: 'conceptomovil' });
    this.metrics = opts.metrics;
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /**
   * Sends one request; resolves with `parse` applied to the 2xx body (JSON, or undefined). `parse`
   * may throw a ProviderError (an error inside a 2xx answer) or any Error (→ protocol error).
   */
  async exchange<T>(x: ConceptoMovilExchange, parse: (doc: unknown) => T): Promise<T> {
    const { operation, secrets } = x;
    const headers: Record<string, string> = { accept: 'application/json', ...x.headers };
    let payload: string | undefined;
    if (x.body !== undefined) {
      payload = JSON.stringify(x.body);
      headers['content-type'] = 'application/json';
    }
    await nextTurn(); // lets undici return the previous socket to the pool (see graph-client.ts)
    const started = performance.now();
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; controller.abort(); }, x.timeoutMs);
    let outcome: Outcome = 'network';
    let status: number | undefined;
    try {
      let text: string | undefined;
      try {
        const res = await this.pool.request({ path: `${this.pathPrefix}${x.path}`, method: x.method, headers, body: payload, signal: controller.signal });
        status = res.statusCode;
        text = await readCapped(res.body, this.maxResponseBytes);
      } catch (err) {
        if (timedOut || isUndiciTimeout(err)) {
          outcome = 'timeout';
          throw conceptoMovilTimeoutError(operation, x.timeoutMs);
        }
        throw conceptoMovilNetworkError(operation, err, secrets);
      }
      if (status < 200 || status >= 300) {
        outcome = 'api_error';
        throw conceptoMovilApiError(operation, status, text ?? '', secrets);
      }
      outcome = 'protocol';
      if (text === undefined) throw conceptoMovilProtocolError(operation, `body over ${this.maxResponseBytes} bytes`, status, secrets);
      try {
        const value = parse(jsonOrUndefined(text));
        outcome = 'ok';
        return value;
      } catch (err) {
        if (err instanceof ProviderError) {
          outcome = err.kind === 'api' ? 'api_error' : 'protocol';
          throw err;
        }
        throw conceptoMovilProtocolError(operation, (err as Error).message, status, secrets);
      }
    } finally {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      this.metrics.providerRequests.inc({ operation, outcome });
      this.metrics.providerLatency.observe({ operation }, seconds);
      this.log.debug({ operation, method: x.method, status, outcome, durationMs: Math.round(seconds * 1000) }, 'Concepto Móvil request');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.destroy();
  }
}
