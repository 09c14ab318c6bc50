import type { CallDirection, CallEvent, CallTerminated, WhatsAppUser } from '../../calls/ports/whatsapp-events.js';
import { asArray, asNonEmptyString, asNumber, asRecord, asString, describeValue, withoutUndefined, type JsonRecord } from '../meta/coerce.js';
import { parseMetaWebhook, type ParsedDelivery } from '../meta/webhook-parser.js';
import { errorsOf, fieldReader, partyOf, sessionOf, unixSecondsOf, type FieldReader } from './cams-event-fields.js';

/**
 * CAMS call events → neutral WhatsApp events (docs/providers.md#alibaba-cloud-cams). The payload CAMS
 * posts to a number's CallingCallbackUrl is NOT publicly documented, so two shapes are accepted:
 *  (a) a Meta webhook body ({"object":"whatsapp_business_account","entry":[…]}), or a JSON array of
 *      them: handed to the Meta parser unchanged;
 *  (b) CAMS style: a JSON array (or one object) of PascalCase items such as
 *      {CallId, From, To, Event | Status, Direction, Session: {SdpType, Sdp}, Timestamp (ms)}.
 * Anything else is shape 'unknown', with its top-level key names (never values) for one warn line.
 * Never throws. Duplicates are left to the dispatcher (eventKey in the ports).
 */

export type CamsDeliveryShape = 'meta' | 'cams' | 'unknown';

export interface ParsedCamsDelivery extends ParsedDelivery {
  shape: CamsDeliveryShape;
  /** For shape 'unknown': topLevelKeys(body). */
  keys?: string[];
}

export interface CamsEventParserOptions {
  /**
   * The phoneNumberId the dispatcher routes by, for a business number (digits) and the item's
   * CustSpaceId; undefined when it is not ours. Default: the business number's digits. With a
   * resolver, it also tells which side of a call without a direction is the business.
   */
  phoneNumberIdFor?: (businessNumber: string, custSpaceId: string | undefined) => string | undefined;
}

const MAX_KEYS = 50;

/** Top-level key names of a delivery (of its items, for an array), sorted, at most 50. Never values. */
export function topLevelKeys(body: unknown): string[] {
  const objects = Array.isArray(body) ? body.slice(0, MAX_KEYS) : [body];
  const keys = new Set<string>();
  for (const o of objects) for (const k of Object.keys(asRecord(o) ?? {})) keys.add(k);
  return [...keys].sort().slice(0, MAX_KEYS);
}

const isMetaEnvelope = (v: unknown): boolean => {
  const r = asRecord(v);
  return !!r && (r['object'] === 'whatsapp_business_account' || Array.isArray(r['entry']));
};
const hasCallId = (v: unknown): boolean => {
  const r = asRecord(v);
  return !!r && asNonEmptyString(fieldReader(r)('CallId')) !== undefined;
};

export function parseCamsDelivery(body: unknown, opts: CamsEventParserOptions = {}): ParsedCamsDelivery {
  try {
    if (isMetaEnvelope(body)) return { shape: 'meta', ...parseMetaWebhook(body) };
    const list = asArray(body);
    if (list && list.length > 0 && list.every(isMetaEnvelope)) {
      const out: ParsedCamsDelivery = { shape: 'meta', events: [], ignored: [] };
      list.forEach((item, i) => {
        const one = parseMetaWebhook(item);
        out.events.push(...one.events);
        out.ignored.push(...one.ignored.map((ig) => ({ where: `[${i}].${ig.where}`, reason: ig.reason })));
      });
      return out;
    }
    const items = list ?? (hasCallId(body) ? [body] : undefined);
    if (items && (items.length === 0 || items.some(hasCallId))) {
      const out: ParsedCamsDelivery = { shape: 'cams', events: [], ignored: [] };
      items.forEach((item, i) => parseItem(item, list ? `[${i}]` : '$', opts, out));
      return out;
    }
  } catch (err) {
    // Unreachable for JSON.parse output; a last guard for exotic objects.
    return { shape: 'unknown', events: [], ignored: [{ where: '$', reason: `parser error: ${(err as Error).message}` }], keys: [] };
  }
  return {
    shape: 'unknown', events: [], keys: topLevelKeys(body),
    ignored: [{ where: '$', reason: `delivery is ${describeValue(body)} of no known shape (neither Meta's webhook nor CAMS call items)` }],
  };
}

const TERMINAL_STATUSES = new Set(['COMPLETED', 'FAILED', 'TERMINATED', 'ENDED', 'HANGUP']);
const STATUS_KINDS = { RINGING: 'call.ringing', ACCEPTED: 'call.accepted', REJECTED: 'call.rejected' } as const;
type StatusKind = (typeof STATUS_KINDS)[keyof typeof STATUS_KINDS];
const EVENT_WORDS: Readonly<Record<string, 'connect' | 'terminate' | StatusKind>> = {
  connect: 'connect', terminate: 'terminate', terminated: 'terminate', ended: 'terminate', hangup: 'terminate',
  ringing: 'call.ringing', accepted: 'call.accepted', rejected: 'call.rejected',
};

function parseItem(raw: unknown, where: string, opts: CamsEventParserOptions, out: ParsedCamsDelivery): void {
  const note = (reason: string, at = where) => { out.ignored.push({ where: at, reason }); };
  const item = asRecord(raw);
  if (!item) return note(`item is ${describeValue(raw)}, not an object`);
  const get = fieldReader(item);
  const callId = asNonEmptyString(get('CallId'))?.trim();
  if (!callId) return note('item without a CallId (not a call event)');

  const event = asString(get('Event', 'EventType', 'CallEvent', 'CallAction'))?.trim().toLowerCase();
  const status = asString(get('Status', 'CallStatus'))?.trim().toUpperCase();
  const session = sessionOf(get);
  const kind = kindOf(event, status, session !== undefined);
  if (!kind) return note(`unknown call event (event ${describeValue(event)}, status ${describeValue(status)})`);

  const declared = directionOf(get('Direction', 'CallDirection'), note);
  const inferred: CallDirection | undefined =
    session?.type === 'offer' ? 'USER_INITIATED' : session?.type === 'answer' ? 'BUSINESS_INITIATED' : undefined;
  const direction = declared ?? (kind === 'connect' ? inferred : undefined);
  const custSpaceId = asNonEmptyString(get('CustSpaceId'))?.trim();
  const sides = sidesOf(get, direction, kind, custSpaceId, opts, note);
  const phoneNumberId = sides.businessNumber
    ? (opts.phoneNumberIdFor ? opts.phoneNumberIdFor(sides.businessNumber, custSpaceId) : sides.businessNumber)
    : undefined;
  if (!phoneNumberId) return note(`call ${kind} ignored: business number ${describeValue(sides.businessNumber)} is not known`);

  let timestamp = unixSecondsOf(get('Timestamp', 'EventTime', 'Time'));
  if (timestamp === undefined) {
    note('timestamp missing or invalid: using 0 (unknown age)', `${where}.Timestamp`);
    timestamp = 0;
  }
  const base = { phoneNumberId, callId, timestamp, user: sides.user };
  const trackingData = asNonEmptyString(get('BizOpaqueCallbackData'));

  if (kind === 'connect') {
    if (!session) return note('connect without a usable Session.Sdp');
    if (!direction) return note('connect without a Direction or SdpType: cannot tell offer from answer');
    const ev: CallEvent = direction === 'USER_INITIATED'
      ? { kind: 'call.offered', ...base, direction, businessNumber: sides.businessNumber, sdpOffer: session.sdp }
      : { kind: 'call.answered', ...base, direction, businessNumber: sides.businessNumber, sdpAnswer: session.sdp, trackingData };
    out.events.push(withoutUndefined(ev));
    return;
  }
  if (kind === 'terminate') {
    const finalStatus = status && TERMINAL_STATUSES.has(status) ? status : undefined;
    if (!finalStatus) note(`terminate with status ${describeValue(status)}: using "UNKNOWN"`);
    const ev: CallTerminated = {
      kind: 'call.terminated', ...base, direction, businessNumber: sides.businessNumber,
      status: finalStatus ?? 'UNKNOWN',
      startTime: unixSecondsOf(get('StartTime')), endTime: unixSecondsOf(get('EndTime')),
      durationS: asNumber(get('Duration')),
      errors: errorsOf(get, (reason) => note(reason, `${where}.Errors`)),
      trackingData,
    };
    out.events.push(withoutUndefined(ev));
    return;
  }
  out.events.push(withoutUndefined({ kind, ...base, trackingData } as CallEvent));
}

/** Event word first; without one, a terminal Status ends the call, RINGING/… are statuses, an SDP is a connect. */
function kindOf(event: string | undefined, status: string | undefined, hasSdp: boolean): 'connect' | 'terminate' | StatusKind | undefined {
  const fromEvent = event !== undefined && Object.hasOwn(EVENT_WORDS, event) ? EVENT_WORDS[event] : undefined;
  if (fromEvent) return fromEvent;
  if (event !== undefined && event !== 'status') return undefined;
  if (status && TERMINAL_STATUSES.has(status)) return 'terminate';
  if (status && Object.hasOwn(STATUS_KINDS, status)) return STATUS_KINDS[status as keyof typeof STATUS_KINDS];
  return hasSdp && event === undefined ? 'connect' : undefined;
}

function directionOf(v: unknown, note: (reason: string) => void): CallDirection | undefined {
  if (v === undefined) return undefined;
  const s = asString(v)?.trim().toUpperCase();
  if (s === 'USER_INITIATED' || s === 'BUSINESS_INITIATED') return s;
  note(`unknown direction ${describeValue(v)}: not used`);
  return undefined;
}

/**
 * User and business side. Explicit BusinessNumber/UserNumber (WhatsappCall's own names) win; else
 * From/To by direction (user-initiated: the user is From). Without a direction, a resolver that
 * knows exactly one of From/To picks the business; failing that, statuses (sent for
 * business-initiated calls) take From as the business, and so does a terminate, with a note.
 */
function sidesOf(
  get: FieldReader, direction: CallDirection | undefined, kind: string, custSpaceId: string | undefined,
  opts: CamsEventParserOptions, note: (r: string) => void,
): { user: WhatsAppUser; businessNumber: string } {
  const from = partyOf(get('From'), get('FromUserId'));
  const to = partyOf(get('To'), get('ToUserId'));
  const explicitBusiness = partyOf(get('BusinessNumber'), undefined).number;
  let user = from;
  let business = to.number;
  if (explicitBusiness) {
    business = explicitBusiness;
    const userNumber = get('UserNumber');
    user = userNumber !== undefined ? partyOf(userNumber, undefined) : from.number === explicitBusiness ? to : from;
  } else if (direction) {
    [user, business] = direction === 'USER_INITIATED' ? [from, to.number] : [to, from.number];
  } else {
    const resolve = opts.phoneNumberIdFor;
    const fromIsBusiness = resolve ? resolve(from.number, custSpaceId) !== undefined : false;
    const toIsBusiness = resolve ? resolve(to.number, custSpaceId) !== undefined : false;
    if (fromIsBusiness !== toIsBusiness) [user, business] = toIsBusiness ? [from, to.number] : [to, from.number];
    else {
      [user, business] = [to, from.number];
      if (kind === 'terminate') note('terminate without a Direction: From taken as the business number');
    }
  }
  const profileName = asNonEmptyString(get('ProfileName'));
  return { user: withoutUndefined({ number: user.number, userId: user.userId, profileName }), businessNumber: business };
}
