import type {
  AccountNotice, CallAnswered, CallDirection, CallEvent, CallOffered, CallTerminated, PermissionReplied,
  WhatsAppErrorInfo, WhatsAppEvent, WhatsAppUser,
} from '../../calls/ports/whatsapp-events.js';
import {
  asArray, asBoolean, asNonEmptyString, asNumber, asPhoneDigits, asRecord, asString, describeValue, withoutUndefined,
  type JsonRecord,
} from './coerce.js';
import { META_KNOWN_FIELDS as KNOWN } from './webhook-types.js';

/** Something in a delivery that produced no event, e.g. { where: 'entry[0].changes[1]', reason: 'unsupported field "x"' }. */
export interface IgnoredContent { where: string; reason: string }

export interface ParsedDelivery { events: WhatsAppEvent[]; ignored: IgnoredContent[] }

const WABA_OBJECT = 'whatsapp_business_account';
const FIELDS = new Set(['calls', 'messages', 'account_update', 'account_settings_update']);
/** Call events Meta documents but watrunk does not use (docs/whatsapp-calling.md#events-watrunk-ignores): recording, transcription, SIP mode. */
const UNSUPPORTED_CALL_EVENTS = new Set(['call_recording_available', 'call_transcription_available', 'call_created']);
const CALL_STATUS_KINDS = { RINGING: 'call.ringing', ACCEPTED: 'call.accepted', REJECTED: 'call.rejected' } as const;

/** One contacts[] item (docs/whatsapp-calling.md#connect-webhook): the user's details, keyed by wa_id and/or user_id. */
type Contact = Omit<WhatsAppUser, 'number'> & { waId: string };

/** What every item of one change's value shares; displayNumber is metadata.display_phone_number in digits. */
interface ValueContext { where: string; phoneNumberId?: string; displayNumber: string; contacts: Contact[]; out: ParsedDelivery }

/**
 * Turns one Meta webhook delivery (the parsed JSON body; signature already checked) into neutral
 * WhatsApp events (docs/whatsapp-calling.md#webhooks). Tolerant by design ("parse tolerantly, log
 * unknowns, fail safe", docs/whatsapp-calling.md#doc-conflicts): it never throws, and everything
 * it does not use is listed in `ignored` with a path such as `entry[0].changes[1].value.calls[0]`
 * and the reason.
 *
 * Timestamps: a missing or unparsable timestamp becomes 0. The dispatcher treats 0 as "unknown
 * age", so such an event is neither dropped as stale nor trusted as fresh; the 0 is also noted
 * in `ignored`.
 */
export function parseMetaWebhook(body: unknown): ParsedDelivery {
  const out: ParsedDelivery = { events: [], ignored: [] };
  try {
    parseDelivery(body, out);
  } catch (err) {
    // Unreachable for JSON.parse output; a last guard for exotic objects (throwing getters, proxies).
    note(out, '$', `parser error: ${err instanceof Error ? err.message : String(err)}`);
  }
  return out;
}

function parseDelivery(body: unknown, out: ParsedDelivery): void {
  const doc = asRecord(body);
  if (!doc) return note(out, '$', `delivery is ${describeValue(body)}, not a JSON object`);
  if (doc['object'] !== WABA_OBJECT) {
    return note(out, 'object', `object is ${describeValue(doc['object'])}, expected "${WABA_OBJECT}": delivery ignored`);
  }
  unknownKeys(doc, KNOWN.delivery, '', out);
  eachItem(doc, 'entry', '', out, true, (entry, entryWhere) => {
    unknownKeys(entry, KNOWN.entry, entryWhere, out);
    eachItem(entry, 'changes', entryWhere, out, true, (change, where) => parseChange(change, entry, where, out));
  });
}

function parseChange(change: JsonRecord, entry: JsonRecord, where: string, out: ParsedDelivery): void {
  unknownKeys(change, KNOWN.change, where, out);
  const field = asString(change['field']);
  if (field === undefined || !FIELDS.has(field)) return note(out, where, `unsupported field ${describeValue(change['field'])}`);
  const value = asRecord(change['value']);
  if (!value) return note(out, `${where}.value`, `value is ${describeValue(change['value'])}, not an object`);
  if (field === 'calls') parseCallsValue(value, valueContext(value, `${where}.value`, out));
  else if (field === 'messages') parseMessagesValue(value, valueContext(value, `${where}.value`, out));
  else parseAccountNotice(field, value, entry, `${where}.value`, out);
}

function valueContext(value: JsonRecord, where: string, out: ParsedDelivery): ValueContext {
  const metadata = asRecord(value['metadata']);
  const contacts = (asArray(value['contacts']) ?? []).flatMap((raw): Contact[] => {
    const c = asRecord(raw);
    const profile = asRecord(c?.['profile']);
    return c ? [withoutUndefined({
      waId: asPhoneDigits(c['wa_id']) ?? '',
      userId: asNonEmptyString(c['user_id']),
      profileName: asNonEmptyString(profile?.['name']),
      username: asNonEmptyString(profile?.['username']),
      countryCode: asNonEmptyString(profile?.['country_code']),
    })] : [];
  });
  return {
    where, contacts, out,
    phoneNumberId: asNonEmptyString(metadata?.['phone_number_id'])?.trim(),
    displayNumber: asPhoneDigits(metadata?.['display_phone_number']) ?? '',
  };
}

// ---- field "calls" (docs/whatsapp-calling.md#webhooks)

function parseCallsValue(value: JsonRecord, ctx: ValueContext): void {
  unknownKeys(value, KNOWN.callsValue, ctx.where, ctx.out);
  const valueErrors = parseErrors(value['errors'], `${ctx.where}.errors`, ctx.out);
  eachItem(value, 'calls', ctx.where, ctx.out, false, (call, where) => parseCall(call, valueErrors, ctx, where));
  eachItem(value, 'statuses', ctx.where, ctx.out, false, (status, where) => parseStatus(status, ctx, where));
}

function parseCall(call: JsonRecord, valueErrors: WhatsAppErrorInfo[], ctx: ValueContext, where: string): void {
  const { out } = ctx;
  const event = asString(call['event'])?.trim().toLowerCase();
  if (event !== 'connect' && event !== 'terminate') {
    const known = event !== undefined && UNSUPPORTED_CALL_EVENTS.has(event);
    return note(out, where, `${known ? 'unsupported' : 'unknown'} event ${describeValue(call['event'])}`);
  }
  const callId = asNonEmptyString(call['id'])?.trim();
  if (!callId) return note(out, where, `${event} without a valid call id`);
  if (!ctx.phoneNumberId) return note(out, where, `${event} ignored: value.metadata.phone_number_id is missing`);
  unknownKeys(call, KNOWN.call, where, out);
  const base = { phoneNumberId: ctx.phoneNumberId, callId, timestamp: timestampOf(call['timestamp'], `${where}.timestamp`, out) };
  const declared = directionOf(call['direction'], where, out);

  if (event === 'terminate') {
    const sides = callSides(call, declared, ctx, where);
    const status = asNonEmptyString(call['status'])?.trim().toUpperCase(); // case varies (docs/whatsapp-calling.md#doc-conflicts)
    if (!status) note(out, `${where}.status`, 'terminate without a status: using "UNKNOWN"');
    const terminated: CallTerminated = {
      kind: 'call.terminated', ...base, direction: declared, user: sides.user,
      businessNumber: sides.businessNumber || undefined, status: status ?? 'UNKNOWN',
      startTime: optionalNumber(call, 'start_time', where, out),
      endTime: optionalNumber(call, 'end_time', where, out),
      durationS: optionalNumber(call, 'duration', where, out),
      // docs/whatsapp-calling.md#doc-conflicts: errors sit at value.errors and/or calls[].errors; take both, without repeats.
      errors: mergeErrors(valueErrors, parseErrors(call['errors'], `${where}.errors`, out)),
      trackingData: asNonEmptyString(call['biz_opaque_callback_data']),
      ctaPayload: asNonEmptyString(call['cta_payload']),
      deeplinkPayload: asNonEmptyString(call['deeplink_payload']),
    };
    out.events.push(withoutUndefined(terminated));
    return;
  }

  const sdp = connectSdp(call, where, out);
  if (!sdp) return note(out, where, 'connect without a usable SDP (session.sdp or connection.webrtc.sdp)');
  // docs/whatsapp-calling.md#connect-webhook: without a direction, sdp_type decides: "offer" is Meta offering a user's call.
  const inferred: CallDirection | undefined =
    sdp.type === 'offer' ? 'USER_INITIATED' : sdp.type === 'answer' ? 'BUSINESS_INITIATED' : undefined;
  if (declared && inferred && declared !== inferred) {
    note(out, `${where}.direction`, `direction ${declared} disagrees with SDP type "${sdp.type}": direction wins`);
  }
  const direction = declared ?? inferred;
  if (!direction) return note(out, where, 'connect without a direction or SDP type: cannot tell offer from answer');
  const sides = callSides(call, direction, ctx, where);
  const common = { ...base, user: sides.user, businessNumber: sides.businessNumber };
  if (direction === 'USER_INITIATED') {
    const offered: CallOffered = {
      kind: 'call.offered', ...common, direction, sdpOffer: sdp.sdp,
      ctaPayload: asNonEmptyString(call['cta_payload']),
      deeplinkPayload: asNonEmptyString(call['deeplink_payload']),
    };
    out.events.push(withoutUndefined(offered));
    return;
  }
  const answered: CallAnswered = {
    kind: 'call.answered', ...common, direction, sdpAnswer: sdp.sdp,
    trackingData: asNonEmptyString(call['biz_opaque_callback_data']),
  };
  out.events.push(withoutUndefined(answered));
}

/** Call status webhook (docs/whatsapp-calling.md#status-webhook). Statuses of other types (message statuses) are not ours. */
function parseStatus(status: JsonRecord, ctx: ValueContext, where: string): void {
  const { out } = ctx;
  const type = asString(status['type'])?.trim().toLowerCase();
  if (type !== 'call') return note(out, where, `status of type ${describeValue(status['type'])} is not a call status`);
  const callId = asNonEmptyString(status['id'])?.trim();
  if (!callId) return note(out, where, 'call status without a valid call id');
  const value = asString(status['status'])?.trim().toUpperCase() ?? ''; // any case accepted
  const kind = Object.hasOwn(CALL_STATUS_KINDS, value) ? CALL_STATUS_KINDS[value as keyof typeof CALL_STATUS_KINDS] : undefined;
  if (!kind) return note(out, where, `unknown call status ${describeValue(status['status'])}`);
  if (!ctx.phoneNumberId) return note(out, where, 'call status ignored: value.metadata.phone_number_id is missing');
  unknownKeys(status, KNOWN.callStatus, where, out);
  const event: CallEvent = {
    kind, phoneNumberId: ctx.phoneNumberId, callId, timestamp: timestampOf(status['timestamp'], `${where}.timestamp`, out),
    user: withContact(party(status['recipient_id'], status['recipient_user_id']), ctx.contacts),
    trackingData: asNonEmptyString(status['biz_opaque_callback_data']),
  };
  out.events.push(withoutUndefined(event));
}

function directionOf(v: unknown, where: string, out: ParsedDelivery): CallDirection | undefined {
  if (v === undefined || v === null) return undefined;
  const s = asString(v)?.trim().toUpperCase();
  if (s === 'USER_INITIATED' || s === 'BUSINESS_INITIATED') return s;
  note(out, `${where}.direction`, `unknown direction ${describeValue(v)}: not used`);
  return undefined;
}

type ConnectSdp = { sdp: string; type?: 'offer' | 'answer' };

/** docs/whatsapp-calling.md#connect-webhook: read `session`; only without a usable one fall back to legacy `connection.webrtc.sdp`. */
function connectSdp(call: JsonRecord, where: string, out: ParsedDelivery): ConnectSdp | undefined {
  const session = asRecord(call['session']);
  const sessionType = sdpType(session?.['sdp_type']);
  const sdp = sdpText(session?.['sdp']);
  if (sdp) return withoutUndefined({ sdp, type: sessionType });
  const legacy = asRecord(asRecord(call['connection'])?.['webrtc'])?.['sdp'];
  if (legacy === undefined) return undefined;
  let doc: unknown = legacy;
  if (typeof legacy === 'string') {
    // Legacy shape: a JSON *string* {"sdp": "...", "type": "offer"|"answer"}; tolerate a bare SDP too.
    if (legacy.trimStart().startsWith('v=')) return withoutUndefined({ sdp: legacy, type: sessionType });
    try {
      doc = JSON.parse(legacy) as unknown;
    } catch {
      note(out, `${where}.connection.webrtc.sdp`, 'legacy SDP is neither JSON nor SDP text');
      return undefined;
    }
  }
  const rec = asRecord(doc);
  const legacySdp = sdpText(rec?.['sdp']);
  return legacySdp ? withoutUndefined({ sdp: legacySdp, type: sdpType(rec?.['type']) ?? sessionType }) : undefined;
}

/** SDP must be real, non-blank text; a number or object is not an SDP. */
function sdpText(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

function sdpType(v: unknown): 'offer' | 'answer' | undefined {
  const s = asString(v)?.trim().toLowerCase();
  return s === 'offer' || s === 'answer' ? s : undefined;
}

/**
 * The user and business side of a call (docs/whatsapp-calling.md#connect-webhook): user-initiated → the user is `from`;
 * business-initiated → the user is `to`. BSUID fields (docs/whatsapp-calling.md#user-identities) follow their side; phone
 * fields may be "". Meta's own samples sometimes swap from/to, so when the side that should be
 * the business is not metadata.display_phone_number but the other side is, the sides are swapped
 * (and noted). Without a direction (terminate), the display number or the BSUID field decides.
 */
function callSides(call: JsonRecord, direction: CallDirection | undefined, ctx: ValueContext, where: string) {
  const from = party(call['from'], call['from_user_id']);
  const to = party(call['to'], call['to_user_id']);
  const display = ctx.displayNumber;
  let userIsFrom: boolean;
  if (direction) {
    userIsFrom = direction === 'USER_INITIATED';
    const [user, business] = userIsFrom ? [from, to] : [to, from];
    if (display && user.number === display && business.number !== display) {
      userIsFrom = !userIsFrom;
      note(ctx.out, where, `from/to look swapped for a ${direction} call: the business side was matched by metadata.display_phone_number`);
    }
  } else if (display && (from.number === display || to.number === display)) {
    userIsFrom = to.number === display;
  } else {
    userIsFrom = !(to.userId && !from.userId);
  }
  const [user, business] = userIsFrom ? [from, to] : [to, from];
  return { user: withContact(user, ctx.contacts), businessNumber: business.number || display };
}

/**
 * One side of a call or message: a phone field (digits, or "" for username users) and its BSUID
 * field (docs/whatsapp-calling.md#user-identities). A phone field holding letters is a BSUID, not a number: it is kept as the
 * user id (if none was given) rather than being reduced to its digits.
 */
function party(phoneField: unknown, userIdField: unknown): { number: string; userId: string | undefined } {
  const userId = asNonEmptyString(userIdField)?.trim();
  const phone = asString(phoneField)?.trim() ?? '';
  if (/[A-Za-z]/.test(phone)) return { number: '', userId: userId ?? phone };
  return { number: asPhoneDigits(phone) ?? '', userId };
}

/** Adds contacts[] details (docs/whatsapp-calling.md#connect-webhook): matched by wa_id or user_id, else the only contact unless it contradicts. */
function withContact(user: { number: string; userId: string | undefined }, contacts: Contact[]): WhatsAppUser {
  const matches = (c: Contact) => (user.number !== '' && c.waId === user.number) || (!!user.userId && c.userId === user.userId);
  const fits = (c: Contact) =>
    (user.number === '' || c.waId === '' || c.waId === user.number) && (!user.userId || !c.userId || c.userId === user.userId);
  const only = contacts.length === 1 ? contacts[0] : undefined;
  const contact = contacts.find(matches) ?? (only && fits(only) ? only : undefined);
  return withoutUndefined({
    number: user.number || contact?.waId || '',
    userId: user.userId ?? contact?.userId,
    profileName: contact?.profileName,
    username: contact?.username,
    countryCode: contact?.countryCode,
  });
}

function parseErrors(v: unknown, where: string, out: ParsedDelivery): WhatsAppErrorInfo[] {
  if (v === undefined || v === null) return [];
  const list = asArray(v);
  if (!list) return note(out, where, `errors is ${describeValue(v)}, not an array`), [];
  return list.flatMap((raw, i): WhatsAppErrorInfo[] => {
    const e = asRecord(raw);
    const code = asNumber(e?.['code']);
    if (!e || code === undefined) return note(out, `${where}[${i}]`, 'error without a numeric code'), [];
    return [withoutUndefined({
      code,
      message: asNonEmptyString(e['message']) ?? asNonEmptyString(e['title']),
      details: asNonEmptyString(asRecord(e['error_data'])?.['details']),
      href: asNonEmptyString(e['href']),
    })];
  });
}

/** Both lists, without repeating an error that appears in both places. */
function mergeErrors(a: WhatsAppErrorInfo[], b: WhatsAppErrorInfo[]): WhatsAppErrorInfo[] {
  const key = (e: WhatsAppErrorInfo) => JSON.stringify([e.code, e.message, e.details, e.href]);
  return [...new Map([...a, ...b].map((e) => [key(e), e] as const)).values()];
}

// ---- field "messages" (docs/whatsapp-calling.md#permission-replies)

function parseMessagesValue(value: JsonRecord, ctx: ValueContext): void {
  unknownKeys(value, KNOWN.messagesValue, ctx.where, ctx.out);
  eachItem(value, 'messages', ctx.where, ctx.out, false, (msg, where) => parseMessage(msg, ctx, where));
  eachItem(value, 'statuses', ctx.where, ctx.out, false, (status, where) => parseStatus(status, ctx, where));
}

function parseMessage(msg: JsonRecord, ctx: ValueContext, where: string): void {
  const type = asString(msg['type'])?.trim().toLowerCase();
  const interactive = asRecord(msg['interactive']);
  const interactiveType = asString(interactive?.['type'])?.trim().toLowerCase();
  // Meta's permission-reply samples omit the message-level "type":"interactive" (other Meta examples have it): accept both.
  if (interactiveType === 'call_permission_reply' && (type === undefined || type === 'interactive')) {
    return parsePermissionReply(msg, ctx, where);
  }
  if (type === 'audio') return note(ctx.out, where, 'audio message (e.g. a voicemail) is not handled');
  const detail = interactive ? ` (interactive ${describeValue(interactive['type'])})` : '';
  note(ctx.out, where, `message of type ${describeValue(msg['type'])}${detail} is not handled`);
}

function parsePermissionReply(msg: JsonRecord, ctx: ValueContext, where: string): void {
  const { out } = ctx;
  const replyWhere = `${where}.interactive.call_permission_reply`;
  const reply = asRecord(asRecord(msg['interactive'])?.['call_permission_reply']);
  if (!reply) return note(out, replyWhere, 'call_permission_reply is missing or not an object');
  const messageId = asNonEmptyString(msg['id'])?.trim();
  if (!messageId) return note(out, where, 'call permission reply without a valid message id');
  const response = asString(reply['response'])?.trim().toLowerCase();
  if (response !== 'accept' && response !== 'reject') {
    return note(out, `${replyWhere}.response`, `unknown permission response ${describeValue(reply['response'])}`);
  }
  if (!ctx.phoneNumberId) return note(out, where, 'call permission reply ignored: value.metadata.phone_number_id is missing');
  unknownKeys(msg, KNOWN.message, where, out);
  unknownKeys(reply, KNOWN.permissionReply, replyWhere, out);
  // docs/whatsapp-calling.md#permission-replies: is_permanent is false for temporary grants; accept a boolean or "true"/"false".
  const permanent = asBoolean(reply['is_permanent']);
  if (permanent === undefined && reply['is_permanent'] !== undefined) {
    note(out, `${replyWhere}.is_permanent`, `is_permanent ${describeValue(reply['is_permanent'])} is not a boolean: treated as false`);
  }
  const source = asNonEmptyString(reply['response_source'])?.trim().toLowerCase();
  if (!source) note(out, `${replyWhere}.response_source`, 'response_source missing: using "unknown"');
  const event: PermissionReplied = {
    kind: 'permission.replied', phoneNumberId: ctx.phoneNumberId, messageId,
    timestamp: timestampOf(msg['timestamp'], `${where}.timestamp`, out),
    user: withContact(party(msg['from'], msg['from_user_id']), ctx.contacts),
    response, permanent: permanent ?? false,
    expiresAt: optionalNumber(reply, 'expiration_timestamp', replyWhere, out),
    source: source ?? 'unknown',
    // Absent for profile grants and automatic revokes (docs/whatsapp-calling.md#permission-replies).
    contextId: asNonEmptyString(asRecord(msg['context'])?.['id']),
  };
  out.events.push(withoutUndefined(event));
}

// ---- fields "account_update" and "account_settings_update" (docs/whatsapp-calling.md#account-notices)

function parseAccountNotice(field: string, value: JsonRecord, entry: JsonRecord, where: string, out: ParsedDelivery): void {
  // account_update names its event in `event`; account_settings_update in `type` (PHONE_NUMBER_SETTINGS).
  const [first, second] = field === 'account_update' ? ['event', 'type'] : ['type', 'event'];
  const event = asNonEmptyString(value[first])?.trim() ?? asNonEmptyString(value[second])?.trim();
  if (!event) note(out, where, `${field} without ${first}: using "UNKNOWN"`);
  const phoneNumberId = asNonEmptyString(asRecord(value['phone_number_settings'])?.['phone_number_id'])
    ?? asNonEmptyString(asRecord(value['metadata'])?.['phone_number_id']);
  const notice: AccountNotice = {
    kind: 'account.notice',
    // WABA-level notices carry no number: '' (the dispatcher does not route account notices by number).
    phoneNumberId: phoneNumberId?.trim() ?? '',
    accountId: asNonEmptyString(entry['id'])?.trim(),
    timestamp: asNumber(value['timestamp']) ?? timestampOf(entry['time'], `${where}.timestamp`, out),
    event: event ?? 'UNKNOWN',
    raw: value,
  };
  out.events.push(withoutUndefined(notice));
}

// ---- shared

/** Calls fn for each object in parent[key]; notes a non-array (or a missing one when required) and non-object items. */
function eachItem(
  parent: JsonRecord, key: string, parentWhere: string, out: ParsedDelivery, required: boolean,
  fn: (item: JsonRecord, where: string) => void,
): void {
  const raw = parent[key];
  const path = parentWhere ? `${parentWhere}.${key}` : key;
  if (raw === undefined && !required) return;
  const list = asArray(raw);
  if (!list) return note(out, path, `${key} is ${describeValue(raw)}, not an array`);
  list.forEach((item, k) => {
    const rec = asRecord(item);
    if (rec) fn(rec, `${path}[${k}]`);
    else note(out, `${path}[${k}]`, `item is ${describeValue(item)}, not an object`);
  });
}

/** Event timestamp in Unix seconds; 0 when missing or invalid (the dispatcher reads 0 as "unknown age"). */
function timestampOf(v: unknown, path: string, out: ParsedDelivery): number {
  const n = asNumber(v);
  if (n !== undefined) return n;
  note(out, path, `timestamp ${describeValue(v)} is missing or invalid: using 0 (unknown age)`);
  return 0;
}

/** A numeric field that may be absent (start_time, end_time, duration, expiration_timestamp). */
function optionalNumber(obj: JsonRecord, key: string, where: string, out: ParsedDelivery): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  const n = asNumber(v);
  if (n === undefined) note(out, `${where}.${key}`, `${key} ${describeValue(v)} is not a number: not used`);
  return n;
}

function unknownKeys(obj: JsonRecord, known: readonly string[], where: string, out: ParsedDelivery): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) note(out, where ? `${where}.${key}` : key, 'unknown field, not used');
  }
}

function note(out: ParsedDelivery, where: string, reason: string): void {
  out.ignored.push({ where, reason });
}
