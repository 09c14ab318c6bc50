import type { ProviderError } from './ports/whatsapp-errors.js';
import type { CallTerminated, WhatsAppErrorInfo } from './ports/whatsapp-events.js';
import type { SipHeaders } from './ports/sip.js';
import { mapMetaSipAnswer } from './meta-sip-failures.js';

/**
 * How WhatsApp failures reach the PBX: one table, from Graph error codes (docs/whatsapp-calling.md#error-codes) and
 * terminate-webhook errors to a SIP final response a PBX admin can read. The README prints this table.
 */
export interface SipFailureResponse {
  status: number;
  reason: string;
  /** Text for the Warning header (RFC 3261 §20.43). */
  warning: string;
  /** Seconds, for 503 (RFC 3261 §20.33). */
  retryAfter?: number;
  /** Misconfiguration on the business side: log at error level so an admin notices. */
  loud?: boolean;
  /** Short label for metrics and the CDR. */
  cause: string;
}

/** One row of an error table: the SIP answer and the Warning text it is built from. */
export interface FailureRow { status: number; reason: string; text: string; retryAfter?: number; loud?: boolean; cause: string }
type Row = FailureRow;

export const GRAPH_ERROR_TABLE: Readonly<Record<number, Row>> = {
  100: { status: 500, reason: 'WhatsApp Rejected Request', text: 'invalid parameter', cause: 'invalid_request' },
  190: { status: 503, reason: 'WhatsApp Auth Failed', text: 'access token invalid or expired', loud: true, cause: 'auth' },
  613: { status: 503, reason: 'WhatsApp Rate Limited', text: 'API rate limit hit', retryAfter: 1, cause: 'rate_limited' },
  131030: { status: 403, reason: 'Not In Allowed List', text: 'recipient not in the test number allowed list', cause: 'not_allowed' },
  131044: { status: 503, reason: 'WhatsApp Payment Issue', text: 'no valid payment method on the WhatsApp account', loud: true, cause: 'payment' },
  131055: { status: 503, reason: 'WhatsApp Number In SIP Mode', text: 'the number has SIP signalling enabled; Graph calls are refused', loud: true, cause: 'sip_mode' },
  138000: { status: 503, reason: 'WhatsApp Calling Disabled', text: 'calling is not enabled on the business number', loud: true, cause: 'calling_disabled' },
  138001: { status: 404, reason: 'Not On WhatsApp', text: 'the number cannot receive WhatsApp calls', cause: 'not_on_whatsapp' },
  138002: { status: 503, reason: 'WhatsApp Concurrent Call Limit', text: 'concurrent call limit reached', retryAfter: 5, cause: 'concurrency' },
  138003: { status: 486, reason: 'Busy Here', text: 'a call with this WhatsApp user is already in progress', cause: 'duplicate_call' },
  138004: { status: 503, reason: 'WhatsApp Connection Error', text: 'WhatsApp connection error', retryAfter: 5, cause: 'connection_error' },
  138005: { status: 503, reason: 'WhatsApp Call Rate Limit', text: 'call rate limit exceeded for the business number', retryAfter: 60, cause: 'rate_limited' },
  138006: { status: 403, reason: 'No WhatsApp Call Permission', text: 'the user has not granted call permission', cause: 'no_permission' },
  138007: { status: 500, reason: 'WhatsApp Connect Timeout', text: 'the SDP answer was not applied in time', cause: 'connect_timeout' },
  138009: { status: 403, reason: 'Permission Request Limit', text: 'permission request limit reached for this user', cause: 'permission_request_limit' },
  138012: { status: 403, reason: 'WhatsApp Daily Call Limit', text: 'daily connected-call limit reached for this user', cause: 'daily_limit' },
  138013: { status: 403, reason: 'WhatsApp Calling Not Available', text: 'business-initiated calling is not available for this business number\'s country', cause: 'country' },
  138014: { status: 403, reason: 'WhatsApp Calling Paused', text: 'calling temporarily disabled for low quality', loud: true, cause: 'quality_pause' },
  138019: { status: 500, reason: 'WhatsApp Call Setup Failed', text: 'call setup failed', cause: 'setup_failed' },
  138020: { status: 503, reason: 'WhatsApp Relay Failed', text: 'relay connection failed', retryAfter: 5, cause: 'relay_failed' },
  138021: { status: 408, reason: 'Media Timeout', text: 'WhatsApp received no media', cause: 'media_timeout' },
  138022: { status: 408, reason: 'Media Timeout', text: 'WhatsApp media transmit timeout', cause: 'media_timeout' },
  138023: { status: 408, reason: 'Media Timeout', text: 'accepted but no media', cause: 'media_timeout' },
};

/** A provider's configuration failure (CAMS signature or AccessKey, …): the same loud answer as Meta's 190. */
export const PROVIDER_CONFIG_ROW: Readonly<Row> = {
  status: 503, reason: 'WhatsApp Auth Failed', text: 'the WhatsApp provider refused watrunk\'s credentials or configuration', loud: true, cause: 'auth',
};
/** A provider's throttling without one of Meta's codes (CAMS Throttling*, HTTP 429): as Meta's 613. */
export const PROVIDER_RATE_LIMIT_ROW: Readonly<Row> = {
  status: 503, reason: 'WhatsApp Rate Limited', text: 'the WhatsApp provider is throttling requests', retryAfter: 1, cause: 'rate_limited',
};

function fromRow(row: Row, code: number | undefined, extra?: string): SipFailureResponse {
  const codeText = code !== undefined ? ` (${code})` : '';
  return {
    status: row.status,
    reason: row.reason,
    warning: `${row.text}${codeText}${extra ? `: ${extra}` : ''}`,
    ...(row.retryAfter !== undefined ? { retryAfter: row.retryAfter } : {}),
    ...(row.loud ? { loud: true } : {}),
    cause: row.cause,
  };
}

/** A failed Graph request (connect, or the permission check before it). */
export function mapProviderError(err: ProviderError): SipFailureResponse {
  if (err.kind === 'timeout') {
    return { status: 504, reason: 'WhatsApp Timeout', warning: `no answer from the WhatsApp API in time (${err.fields.operation ?? 'request'})`, cause: 'provider_timeout' };
  }
  if (err.kind === 'network') {
    return { status: 503, reason: 'WhatsApp Unreachable', warning: `cannot reach the WhatsApp API: ${err.message}`, retryAfter: 5, cause: 'provider_unreachable' };
  }
  if (err.kind === 'protocol') {
    return { status: 502, reason: 'Bad WhatsApp Response', warning: 'unexpected answer from the WhatsApp API', cause: 'provider_protocol' };
  }
  const code = err.code;
  const row = code !== undefined ? GRAPH_ERROR_TABLE[code] : undefined;
  if (row) {
    // 138012 carries the next allowed time in error_data.details (docs/whatsapp-calling.md#limits).
    const extra = code === 138012 || code === 100 ? err.details : undefined;
    return fromRow(row, code, extra);
  }
  // Providers that do not speak in Meta's codes say how a failure is to be treated (docs/providers.md).
  const providerCode = err.fields.type && err.fields.type !== 'unsupported' ? `: ${err.fields.type}` : '';
  if (err.fields.category === 'config') {
    return { ...fromRow(PROVIDER_CONFIG_ROW, code), warning: `${PROVIDER_CONFIG_ROW.text}${providerCode}` };
  }
  if (err.fields.category === 'unsupported') {
    return fromRow({ status: 503, reason: 'WhatsApp Not Supported', text: 'the WhatsApp provider does not offer this', loud: true, cause: 'unsupported' }, code);
  }
  if (err.fields.category === 'rate_limited' || err.httpStatus === 429) {
    return { ...fromRow(PROVIDER_RATE_LIMIT_ROW, code), warning: `${PROVIDER_RATE_LIMIT_ROW.text}${providerCode}` };
  }
  if (err.httpStatus === 401 || err.httpStatus === 403) {
    return fromRow({ status: 503, reason: 'WhatsApp Auth Failed', text: 'the WhatsApp API refused the credentials', loud: true, cause: 'auth' }, code);
  }
  if (err.fields.category === 'server' || (err.httpStatus !== undefined && err.httpStatus >= 500)) {
    return fromRow({ status: 503, reason: 'WhatsApp Unavailable', text: 'WhatsApp API error', retryAfter: 5, cause: 'provider_5xx' }, code);
  }
  return fromRow({ status: 500, reason: 'WhatsApp Error', text: err.message.slice(0, 120), cause: 'provider_error' }, code);
}

export const REJECTED: SipFailureResponse = { status: 603, reason: 'Decline', warning: 'the WhatsApp user declined the call', cause: 'rejected' };
export const NO_ANSWER: SipFailureResponse = { status: 480, reason: 'Temporarily Unavailable', warning: 'the WhatsApp user did not answer', cause: 'no_answer' };

/** A terminate webhook that ends a call before it was answered. */
export function mapTerminateBeforeAnswer(ev: CallTerminated): SipFailureResponse {
  if (ev.sipAnswer) return mapMetaSipAnswer(ev.sipAnswer);
  const first: WhatsAppErrorInfo | undefined = ev.errors[0];
  if (first) {
    const row = GRAPH_ERROR_TABLE[first.code];
    if (row) return fromRow(row, first.code, first.details);
    return fromRow({ status: 500, reason: 'WhatsApp Call Failed', text: first.message ?? 'call failed', cause: 'failed' }, first.code, first.details);
  }
  // Meta says even unanswered calls end "COMPLETED" (docs/whatsapp-calling.md#terminate-webhook): without an error, the user
  // did not pick up.
  if (ev.status === 'FAILED') return { status: 500, reason: 'WhatsApp Call Failed', warning: 'the WhatsApp call failed', cause: 'failed' };
  return NO_ANSWER;
}

/** Headers for a final failure response. */
export function failureHeaders(f: SipFailureResponse): SipHeaders {
  const h: SipHeaders = { Warning: `399 watrunk "${f.warning.replace(/"/g, "'")}"` };
  if (f.retryAfter !== undefined) h['Retry-After'] = String(f.retryAfter);
  return h;
}

/**
 * The Reason header for a BYE toward the PBX after WhatsApp ended an answered call (RFC 3326).
 * Q.850 cause 16 = normal clearing; media timeouts use 102 (recovery on timer expiry).
 */
export function byeReason(ev: CallTerminated | undefined): string {
  const code = ev?.errors[0]?.code;
  if (code === 138021 || code === 138022 || code === 138023) {
    return `Q.850;cause=102;text="WhatsApp media timeout (${code})"`;
  }
  if (code !== undefined) return `Q.850;cause=41;text="WhatsApp error ${code}"`;
  return 'Q.850;cause=16;text="WhatsApp user hung up"';
}
