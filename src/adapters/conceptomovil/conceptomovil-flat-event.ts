import type {
  CallDirection, CallEvent, WhatsAppErrorInfo, WhatsAppUser,
} from '../../calls/ports/whatsapp-events.js';
import {
  asArray, asNonEmptyString, asNumber, asPhoneDigits, asRecord, asString, describeValue, withoutUndefined, type JsonRecord,
} from '../meta/coerce.js';
import type { ParsedDelivery } from '../meta/webhook-parser.js';

/**
 * One flat call event, the shape Concepto Móvil's flattened Meta dialect suggests (its call API is
 * flat: {from, to, action, call_id, sdp}); the real event format is not published
 * (docs/providers.md#concepto-movil), so this reader is deliberately tolerant:
 *   {call_id|callId, from, to, event|status, sdp | session.sdp, sdp_type?, direction?, timestamp,
 *    biz_opaque_callback_data?, duration?, start_time?, end_time?, errors?, phone_number_id?}
 * Numbers may carry '+'; timestamps may be Unix seconds, milliseconds or ISO dates.
 */
export interface FlatEventOptions {
  /** Business numbers (digits) served through Concepto Móvil: tells which side of from/to is the business. */
  businessNumbers?: readonly string[];
  /** The phone_number_id events of a business number are routed by; default: the number's digits. */
  phoneNumberIdFor?: (businessNumber: string) => string | undefined;
}

type Kind = 'connect' | 'terminate' | 'call.ringing' | 'call.accepted' | 'call.rejected';

/** Event / status words, lower-cased. Ambiguous ones ("connected", "answer") are left out on purpose. */
const LABELS: Readonly<Record<string, Kind>> = {
  connect: 'connect',
  terminate: 'terminate', terminated: 'terminate', ended: 'terminate', hangup: 'terminate',
  completed: 'terminate', failed: 'terminate',
  ringing: 'call.ringing',
  accepted: 'call.accepted', accept: 'call.accepted', answered: 'call.accepted',
  rejected: 'call.rejected', reject: 'call.rejected', declined: 'call.rejected',
};

/** Whether a JSON object looks like a flat call event (a call id and an event or status). */
export function isFlatCallEvent(rec: JsonRecord): boolean {
  const callId = asNonEmptyString(rec['call_id']) ?? asNonEmptyString(rec['callId']);
  return callId !== undefined && (rec['event'] !== undefined || rec['status'] !== undefined);
}

/** Unix seconds from seconds, milliseconds (anything above 10^11) or an ISO date. */
export function unixSecondsOf(v: unknown): number | undefined {
  const n = asNumber(v);
  if (n !== undefined) return n > 1e11 ? Math.floor(n / 1000) : n;
  if (typeof v === 'string' && v.trim() !== '') {
    const ms = Date.parse(v);
    if (Number.isFinite(ms)) return Math.floor(ms / 1000);
  }
  return undefined;
}

function label(v: unknown): Kind | undefined {
  const s = asString(v)?.trim().toLowerCase();
  return s !== undefined && Object.hasOwn(LABELS, s) ? LABELS[s] : undefined;
}

/** A phone field: digits, or (holding letters) a BSUID kept as the user id. */
function party(v: unknown): { number: string; userId?: string } {
  const s = asString(v)?.trim() ?? '';
  if (/[A-Za-z]/.test(s)) return { number: '', userId: s };
  return { number: asPhoneDigits(s) ?? '' };
}

function directionOf(rec: JsonRecord, from: string, to: string, opts: FlatEventOptions): CallDirection | undefined {
  const declared = asString(rec['direction'])?.trim().toUpperCase();
  if (declared === 'USER_INITIATED' || declared === 'BUSINESS_INITIATED') return declared;
  const type = asString(rec['sdp_type'] ?? asRecord(rec['session'])?.['sdp_type'] ?? rec['type'])?.trim().toLowerCase();
  if (type === 'offer') return 'USER_INITIATED';
  if (type === 'answer') return 'BUSINESS_INITIATED';
  const business = new Set(opts.businessNumbers ?? []);
  if (to !== '' && business.has(to) && !business.has(from)) return 'USER_INITIATED';
  if (from !== '' && business.has(from) && !business.has(to)) return 'BUSINESS_INITIATED';
  return undefined;
}

function errorsOf(rec: JsonRecord): WhatsAppErrorInfo[] {
  const list = asArray(rec['errors']) ?? (asRecord(rec['error']) ? [rec['error']] : []);
  return list.flatMap((raw): WhatsAppErrorInfo[] => {
    const e = asRecord(raw);
    const code = asNumber(e?.['code']);
    if (!e || code === undefined) return [];
    return [withoutUndefined({
      code,
      message: asNonEmptyString(e['message']) ?? asNonEmptyString(e['title']),
      details: asNonEmptyString(e['details']) ?? asNonEmptyString(asRecord(e['error_data'])?.['details']),
      href: asNonEmptyString(e['href']),
    })];
  });
}

/** Reads one flat event into `out`; anything unusable is noted in out.ignored with `where`. */
export function parseFlatCallEvent(rec: JsonRecord, where: string, out: ParsedDelivery, opts: FlatEventOptions): void {
  const note = (reason: string, at = where) => { out.ignored.push({ where: at, reason }); };
  const callId = (asNonEmptyString(rec['call_id']) ?? asNonEmptyString(rec['callId']))?.trim();
  if (!callId) return note('flat event without a call id');
  const statusText = asString(rec['status'])?.trim().toUpperCase();
  const kind = label(rec['event']) ?? label(rec['status']);
  if (!kind) return note(`unknown call event ${describeValue(rec['event'] ?? rec['status'])}`);

  const from = party(rec['from']);
  const to = party(rec['to']);
  let direction = directionOf(rec, from.number, to.number, opts);
  // Status events exist only for business-initiated calls (docs/whatsapp-calling.md#status-webhook).
  if (!direction && kind.startsWith('call.')) direction = 'BUSINESS_INITIATED';
  const [userSide, businessSide] = direction === 'USER_INITIATED' ? [from, to] : direction === 'BUSINESS_INITIATED' ? [to, from] : [from, to];
  if (!direction && kind === 'terminate') note('no direction and no known business number: user taken from `from`');
  const user: WhatsAppUser = withoutUndefined({ number: userSide.number, userId: userSide.userId });
  const businessNumber = businessSide.number;
  const phoneNumberId = asNonEmptyString(rec['phone_number_id'])?.trim()
    ?? (businessNumber ? opts.phoneNumberIdFor?.(businessNumber) ?? businessNumber : undefined);
  if (!phoneNumberId) return note('flat event ignored: no business number to route it by');
  let timestamp = unixSecondsOf(rec['timestamp']);
  if (timestamp === undefined) {
    note(`timestamp is ${describeValue(rec['timestamp'])}, not a Unix time: using 0 (unknown age)`, `${where}.timestamp`);
    timestamp = 0;
  }
  const trackingData = asNonEmptyString(rec['biz_opaque_callback_data']);
  const base = { phoneNumberId, callId, timestamp, user };

  if (kind === 'terminate') {
    const eventText = asString(rec['event'])?.trim().toUpperCase();
    const status = [statusText, eventText].find((s) => s === 'COMPLETED' || s === 'FAILED');
    if (!status) note('terminate without a COMPLETED/FAILED status: using "UNKNOWN"');
    const event: CallEvent = {
      kind: 'call.terminated', ...base, direction, businessNumber: businessNumber || undefined, status: status ?? 'UNKNOWN',
      startTime: unixSecondsOf(rec['start_time']), endTime: unixSecondsOf(rec['end_time']),
      durationS: asNumber(rec['duration']), errors: errorsOf(rec), trackingData,
    };
    out.events.push(withoutUndefined(event));
    return;
  }
  if (kind !== 'connect') {
    out.events.push(withoutUndefined({ kind, ...base, trackingData } as CallEvent));
    return;
  }
  const sdp = asNonEmptyString(rec['sdp']) ?? asNonEmptyString(asRecord(rec['session'])?.['sdp']);
  if (!sdp) return note('connect without an SDP');
  if (!direction) return note('connect without a direction, SDP type or known business number: cannot tell offer from answer');
  const common = { ...base, businessNumber };
  out.events.push(withoutUndefined(direction === 'USER_INITIATED'
    ? { kind: 'call.offered', ...common, direction, sdpOffer: sdp }
    : { kind: 'call.answered', ...common, direction, sdpAnswer: sdp, trackingData }));
}
