/**
 * Provider-neutral WhatsApp call events. Every provider adapter (Meta, 360dialog, ...) turns its
 * webhook deliveries into these, and the call logic in src/calls/ only ever sees these.
 * Timestamps are Unix seconds (Meta sends them as strings or numbers; adapters coerce).
 */

/**
 * Who started a call, in Meta's words: the one direction vocabulary of watrunk (types, logs, CDRs,
 * metrics labels, the call journal). BUSINESS_INITIATED: the PBX calls a WhatsApp user;
 * USER_INITIATED: a WhatsApp user calls the business.
 */
export type CallDirection = 'BUSINESS_INITIATED' | 'USER_INITIATED';
export const CALL_DIRECTIONS = ['BUSINESS_INITIATED', 'USER_INITIATED'] as const satisfies readonly CallDirection[];

/** A WhatsApp user: phone digits and/or a business-scoped user id (BSUID). Either may be empty. */
export interface WhatsAppUser {
  /** Digits only, no '+'. Empty string when Meta hides the number behind a username. */
  number: string;
  /** Business-scoped user id, e.g. "US.13491208655302741918". */
  userId?: string;
  profileName?: string;
  username?: string;
  countryCode?: string;
}

/** An error object as carried in terminate webhooks (value.errors or calls[].errors). */
export interface WhatsAppErrorInfo {
  code: number;
  message?: string;
  details?: string;
  href?: string;
}

interface EventBase {
  /** The business number's phone_number_id this event belongs to. */
  phoneNumberId: string;
  /** WhatsApp call id (wacid....). Opaque: never parse it. */
  callId: string;
  /** Unix seconds of the event, as sent by the provider. */
  timestamp: number;
  /** performance.now() when the delivery carrying it arrived (for the webhook-to-SIP latency metric). */
  receivedAt?: number;
}

/** User-initiated call: Meta's connect webhook carrying an SDP offer. */
export interface CallOffered extends EventBase {
  kind: 'call.offered';
  direction: 'USER_INITIATED';
  user: WhatsAppUser;
  /** The business number (digits) that was called. */
  businessNumber: string;
  sdpOffer: string;
  ctaPayload?: string;
  deeplinkPayload?: string;
}

/** Business-initiated call: Meta's connect webhook carrying the SDP answer to our offer. */
export interface CallAnswered extends EventBase {
  kind: 'call.answered';
  direction: 'BUSINESS_INITIATED';
  user: WhatsAppUser;
  businessNumber: string;
  sdpAnswer: string;
  /** biz_opaque_callback_data echoed back (watrunk puts its own call id there). */
  trackingData?: string;
}

interface CallStatusBase extends EventBase {
  user: WhatsAppUser;
  trackingData?: string;
}
export interface CallRinging extends CallStatusBase { kind: 'call.ringing' }
/** ACCEPTED usually arrives after media is up; it is for auditing (docs/whatsapp-calling.md#status-webhook). */
export interface CallAccepted extends CallStatusBase { kind: 'call.accepted' }
export interface CallRejected extends CallStatusBase { kind: 'call.rejected' }

export interface CallTerminated extends EventBase {
  kind: 'call.terminated';
  direction?: CallDirection;
  user: WhatsAppUser;
  businessNumber?: string;
  /** Upper-cased: COMPLETED | FAILED (Meta's samples also use "Completed"/"Failed"). */
  status: string;
  startTime?: number;
  endTime?: number;
  durationS?: number;
  errors: WhatsAppErrorInfo[];
  /** SIP mode: Meta's final SIP answer that ended the call before it was answered (docs/sip-mode.md#errors). */
  sipAnswer?: { status: number; reason: string; afterCredentials?: boolean };
  trackingData?: string;
  ctaPayload?: string;
  deeplinkPayload?: string;
}

/** A call_permission_reply interactive message (field `messages`). */
export interface PermissionReplied {
  kind: 'permission.replied';
  phoneNumberId: string;
  /** wamid of the reply message. */
  messageId: string;
  timestamp: number;
  user: WhatsAppUser;
  response: 'accept' | 'reject';
  permanent: boolean;
  /** Unix seconds; only for an accepted temporary permission. */
  expiresAt?: number;
  /** user_action | automatic (kept as sent, lower-cased). */
  source: string;
  /** wamid of our request, or wacid of the user's call; absent for profile grants and auto-revokes. */
  contextId?: string;
}

/** account_update / account_settings_update: logged, counted, surfaced in /readyz (docs/whatsapp-calling.md#account-notices). */
export interface AccountNotice {
  kind: 'account.notice';
  phoneNumberId?: string;
  /** WABA id (entry.id). */
  accountId?: string;
  timestamp: number;
  /** e.g. ACCOUNT_RESTRICTION, ACCOUNT_VIOLATION, PHONE_NUMBER_SETTINGS */
  event: string;
  raw: unknown;
}

export type CallEvent = CallOffered | CallAnswered | CallRinging | CallAccepted | CallRejected | CallTerminated;
export type WhatsAppEvent = CallEvent | PermissionReplied | AccountNotice;

/** Dedupe identity of an event: same call id, same event kind, same timestamp (docs/whatsapp-calling.md#delivery). */
export function eventKey(e: WhatsAppEvent): string {
  switch (e.kind) {
    case 'permission.replied':
      return `${e.kind}|${e.messageId}|${e.timestamp}`;
    case 'account.notice':
      return `${e.kind}|${e.accountId ?? ''}|${e.phoneNumberId ?? ''}|${e.event}|${e.timestamp}`;
    default:
      return `${e.kind}|${e.callId}|${e.timestamp}`;
  }
}
