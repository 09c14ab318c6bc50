import type { ProviderError } from '../../calls/ports/whatsapp-errors.js';

/** The `outcome` label of providerRequests (src/metrics.ts). */
export type ProviderHttpOutcome = 'ok' | 'api_error' | 'timeout' | 'network' | 'protocol';

/**
 * How one provider words each failure of one request as a ProviderError. Built per request, so the
 * operation and the secrets to scrub are already bound.
 */
export interface ProviderErrorMapper {
  /** No answer within timeoutMs (our deadline or undici's timers). */
  timeout(timeoutMs: number): ProviderError;
  /** Connection refused/reset, DNS, TLS, or the body stream broke. */
  network(err: unknown): ProviderError;
  /** A non-2xx answer. */
  api(httpStatus: number, bodyText: string, traceId: string | undefined): ProviderError;
  /** A 2xx answer whose body is not what the API promises. */
  protocol(problem: string, httpStatus: number, traceId: string | undefined): ProviderError;
}

export interface ProviderHttpRequest {
  /** The metric label and the operation named in errors, e.g. "connect". */
  operation: string;
  method: 'GET' | 'POST';
  /** The whole path and query string, already encoded. */
  path: string;
  /** Every header but content-type, in the order sent. */
  headers: Record<string, string>;
  /** Sent as JSON, with content-type application/json. */
  json?: unknown;
  /** Whole-request deadline (connect, headers, body) of this attempt. */
  timeoutMs: number;
  errors: ProviderErrorMapper;
  /** Extra metadata for the debug line: never a secret, never a body. */
  logFields?: Record<string, unknown>;
}

/** A 2xx answer within the size cap, as handed to the caller's reader. */
export interface ProviderHttpAnswer {
  status: number;
  text: string;
  /**
   * From the first trace-id header present; a reader may replace it with an id found in the body
   * (CAMS puts RequestId there). Errors and the debug line use the latest value.
   */
  traceId: string | undefined;
}

/** When a failed attempt is sent again: the provider's retry table and the pause before it. */
export interface ProviderRetryPolicy<Op extends string> {
  shouldRetry: (operation: Op, err: ProviderError, attempt: number) => boolean;
  delayMs: number;
}
