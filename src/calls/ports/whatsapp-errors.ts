/**
 * A failed request to a WhatsApp provider, in provider-neutral form. Meta's Graph error envelope
 * ({"error":{"message","type","code","error_data":{"details"},"fbtrace_id"}}) maps onto it directly;
 * other providers map their own envelopes onto the same fields.
 */
export type ProviderErrorKind =
  /** The provider answered with an error envelope / non-2xx status. */
  | 'api'
  /** No answer within the configured timeout. */
  | 'timeout'
  /** Connection refused/reset, DNS, TLS: the request may not have reached the provider. */
  | 'network'
  /** The provider answered 2xx but the body was not what the API promises. */
  | 'protocol';

/**
 * How a failure is to be treated whatever the provider's own codes, for providers whose errors are
 * not Meta's numeric codes (docs/providers.md). Orthogonal to the kind: a CAMS signature error is
 * an `api` answer of category `config`.
 *  config        the deployment is wrong (credentials, signature, clock, account permissions): loud,
 *                never retried, the same SIP answer as Meta's auth errors.
 *  rate_limited  the provider throttles: the same SIP answer as Meta's rate limit, with Retry-After.
 *  server        the provider's own failure, even in an HTTP 200 answer (CAMS InternalError): the
 *                same SIP answer as an HTTP 5xx.
 *  unsupported   the provider does not offer the operation (refused before anything was sent).
 */
export type ProviderFailureCategory = 'config' | 'rate_limited' | 'server' | 'unsupported';

export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    message: string,
    readonly kind: ProviderErrorKind,
    readonly fields: {
      /** Provider error code, e.g. Graph 138006. */
      code?: number;
      /** HTTP status, when there was an HTTP answer. */
      httpStatus?: number;
      type?: string;
      /** error_data.details (Meta puts SDP validation failures and next-allowed times here). */
      details?: string;
      /** fbtrace_id (or the provider's request id), for support tickets. */
      traceId?: string;
      /** The action or operation that failed, e.g. "connect". */
      operation?: string;
      /** Set by adapters whose provider does not speak in Meta's codes (see ProviderFailureCategory). */
      category?: ProviderFailureCategory;
    } = {},
  ) {
    super(message);
  }
  get code(): number | undefined { return this.fields.code; }
  get httpStatus(): number | undefined { return this.fields.httpStatus; }
  get details(): string | undefined { return this.fields.details; }
  get traceId(): string | undefined { return this.fields.traceId; }
  /** Plain object for structured logs (never contains credentials). */
  toLog(): Record<string, unknown> {
    return { kind: this.kind, message: this.message, ...this.fields };
  }
}
