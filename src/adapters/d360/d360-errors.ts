import { ProviderError } from '../../calls/ports/whatsapp-errors.js';
import type { ProviderErrorMapper } from '../http/provider-http-types.js';
import { scrubSecret } from '../meta/graph-errors.js';
import { asNonEmptyString, asRecord, type JsonRecord } from '../meta/coerce.js';
import type { D360Operation } from './d360-types.js';

/**
 * Turns what went wrong on a 360dialog request into a ProviderError, classified exactly as for
 * Meta (src/calls/failure-mapping.ts): Meta's code when 360dialog relays Meta's error envelope,
 * and the real HTTP status always, so 401/403 (bad or blocked API key) is a loud configuration
 * problem and 5xx (including 360dialog's 555 restarts) is retried where the policy allows.
 *
 * 360dialog answers in two shapes (https://docs.360dialog.com/docs/support/api-error-message-list):
 *  - Meta's envelope, relayed: {"error":{"message","type","code","error_data":{"details"},"fbtrace_id"}}
 *  - its own: {"meta":{"success":false,"http_code"|"httpCode","developer_message"|"developerMessage"}}
 *    (the documented "invalid API key" answer is HTTP 401 with httpCode 404 in the body: the HTTP
 *    status is the one kept).
 * Anything else (an HTML 503 page) becomes a short, scrubbed snippet in `details`.
 *
 * Three of 360dialog's own HTTP 400s are about the account, not the request (same page):
 * "Your WhatsApp for Business API has been disabled" and "Could not send message due to lack of
 * payment…" are loud configuration problems (category `config`, as a refused key), and "You have
 * exceeded the endpoint rate limit." is throttling (category `rate_limited`, as Meta's 613). See
 * D360_ACCOUNT_FAILURES.
 */

const PROVIDER = '360dialog';
const SNIPPET_CHARS = 160;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function integer(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^[0-9]+$/.test(v.trim())) return Number(v.trim());
  return undefined;
}

function detailsOf(errorData: unknown): string | undefined {
  if (errorData === undefined || errorData === null) return undefined;
  if (typeof errorData === 'string') return errorData;
  const d = asRecord(errorData)?.['details'];
  return typeof d === 'string' ? d : JSON.stringify(d ?? errorData);
}

/**
 * 360dialog's account-level answers, recognised by phrase (case-insensitively, with `_` and `-` read
 * as spaces, so a code such as API_DISABLED matches too) in whatever text its own answer carries.
 * Wording: https://docs.360dialog.com/docs/support/api-error-message-list. `type` names the case in
 * the SIP Warning (src/calls/failure-mapping.ts), as CAMS's code does.
 */
const D360_ACCOUNT_FAILURES: readonly { match: RegExp; category: 'config' | 'rate_limited'; type: string }[] = [
  { match: /\bapi\b.{0,60}\bdisabled\b|\bdisabled\b.{0,20}\bapi\b/, category: 'config', type: '360dialog api_disabled' },
  { match: /\black of payment\b|\boverdue invoices?\b|\bunpaid\b|\bpayment required\b/, category: 'config', type: '360dialog unpaid' },
  { match: /\brate ?limit/, category: 'rate_limited', type: '360dialog rate_limit' },
];

/**
 * The account-level failure these texts describe, for a 4xx (401/403 and 429 already say what they
 * are) or an error inside a 2xx answer; undefined otherwise: a 5xx stays a 5xx.
 */
function accountFailure(httpStatus: number | undefined, texts: readonly (string | undefined)[]): Pick<ProviderError['fields'], 'category' | 'type'> | undefined {
  if (httpStatus !== undefined && (httpStatus < 400 || httpStatus >= 500 || [401, 403, 429].includes(httpStatus))) return undefined;
  const text = texts.filter((t) => t !== undefined).join(' ').toLowerCase().replace(/[_-]+/g, ' ');
  const hit = D360_ACCOUNT_FAILURES.find((f) => f.match.test(text));
  return hit && { category: hit.category, type: hit.type };
}

/** Meta's envelope relayed by 360dialog. */
function fromMetaEnvelope(op: D360Operation, httpStatus: number | undefined, e: JsonRecord, secret: string): ProviderError {
  const code = integer(e['code']);
  const text = scrubSecret(asNonEmptyString(e['message']) ?? 'no message', secret);
  const type = asNonEmptyString(e['type']);
  const details = detailsOf(e['error_data']);
  const traceId = asNonEmptyString(e['fbtrace_id']);
  const status = httpStatus !== undefined ? `HTTP ${httpStatus}` : 'error in a 2xx answer';
  return new ProviderError(
    `${PROVIDER} ${op} failed: ${status}${code !== undefined ? `, code ${code}` : ''}: ${text}`,
    'api',
    {
      operation: op,
      ...(httpStatus !== undefined && { httpStatus }),
      ...(code !== undefined && { code }),
      ...(type !== undefined && { type: scrubSecret(type, secret) }),
      ...(details !== undefined && { details: scrubSecret(details, secret) }),
      ...(traceId !== undefined && { traceId }),
      // Without Meta's code it is 360dialog's own answer in Meta's shape.
      ...(code === undefined && accountFailure(httpStatus, [text, details])),
    },
  );
}

/**
 * 360dialog's own envelope. Its http_code is not a provider error code (it would collide with
 * Meta's codes in the failure table), so it goes to `details` when it differs from the HTTP status.
 */
function fromD360Envelope(op: D360Operation, httpStatus: number | undefined, meta: JsonRecord, secret: string): ProviderError {
  const bodyCode = integer(meta['http_code'] ?? meta['httpCode']);
  const developerMessage = asNonEmptyString(meta['developer_message'] ?? meta['developerMessage']);
  const status = httpStatus ?? (bodyCode !== undefined && bodyCode >= 400 ? bodyCode : undefined);
  const text = scrubSecret(developerMessage ?? 'no developer_message', secret);
  const note = bodyCode !== undefined && bodyCode !== status ? `body http_code ${bodyCode}` : undefined;
  return new ProviderError(
    `${PROVIDER} ${op} failed: ${status !== undefined ? `HTTP ${status}` : 'error in a 2xx answer'}: ${text}`,
    'api',
    {
      operation: op, type: PROVIDER,
      ...(status !== undefined && { httpStatus: status }),
      ...(note !== undefined && { details: note }),
      ...accountFailure(status, [developerMessage]),
    },
  );
}

/** A legacy {"errors":[{"code","title","details"}]} answer (360dialog's on-premise dialect). */
function fromErrorsList(op: D360Operation, httpStatus: number | undefined, first: JsonRecord, secret: string): ProviderError {
  const title = asNonEmptyString(first['title']) ?? asNonEmptyString(first['message']) ?? 'no title';
  const details = asNonEmptyString(first['details']);
  return new ProviderError(
    `${PROVIDER} ${op} failed: ${httpStatus !== undefined ? `HTTP ${httpStatus}` : 'error in a 2xx answer'}: ${scrubSecret(title, secret)}`,
    'api',
    {
      operation: op, type: PROVIDER,
      ...(httpStatus !== undefined && { httpStatus }),
      ...(details !== undefined && { details: scrubSecret(details, secret) }),
      ...accountFailure(httpStatus, [title, details, asNonEmptyString(first['code'])]),
    },
  );
}

/** The error a parsed body describes, or undefined when it is no known error shape. */
function fromBody(op: D360Operation, httpStatus: number | undefined, doc: unknown, secret: string): ProviderError | undefined {
  const body = asRecord(doc);
  if (!body) return undefined;
  const metaError = asRecord(body['error']);
  if (metaError) return fromMetaEnvelope(op, httpStatus, metaError, secret);
  const d360 = asRecord(body['meta']);
  if (d360 && (d360['success'] === false || httpStatus !== undefined)) return fromD360Envelope(op, httpStatus, d360, secret);
  const first = Array.isArray(body['errors']) ? asRecord(body['errors'][0]) : undefined;
  if (first) return fromErrorsList(op, httpStatus, first, secret);
  return undefined;
}

/** A non-2xx answer. */
export function d360ApiError(
  op: D360Operation, httpStatus: number, bodyText: string, headerTraceId: string | undefined, secret: string,
): ProviderError {
  const known = fromBody(op, httpStatus, parseJson(bodyText), secret);
  if (known) {
    if (known.traceId === undefined && headerTraceId !== undefined) {
      return new ProviderError(known.message, known.kind, { ...known.fields, traceId: headerTraceId });
    }
    return known;
  }
  const snippet = scrubSecret(bodyText, secret).replace(/\s+/g, ' ').trim().slice(0, SNIPPET_CHARS);
  return new ProviderError(`${PROVIDER} ${op} failed: HTTP ${httpStatus} without a known error envelope`, 'api', {
    httpStatus, operation: op,
    ...(snippet.length > 0 && { details: snippet }),
    ...(headerTraceId !== undefined && { traceId: headerTraceId }),
    // A plain-text or unknown-JSON answer may still carry the documented phrase.
    ...accountFailure(httpStatus, [snippet]),
  });
}

/**
 * A 2xx answer that nevertheless carries an error (Meta's envelope, or 360dialog's meta.success
 * false), or undefined for an ordinary body. Checked before the operation's own parser runs.
 */
export function d360ErrorIn2xxBody(op: D360Operation, doc: unknown, secret: string): ProviderError | undefined {
  const body = asRecord(doc);
  if (!body) return undefined;
  if (asRecord(body['error']) || asRecord(body['meta'])?.['success'] === false) return fromBody(op, undefined, body, secret);
  return undefined;
}

/** A 2xx answer whose body is not what the API promises. */
export function d360ProtocolError(
  op: D360Operation, problem: string, httpStatus: number, traceId: string | undefined, secret: string,
): ProviderError {
  return new ProviderError(`${PROVIDER} ${op}: unexpected response: ${scrubSecret(problem, secret)}`, 'protocol', {
    httpStatus, operation: op, ...(traceId !== undefined && { traceId }),
  });
}

export function d360TimeoutError(op: D360Operation, timeoutMs: number): ProviderError {
  return new ProviderError(`${PROVIDER} ${op}: no answer within ${timeoutMs} ms`, 'timeout', { operation: op });
}

/** Connection refused/reset, DNS, TLS: the request may not have reached 360dialog. */
export function d360NetworkError(op: D360Operation, err: unknown, secret: string): ProviderError {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } } | null;
  const code = asNonEmptyString(e?.code) ?? asNonEmptyString(e?.cause?.code);
  const text = asNonEmptyString(e?.message) ?? String(err);
  const causeText = asNonEmptyString(e?.cause?.message);
  const why = causeText && causeText !== text ? `${text}: ${causeText}` : text;
  return new ProviderError(scrubSecret(`${PROVIDER} ${op}: network error${code ? ` ${code}` : ''} (${why})`, secret), 'network', { operation: op });
}

/** The errors of one 360dialog request, for ProviderHttpClient. */
export function d360ErrorMapper(op: D360Operation, secret: string): ProviderErrorMapper {
  return {
    timeout: (timeoutMs) => d360TimeoutError(op, timeoutMs),
    network: (err) => d360NetworkError(op, err, secret),
    api: (httpStatus, bodyText, traceId) => d360ApiError(op, httpStatus, bodyText, traceId, secret),
    protocol: (problem, httpStatus, traceId) => d360ProtocolError(op, problem, httpStatus, traceId, secret),
  };
}
