/**
 * Wire shapes of Meta WhatsApp Cloud API webhook deliveries, as documented (docs/whatsapp-calling.md#webhooks) and as
 * seen in Meta's samples. These describe what Meta *should* send; the parser never trusts them
 * and reads every field through coerce.ts. Their one use in code is META_KNOWN_FIELDS below, the keys
 * the parser knows. The simulator does not use them: it writes its deliveries in Meta's sample
 * format itself (src/simulator/webhook-payloads.ts).
 *
 * Numbers and timestamps may be strings or numbers anywhere (docs/whatsapp-calling.md#graph-api-basics), hence `StrNum`.
 */

import type { CallDirection } from '../../calls/ports/whatsapp-events.js';
export type StrNum = string | number;

/** Top-level POST body (docs/whatsapp-calling.md#envelope). */
export interface MetaWebhookDelivery {
  /** Always "whatsapp_business_account" for WhatsApp. */
  object: string;
  entry: MetaWebhookEntry[];
}

export interface MetaWebhookEntry {
  /** WABA id. */
  id: string;
  /** Unix seconds; present on some fields (e.g. account_update). */
  time?: StrNum;
  changes: MetaWebhookChange[];
}

export type MetaWebhookField = 'calls' | 'messages' | 'account_update' | 'account_settings_update' | (string & {});

export interface MetaWebhookChange {
  field: MetaWebhookField;
  value: MetaCallsValue | MetaMessagesValue | MetaAccountUpdateValue | MetaAccountSettingsUpdateValue;
}

export interface MetaMetadata {
  display_phone_number?: StrNum;
  phone_number_id?: StrNum;
}

/** contacts[] (docs/whatsapp-calling.md#connect-webhook, #user-identities): profile fields and user_id were added 2026-05-28. */
export interface MetaContact {
  wa_id?: StrNum;
  user_id?: string;
  parent_user_id?: string;
  profile?: { name?: string; username?: string; country_code?: string };
}

/** An error object in terminate webhooks, at value.errors and/or calls[].errors (docs/whatsapp-calling.md#terminate-webhook, #doc-conflicts). */
export interface MetaWebhookError {
  code: StrNum;
  title?: string;
  message?: string;
  href?: string;
  error_data?: { details?: string };
}

/** `session` of a connect webhook (docs/whatsapp-calling.md#connect-webhook). */
export interface MetaSession {
  sdp_type: 'offer' | 'answer';
  sdp: string;
}

/**
 * Legacy `connection.webrtc.sdp`: a JSON *string* holding {"sdp": "...", "type": "offer"|"answer"}
 * (Meta's business-initiated connect sample carries it beside `session`).
 */
export interface MetaLegacyConnection {
  webrtc?: { sdp?: string };
}

/** calls[] of field `calls` (docs/whatsapp-calling.md#connect-webhook, #terminate-webhook). */
export interface MetaCall {
  id: string;
  /** connect | terminate; also call_created (SIP mode), call_recording_available, … (unsupported). */
  event: string;
  timestamp: StrNum;
  direction?: CallDirection;
  /** User number (user-initiated) or business number (business-initiated); may be "" (BSUID users). */
  from?: StrNum;
  to?: StrNum;
  from_user_id?: string;
  to_user_id?: string;
  from_parent_user_id?: string;
  session?: MetaSession;
  connection?: MetaLegacyConnection;
  /** terminate: COMPLETED | FAILED, in any case (docs/whatsapp-calling.md#doc-conflicts). */
  status?: string;
  start_time?: StrNum;
  end_time?: StrNum;
  duration?: StrNum;
  errors?: MetaWebhookError[];
  biz_opaque_callback_data?: string;
  cta_payload?: string;
  deeplink_payload?: string;
}

/** statuses[] of field `calls`, business-initiated calls only (docs/whatsapp-calling.md#status-webhook). */
export interface MetaCallStatus {
  id: string;
  type: 'call' | (string & {});
  status: 'RINGING' | 'ACCEPTED' | 'REJECTED' | (string & {});
  timestamp: StrNum;
  recipient_id?: StrNum;
  recipient_user_id?: string;
  biz_opaque_callback_data?: string;
}

export interface MetaCallsValue {
  messaging_product?: 'whatsapp';
  metadata?: MetaMetadata;
  contacts?: MetaContact[];
  calls?: MetaCall[];
  statuses?: MetaCallStatus[];
  errors?: MetaWebhookError[];
}

/** interactive.call_permission_reply (docs/whatsapp-calling.md#permission-replies). */
export interface MetaCallPermissionReply {
  response: 'accept' | 'reject' | (string & {});
  is_permanent?: boolean | 'true' | 'false';
  /** Unix seconds; only for an accepted temporary permission. */
  expiration_timestamp?: StrNum;
  response_source?: 'user_action' | 'automatic' | (string & {});
}

/** messages[] of field `messages`; only call permission replies are used (docs/whatsapp-calling.md#permission-replies). */
export interface MetaMessage {
  id: string;
  from?: StrNum;
  from_user_id?: string;
  from_parent_user_id?: string;
  timestamp: StrNum;
  /** "interactive" for permission replies, "audio" for voicemail (docs/whatsapp-calling.md#events-watrunk-ignores). */
  type?: string;
  context?: { from?: StrNum; id?: string };
  interactive?: { type: string; call_permission_reply?: MetaCallPermissionReply };
}

export interface MetaMessagesValue {
  messaging_product?: 'whatsapp';
  metadata?: MetaMetadata;
  contacts?: MetaContact[];
  messages?: MetaMessage[];
  statuses?: unknown[];
}

/** field `account_update` (docs/whatsapp-calling.md#account-notices): ACCOUNT_VIOLATION, ACCOUNT_RESTRICTION, … */
export interface MetaAccountUpdateValue {
  event: string;
  phone_number?: StrNum;
  timestamp?: StrNum;
  violation_info?: { violation_type?: string };
  restriction_info?: { restriction_type?: string; expiration?: StrNum }[];
  [key: string]: unknown;
}

/** field `account_settings_update` (docs/whatsapp-calling.md#account-notices). */
export interface MetaAccountSettingsUpdateValue {
  messaging_product?: 'whatsapp';
  timestamp?: StrNum;
  /** e.g. PHONE_NUMBER_SETTINGS */
  type: string;
  phone_number_settings?: { phone_number_id?: StrNum; calling?: Record<string, unknown> };
  [key: string]: unknown;
}

/**
 * The documented keys of each wire object. The parser reports any other key in `ignored`
 * ("unknown field"), so a new Meta field shows up in the logs instead of vanishing silently.
 * Typed against the interfaces above, so a key cannot be listed that the types do not know.
 */
export const META_KNOWN_FIELDS = {
  delivery: ['object', 'entry'] satisfies (keyof MetaWebhookDelivery)[],
  entry: ['id', 'time', 'changes'] satisfies (keyof MetaWebhookEntry)[],
  change: ['field', 'value'] satisfies (keyof MetaWebhookChange)[],
  callsValue: ['messaging_product', 'metadata', 'contacts', 'calls', 'statuses', 'errors'] satisfies (keyof MetaCallsValue)[],
  messagesValue: ['messaging_product', 'metadata', 'contacts', 'messages', 'statuses'] satisfies (keyof MetaMessagesValue)[],
  call: [
    'id', 'event', 'timestamp', 'direction', 'from', 'to', 'from_user_id', 'to_user_id', 'from_parent_user_id',
    'session', 'connection', 'status', 'start_time', 'end_time', 'duration', 'errors',
    'biz_opaque_callback_data', 'cta_payload', 'deeplink_payload',
  ] satisfies (keyof MetaCall)[],
  callStatus: [
    'id', 'type', 'status', 'timestamp', 'recipient_id', 'recipient_user_id', 'biz_opaque_callback_data',
  ] satisfies (keyof MetaCallStatus)[],
  message: [
    'id', 'from', 'from_user_id', 'from_parent_user_id', 'timestamp', 'type', 'context', 'interactive',
  ] satisfies (keyof MetaMessage)[],
  permissionReply: [
    'response', 'is_permanent', 'expiration_timestamp', 'response_source',
  ] satisfies (keyof MetaCallPermissionReply)[],
} as const;
