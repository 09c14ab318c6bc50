import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises';
import { Pool } from 'undici';
import type { Logger } from '../../logging.js';
import type { Metrics } from '../../metrics.js';
import { ProviderError } from '../../calls/ports/whatsapp-errors.js';
import { readCappedBody } from './capped-body.js';
import type {
  ProviderHttpAnswer, ProviderHttpOutcome, ProviderHttpRequest, ProviderRetryPolicy,
} from './provider-http-types.js';
import { isUndiciTimeout } from './undici-timeout.js';

export interface ProviderHttpClientOptions {
  /** Scheme, host and port of the pool; a path in it is ignored (callers send whole paths). */
  origin: string;
  /** Already a child logger of the provider's component. */
  log: Logger;
  metrics: Metrics;
  /** Names the provider in the debug lines: "<label> request", "<label> request failed; retrying". */
  label: string;
  /** Response headers that carry a trace id, the first present wins. */
  traceIdHeaders?: readonly string[];
  /** The debug line's key for the trace id; left out when unset. */
  traceIdLogKey?: string;
  /** How long an idle connection is kept when the server sends no Keep-Alive hint (default 30 s). */
  keepAliveTimeoutMs?: number;
  /** Larger response bodies are a protocol error (default 4 MiB). */
  maxResponseBytes?: number;
}

const DEFAULT_KEEP_ALIVE_MS = 30_000;
const KEEP_ALIVE_MAX_MS = 10 * 60_000;
const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The HTTP transport every provider client shares (docs/providers.md): one keep-alive undici Pool
 * per origin, a whole-request deadline per attempt, a capped body read, one providerRequests
 * {operation,outcome} count and providerLatency{operation} sample per attempt, and a retry loop
 * around the provider's policy. What a failure means is the provider's (ProviderErrorMapper);
 * nothing is logged above debug, and never a header value or a body.
 */
export class ProviderHttpClient {
  readonly origin: string;
  private readonly pool: Pool;
  private readonly log: Logger;
  private readonly maxResponseBytes: number;
  private closed = false;

  constructor(private readonly opts: ProviderHttpClientOptions) {
    this.origin = opts.origin;
    this.pool = new Pool(opts.origin, {
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_MS,
      keepAliveMaxTimeout: KEEP_ALIVE_MAX_MS,
    });
    this.log = opts.log;
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /** Runs attempt 1, 2, …, until one succeeds or the policy refuses another try. */
  async withRetries<Op extends string, T>(
    operation: Op, policy: ProviderRetryPolicy<Op>, attempt: (n: number) => Promise<T>,
  ): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt(n);
      } catch (err) {
        if (!(err instanceof ProviderError) || !policy.shouldRetry(operation, err, n)) throw err;
        this.log.debug(
          { operation, attempt: n, kind: err.kind, httpStatus: err.httpStatus, retryInMs: policy.delayMs },
          `${this.opts.label} request failed; retrying`,
        );
        await delay(policy.delayMs);
      }
    }
  }

  /**
   * One attempt. Resolves with `read` applied to a 2xx answer. `read` may throw a ProviderError
   * (an error inside a 2xx answer: counted as api_error when its kind is 'api', else protocol) or any
   * other Error (the provider's protocol error with its message).
   */
  async exchange<T>(req: ProviderHttpRequest, read: (answer: ProviderHttpAnswer) => T): Promise<T> {
    const { operation, errors } = req;
    const headers = { ...req.headers };
    let payload: string | undefined;
    if (req.json !== undefined) {
      payload = JSON.stringify(req.json);
      headers['content-type'] = 'application/json';
    }
    // undici hands a socket back to the pool only one event-loop turn after its response ended
    // (https://github.com/nodejs/undici/security/advisories/GHSA-35p6-xmwp-9g52). A request sent
    // back-to-back (pre_accept → accept) would otherwise open a second connection and pay a TCP/TLS
    // handshake; yielding one turn reuses the warm one.
    await nextTurn();
    const started = performance.now();
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; controller.abort(); }, req.timeoutMs);
    let outcome: ProviderHttpOutcome = 'network';
    let status: number | undefined;
    let traceId: string | undefined;
    try {
      let text: string | undefined;
      try {
        const res = await this.pool.request({ path: req.path, method: req.method, headers, body: payload, signal: controller.signal });
        status = res.statusCode;
        traceId = this.traceIdOf(res.headers);
        text = await readCappedBody(res.body, this.maxResponseBytes);
      } catch (err) {
        if (timedOut || isUndiciTimeout(err)) {
          outcome = 'timeout';
          throw errors.timeout(req.timeoutMs);
        }
        outcome = 'network';
        throw errors.network(err);
      }
      if (status < 200 || status >= 300) {
        outcome = 'api_error';
        const e = errors.api(status, text ?? '', traceId);
        traceId = e.traceId;
        throw e;
      }
      outcome = 'protocol';
      if (text === undefined) throw errors.protocol(`body over ${this.maxResponseBytes} bytes`, status, traceId);
      const answer: ProviderHttpAnswer = { status, text, traceId };
      try {
        const value = read(answer);
        outcome = 'ok';
        return value;
      } catch (err) {
        if (err instanceof ProviderError) {
          outcome = err.kind === 'api' ? 'api_error' : 'protocol';
          throw err;
        }
        throw errors.protocol((err as Error).message, status, answer.traceId);
      } finally {
        traceId = answer.traceId;
      }
    } finally {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      this.opts.metrics.providerRequests.inc({ operation, outcome });
      this.opts.metrics.providerLatency.observe({ operation }, seconds);
      this.log.debug(
        {
          operation, ...req.logFields, status, outcome, durationMs: Math.round(seconds * 1000),
          ...(this.opts.traceIdLogKey !== undefined && { [this.opts.traceIdLogKey]: traceId }),
        },
        `${this.opts.label} request`,
      );
    }
  }

  /** Destroys the pool and its connections; later requests fail with a network error. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.destroy();
  }

  private traceIdOf(headers: Record<string, string | string[] | undefined>): string | undefined {
    for (const name of this.opts.traceIdHeaders ?? []) {
      const v = firstHeader(headers[name]);
      if (v !== undefined) return v;
    }
    return undefined;
  }
}
