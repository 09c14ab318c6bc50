import type { Logger } from '../../logging.js';
import type { Metrics } from '../../metrics.js';
import { jsonBody, parsedBy } from '../http/answer-body.js';
import { ProviderHttpClient } from '../http/provider-http-client.js';
import { graphErrorMapper } from './graph-errors.js';
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

/**
 * HTTP client for Meta's Graph API: one per base URL, shared by every business number on it.
 * The transport (keep-alive pool, per-attempt deadline, providerRequests{operation,outcome} and
 * providerLatency{operation}) is ProviderHttpClient's; here are Graph's paths, bearer token, error
 * envelope and retry table. Failures reject with ProviderError; nothing is logged above debug here
 * (callers log once, with call context).
 */
export class GraphClient {
  readonly origin: string;
  private readonly pathPrefix: string;
  private readonly http: ProviderHttpClient;
  private readonly retryDelayMs: number;

  constructor(opts: GraphClientOptions) {
    const url = new URL(opts.baseUrl);
    this.origin = url.origin;
    this.pathPrefix = url.pathname.replace(/\/+$/, '');
    this.http = new ProviderHttpClient({
      origin: url.origin,
      log: opts.logger.child({ component: 'graph' }),
      metrics: opts.metrics,
      label: 'graph',
      traceIdHeaders: ['x-fb-trace-id'],
      traceIdLogKey: 'fbtraceId',
      keepAliveTimeoutMs: opts.keepAliveTimeoutMs,
      maxResponseBytes: opts.maxResponseBytes,
    });
    this.retryDelayMs = opts.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  }

  /** Sends the request, retrying once when the policy allows it (graph-retry.ts). */
  send<T>(target: GraphTarget, req: GraphRequest<T>): Promise<T> {
    const policy = { shouldRetry, delayMs: this.retryDelayMs };
    return this.http.withRetries(req.operation, policy, (attempt) => this.attempt(target, req, attempt));
  }

  /** Destroys the pool and its connections; later requests fail with a network error. */
  close(): Promise<void> {
    return this.http.close();
  }

  private pathFor(target: GraphTarget, req: GraphRequest<unknown>): string {
    const path = `${this.pathPrefix}/${encodeURIComponent(target.graphVersion)}/${encodeURIComponent(target.phoneNumberId)}/${req.edge}`;
    const query = req.query ? new URLSearchParams(req.query).toString() : '';
    return query ? `${path}?${query}` : path;
  }

  private attempt<T>(target: GraphTarget, req: GraphRequest<T>, attempt: number): Promise<T> {
    return this.http.exchange(
      {
        operation: req.operation,
        method: req.method,
        path: this.pathFor(target, req),
        // Bearer token; JSON body on POSTs (docs/whatsapp-calling.md#graph-api-basics).
        headers: { authorization: `Bearer ${target.accessToken}`, accept: 'application/json' },
        json: req.body,
        timeoutMs: target.timeoutMs,
        errors: graphErrorMapper(req.operation, target.accessToken),
        // Never the token, never a body (SDPs, SIP passwords): metadata only.
        logFields: { method: req.method, phoneNumberId: target.phoneNumberId, attempt },
      },
      (answer) => parsedBy(req.parse, jsonBody(answer.text)),
    );
  }
}
