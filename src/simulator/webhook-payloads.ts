/**
 * Webhook bodies exactly as Meta shapes them (docs/whatsapp-calling.md#webhooks, and Meta's samples):
 * {"object":"whatsapp_business_account","entry":[{"id":<WABA>,"changes":[{"field":"calls"|"messages",
 *   "value":{"messaging_product":"whatsapp","metadata":{display_phone_number, phone_number_id}, …}}]}]}
 * Timestamps are strings of Unix seconds; `duration` is a number.
 */
import type { CallDirection } from '../calls/ports/whatsapp-events.js';

export interface BusinessIdentity { wabaId: string; phoneNumberId: string; displayNumber: string }

export interface UserIdentity {
  /** Digits, or "" when the number is hidden behind a username. */
  number: string;
  userId?: string;
  name?: string;
  username?: string;
  countryCode?: string;
}


export const unixSeconds = (ms: number): string => String(Math.floor(ms / 1000));

function envelope(biz: BusinessIdentity, field: 'calls' | 'messages', value: Record<string, unknown>): Record<string, unknown> {
  return {
    object: 'whatsapp_business_account',
    entry: [{
      id: biz.wabaId,
      changes: [{
        value: {
          messaging_product: 'whatsapp',
          metadata: { display_phone_number: biz.displayNumber, phone_number_id: biz.phoneNumberId },
          ...value,
        },
        field,
      }],
    }],
  };
}

/** contacts[]: {profile{name, username, country_code}, wa_id, user_id} (docs/whatsapp-calling.md#connect-webhook, #user-identities). */
export function contactOf(user: UserIdentity): Record<string, unknown> {
  const profile: Record<string, unknown> = {};
  if (user.name !== undefined) profile['name'] = user.name;
  if (user.username !== undefined) profile['username'] = user.username;
  if (user.countryCode !== undefined) profile['country_code'] = user.countryCode;
  return {
    ...(Object.keys(profile).length ? { profile } : {}),
    wa_id: user.number,
    ...(user.userId ? { user_id: user.userId } : {}),
  };
}

/** from/to and the BSUID field of the user's side: USER_INITIATED from = user; BUSINESS_INITIATED to = user. */
function parties(biz: BusinessIdentity, user: UserIdentity, direction: CallDirection): Record<string, string> {
  return direction === 'USER_INITIATED'
    ? { from: user.number, ...(user.userId ? { from_user_id: user.userId } : {}), to: biz.displayNumber }
    : { from: biz.displayNumber, to: user.number, ...(user.userId ? { to_user_id: user.userId } : {}) };
}

export interface ConnectEvent {
  callId: string;
  direction: CallDirection;
  user: UserIdentity;
  at: number;
  /** USER_INITIATED: Meta's offer; BUSINESS_INITIATED: the answer to the business's offer. */
  sdp: string;
  bizOpaque?: string;
  ctaPayload?: string;
  deeplinkPayload?: string;
}

/** Call connect webhook (docs/whatsapp-calling.md#connect-webhook). */
export function connectPayload(biz: BusinessIdentity, e: ConnectEvent): Record<string, unknown> {
  return envelope(biz, 'calls', {
    contacts: [contactOf(e.user)],
    calls: [{
      id: e.callId,
      ...parties(biz, e.user, e.direction),
      event: 'connect',
      timestamp: unixSeconds(e.at),
      direction: e.direction,
      session: { sdp_type: e.direction === 'USER_INITIATED' ? 'offer' : 'answer', sdp: e.sdp },
      ...(e.bizOpaque !== undefined ? { biz_opaque_callback_data: e.bizOpaque } : {}),
      ...(e.ctaPayload !== undefined ? { cta_payload: e.ctaPayload } : {}),
      ...(e.deeplinkPayload !== undefined ? { deeplink_payload: e.deeplinkPayload } : {}),
    }],
  });
}

export type CallStatus = 'RINGING' | 'ACCEPTED' | 'REJECTED';

/** Call status webhook, business-initiated calls only (docs/whatsapp-calling.md#status-webhook). */
export function statusPayload(biz: BusinessIdentity, e: { callId: string; status: CallStatus; user: UserIdentity; at: number; bizOpaque?: string }): Record<string, unknown> {
  return envelope(biz, 'calls', {
    statuses: [{
      id: e.callId,
      type: 'call',
      status: e.status,
      timestamp: unixSeconds(e.at),
      recipient_id: e.user.number,
      ...(e.user.userId ? { recipient_user_id: e.user.userId } : {}),
      ...(e.bizOpaque !== undefined ? { biz_opaque_callback_data: e.bizOpaque } : {}),
    }],
  });
}

export interface WebhookErrorInfo { code: number; message: string; details: string }

export interface TerminateEvent {
  callId: string;
  direction: CallDirection;
  user: UserIdentity;
  at: number;
  status: 'COMPLETED' | 'FAILED';
  /** Only when the call was picked up (docs/whatsapp-calling.md#terminate-webhook). */
  startedAt?: number;
  bizOpaque?: string;
  ctaPayload?: string;
  deeplinkPayload?: string;
  errors?: WebhookErrorInfo[];
  href?: string;
}

/** Call terminate webhook (docs/whatsapp-calling.md#terminate-webhook); errors[] sits beside calls[] as in Meta's samples. */
export function terminatePayload(biz: BusinessIdentity, e: TerminateEvent): Record<string, unknown> {
  const picked = e.startedAt !== undefined
    ? {
        start_time: unixSeconds(e.startedAt),
        end_time: unixSeconds(e.at),
        duration: Math.max(0, Math.floor(e.at / 1000) - Math.floor(e.startedAt / 1000)),
      }
    : {};
  return envelope(biz, 'calls', {
    contacts: [contactOf(e.user)],
    calls: [{
      id: e.callId,
      ...parties(biz, e.user, e.direction),
      event: 'terminate',
      direction: e.direction,
      timestamp: unixSeconds(e.at),
      status: e.status,
      ...picked,
      ...(e.bizOpaque !== undefined ? { biz_opaque_callback_data: e.bizOpaque } : {}),
      ...(e.ctaPayload !== undefined ? { cta_payload: e.ctaPayload } : {}),
      ...(e.deeplinkPayload !== undefined ? { deeplink_payload: e.deeplinkPayload } : {}),
    }],
    ...(e.errors?.length
      ? { errors: e.errors.map((x) => ({ code: x.code, message: x.message, ...(e.href ? { href: e.href } : {}), error_data: { details: x.details } })) }
      : {}),
  });
}

export interface PermissionReplyEvent {
  messageId: string;
  user: UserIdentity;
  at: number;
  response: 'accept' | 'reject';
  permanent: boolean;
  /** Unix ms; only for an accepted temporary permission. */
  expiresAt?: number;
  source: 'user_action' | 'automatic';
  /** wamid of the request, or wacid of the user's call; absent for profile grants and auto-revokes. */
  contextId?: string;
}

/** call_permission_reply on the `messages` field (docs/whatsapp-calling.md#permission-replies). */
export function permissionReplyPayload(biz: BusinessIdentity, e: PermissionReplyEvent): Record<string, unknown> {
  return envelope(biz, 'messages', {
    contacts: [contactOf(e.user)],
    messages: [{
      from: e.user.number,
      ...(e.user.userId ? { from_user_id: e.user.userId } : {}),
      id: e.messageId,
      timestamp: unixSeconds(e.at),
      ...(e.contextId ? { context: { from: e.user.number, id: e.contextId } } : {}),
      type: 'interactive',
      interactive: {
        type: 'call_permission_reply',
        call_permission_reply: {
          response: e.response,
          is_permanent: e.permanent,
          ...(e.expiresAt !== undefined ? { expiration_timestamp: unixSeconds(e.expiresAt) } : {}),
          response_source: e.source,
        },
      },
    }],
  });
}
