import type { Logger } from '../../logging.js';
import type { Metrics } from '../../metrics.js';
import { jsonBody, parsedBy } from '../http/answer-body.js';
import { ProviderHttpClient } from '../http/provider-http-client.js';
import { DEFAULT_RETRY_DELAY_MS, shouldRetry } from '../meta/graph-retry.js';
import { d360ErrorIn2xxBody, d360ErrorMapper } from './d360-errors.js';
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

/**
 * HTTP client for 360dialog's Cloud API proxy (docs/providers.md#360dialog): one per base URL,
 * shared by every number on it (one keep-alive pool, ProviderHttpClient); each request carries its
 * number's API key in the D360-API-KEY header. Same contract as Meta's GraphClient: a
 * whole-request deadline per attempt, Meta's retry policy (connect never retried),
 * providerRequests/providerLatency metrics, failures as ProviderError, nothing logged above debug
 * and never a key or a body.
 */
export class D360Client {
  readonly origin: string;
  private readonly pathPrefix: string;
  private readonly http: ProviderHttpClient;
  private readonly retryDelayMs: number;

  constructor(opts: D360ClientOptions) {
    const url = new URL(opts.baseUrl ?? D360_DEFAULT_BASE_URL);
    this.origin = url.origin;
    this.pathPrefix = url.pathname.replace(/\/+$/, '');
    this.http = new ProviderHttpClient({
      origin: url.origin,
      log: opts.logger.child({ component: 'd360' }),
      metrics: opts.metrics,
      label: '360dialog',
      traceIdHeaders: ['x-fb-trace-id', 'x-request-id'],
      traceIdLogKey: 'traceId',
      keepAliveTimeoutMs: opts.keepAliveTimeoutMs,
      maxResponseBytes: opts.maxResponseBytes,
    });
    this.retryDelayMs = opts.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  }

  /** Sends the request, retrying once when Meta's policy allows it for the operation. */
  send<T>(target: D360Target, req: D360Request<T>): Promise<T> {
    const policy = { shouldRetry, delayMs: this.retryDelayMs };
    return this.http.withRetries(req.operation, policy, (attempt) => this.attempt(target, req, attempt));
  }

  /** Destroys the pool; later requests fail with a network error. */
  close(): Promise<void> {
    return this.http.close();
  }

  private pathFor(req: D360Request<unknown>): string {
    const query = req.query ? new URLSearchParams(req.query).toString() : '';
    const path = `${this.pathPrefix}${req.path}`;
    return query ? `${path}?${query}` : path;
  }

  private attempt<T>(target: D360Target, req: D360Request<T>, attempt: number): Promise<T> {
    const { operation } = req;
    const secret = target.apiKey;
    return this.http.exchange(
      {
        operation,
        method: req.method,
        path: this.pathFor(req),
        headers: { [D360_API_KEY_HEADER]: secret, accept: 'application/json' },
        json: req.body,
        timeoutMs: target.timeoutMs,
        errors: d360ErrorMapper(operation, secret),
        // Never the API key, never a body (SDPs, SIP passwords): metadata only.
        logFields: { method: req.method, attempt },
      },
      (answer) => {
        const doc = jsonBody(answer.text);
        // An error inside a 2xx answer (d360-errors.ts) is an api_error, not a protocol error.
        const hidden = d360ErrorIn2xxBody(operation, doc, secret);
        if (hidden) throw hidden;
        return parsedBy(req.parse, doc);
      },
    );
  }
}
