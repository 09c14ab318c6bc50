import type { FailureRow, SipFailureResponse } from './failure-mapping.js';

/**
 * How Meta's SIP answers to watrunk's INVITE (SIP mode, docs/sip-mode.md#errors) reach the PBX: the
 * same Warning style and the same `loud` marking as the Graph table in failure-mapping.ts. Meta
 * tells 403s apart only by their reason phrase, so the phrase is matched (case-insensitively) and
 * an unknown 403 still says what Meta answered. Source:
 * https://developers.facebook.com/docs/whatsapp/cloud-api/calling/troubleshooting
 */

export interface MetaSipAnswer {
  status: number;
  reason: string;
  /** Whether watrunk had sent digest credentials when this came (a 401/407 then means "wrong password"). */
  afterCredentials?: boolean;
}

interface PhraseRow { match: RegExp; failure: FailureRow }

const FORBIDDEN_BY_PHRASE: readonly PhraseRow[] = [
  { match: /call permission/i, failure: { status: 403, reason: 'No WhatsApp Call Permission', text: 'the user has not granted call permission (or is not on WhatsApp)', cause: 'no_permission' } },
  { match: /per day limit|daily/i, failure: { status: 403, reason: 'WhatsApp Daily Call Limit', text: 'daily connected-call limit reached for this user', cause: 'daily_limit' } },
  { match: /does not match any sip server/i, failure: { status: 503, reason: 'WhatsApp SIP Domain Mismatch', text: 'the From domain is not the SIP server configured for the number (meta_sip.hostname)', loud: true, cause: 'sip_domain' } },
  { match: /not authorized for phone number/i, failure: { status: 503, reason: 'WhatsApp SIP App Not Authorized', text: 'the app that configured the SIP server lacks whatsapp_business_messaging on the number', loud: true, cause: 'sip_app' } },
  { match: /digest|authenticat|credential|password/i, failure: { status: 503, reason: 'WhatsApp SIP Auth Failed', text: 'Meta refused watrunk\'s SIP digest credentials', loud: true, cause: 'sip_auth' } },
];

const BY_STATUS: Readonly<Record<number, FailureRow>> = {
  400: { status: 503, reason: 'WhatsApp Number Not Found', text: 'Meta does not know the From number as a Cloud API number', loud: true, cause: 'asset_not_found' },
  404: { status: 404, reason: 'Not Found', text: 'Meta found no such user', cause: 'not_found' },
  408: { status: 408, reason: 'Request Timeout', text: 'no media or no answer in time', cause: 'media_timeout' },
  480: { status: 480, reason: 'Temporarily Unavailable', text: 'the WhatsApp user did not answer or is unreachable', cause: 'no_answer' },
  // Meta's 486 is the user's "decline"; API mode answers a rejection 603 too (failure-mapping.ts REJECTED).
  486: { status: 603, reason: 'Decline', text: 'the WhatsApp user declined the call', cause: 'rejected' },
  487: { status: 487, reason: 'Request Terminated', text: 'cancelled', cause: 'cancelled' },
  488: { status: 488, reason: 'Not Acceptable Here', text: 'Meta refused the SDP offer: check that meta_sip.srtp matches srtp_key_exchange_protocol', loud: true, cause: 'sdp_refused' },
  503: { status: 503, reason: 'WhatsApp Unavailable', text: 'Meta\'s SIP edge is unavailable', retryAfter: 5, cause: 'provider_5xx' },
  603: { status: 603, reason: 'Decline', text: 'the WhatsApp user declined the call', cause: 'rejected' },
};

const SIP_AUTH: FailureRow = FORBIDDEN_BY_PHRASE.find((r) => r.failure.cause === 'sip_auth')!.failure;

function withWarning(row: FailureRow, answer: MetaSipAnswer): SipFailureResponse {
  const { text, ...rest } = row;
  return { ...rest, warning: `${text} (Meta SIP ${answer.status}${answer.reason ? ` "${answer.reason}"` : ''})` };
}

/** Whether Meta refused the digest itself (the password is wrong or stale): watrunk fetches it again. */
export function isDigestFailure(answer: MetaSipAnswer): boolean {
  if ((answer.status === 401 || answer.status === 407) && answer.afterCredentials !== false) return true;
  // "not authorized for phone number id" is about the app, not the digest: named phrases first.
  if (answer.status !== 403 || FORBIDDEN_BY_PHRASE.some((r) => r.failure.cause !== 'sip_auth' && r.match.test(answer.reason))) return false;
  return /digest|authenticat|credential|password/i.test(answer.reason);
}

/**
 * Whether a failed INVITE is worth one password re-fetch: a refused digest, or a 403 whose phrase
 * is none of the known ones (Meta lists "bad digest response" among its unnamed 403s). The caller
 * sends the INVITE again only when the re-fetch brought a different password.
 */
export function shouldRefetchPassword(answer: MetaSipAnswer): boolean {
  if (isDigestFailure(answer)) return true;
  return answer.status === 403 && !FORBIDDEN_BY_PHRASE.some((r) => r.match.test(answer.reason));
}

/** Meta's final failure answer → the SIP failure the PBX gets. */
export function mapMetaSipAnswer(answer: MetaSipAnswer): SipFailureResponse {
  if (isDigestFailure(answer)) return withWarning(SIP_AUTH, answer);
  if (answer.status === 403) {
    const row = FORBIDDEN_BY_PHRASE.find((r) => r.match.test(answer.reason));
    if (row) return withWarning(row.failure, answer);
    return withWarning({ status: 403, reason: 'WhatsApp Forbidden', text: 'Meta refused the call', cause: 'forbidden' }, answer);
  }
  const row = BY_STATUS[answer.status];
  if (row) return withWarning(row, answer);
  if (answer.status >= 500) return withWarning({ status: 503, reason: 'WhatsApp Unavailable', text: 'Meta\'s SIP edge failed', retryAfter: 5, cause: 'provider_5xx' }, answer);
  return withWarning({ status: answer.status >= 400 && answer.status < 700 ? answer.status : 500, reason: answer.reason || 'WhatsApp Call Failed', text: 'Meta refused the call', cause: 'failed' }, answer);
}

/** The rows of this table, for the README's error table (test/support/faults/readme-error-table.ts). */
export function metaSipTableRows(): { meta: string; status: number; reason: string; cause: string; loud: boolean }[] {
  return [
    ...FORBIDDEN_BY_PHRASE.map((r) => ({ meta: `403 "${r.match.source.split('|')[0]!.replace(/\\/g, '')}…"`, status: r.failure.status, reason: r.failure.reason, cause: r.failure.cause, loud: r.failure.loud === true })),
    ...Object.entries(BY_STATUS).map(([s, r]) => ({ meta: s, status: r.status, reason: r.reason, cause: r.cause, loud: r.loud === true })),
  ];
}
