import type { Logger } from '../../logging.js';
import type { Metrics } from '../../metrics.js';
import { ProviderHttpClient } from '../http/provider-http-client.js';
import { conceptoMovilErrorMapper } from './conceptomovil-errors.js';
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

/** 1 MiB, where ProviderHttpClient's default is 4 MiB. */
const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

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
 * tenant host (ProviderHttpClient), a whole-request deadline per exchange,
 * providerRequests/providerLatency metrics, non-2xx answers as ProviderError. No retries here
 * (conceptomovil-client.ts decides). Nothing is logged above debug, and never a header value or a body.
 */
export class ConceptoMovilHttp {
  readonly origin: string;
  private readonly pathPrefix: string;
  private readonly http: ProviderHttpClient;

  constructor(opts: ConceptoMovilHttpOptions) {
    const url = new URL(opts.baseUrl);
    this.origin = url.origin;
    this.pathPrefix = url.pathname.replace(/\/+$/, '');
    this.http = new ProviderHttpClient({
      origin: url.origin,
      log: opts.logger.child({ component: 'conceptomovil' }),
      metrics: opts.metrics,
      label: 'Concepto Móvil',
      keepAliveTimeoutMs: opts.keepAliveTimeoutMs,
      maxResponseBytes: opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    });
  }

  /**
   * Sends one request; resolves with `parse` applied to the 2xx body (JSON, or undefined). `parse`
   * may throw a ProviderError (an error inside a 2xx answer) or any Error (→ protocol error).
   */
  exchange<T>(x: ConceptoMovilExchange, parse: (doc: unknown) => T): Promise<T> {
    return this.http.exchange(
      {
        operation: x.operation,
        method: x.method,
        path: `${this.pathPrefix}${x.path}`,
        headers: { accept: 'application/json', ...x.headers },
        json: x.body,
        timeoutMs: x.timeoutMs,
        errors: conceptoMovilErrorMapper(x.operation, x.secrets),
        logFields: { method: x.method },
      },
      (answer) => parse(jsonOrUndefined(answer.text)),
    );
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
