import { asArray, asNonEmptyString, asNumber, asRecord, asString, type JsonRecord } from '../meta/coerce.js';
import type { WhatsAppErrorInfo } from '../../calls/ports/whatsapp-events.js';

/**
 * Tolerant readers for CAMS call-event items, whose schema is not published
 * (docs/providers.md#alibaba-cloud-cams). CAMS's documented receipts use PascalCase keys,
 * millisecond timestamps and phone numbers with or without '+'; these readers also accept
 * camelCase and snake_case spellings. None of them throws.
 */

/** "CallId", "callId", "call_id" and "CALL-ID" all read as "callid". */
const normalise = (key: string): string => key.toLowerCase().replace(/[_-]/g, '');

export type FieldReader = (...names: string[]) => unknown;

/** Looks fields up by normalised name; the first name present (not null) wins. */
export function fieldReader(item: JsonRecord): FieldReader {
  const byName = new Map<string, unknown>();
  for (const [k, v] of Object.entries(item)) {
    const n = normalise(k);
    if (!byName.has(n) && v !== null && v !== undefined) byName.set(n, v);
  }
  return (...names) => {
    for (const name of names) {
      const v = byName.get(normalise(name));
      if (v !== undefined) return v;
    }
    return undefined;
  };
}

/** Values of 1e11 and above are milliseconds (1e11 s is the year 5138); ISO dates are accepted too. */
export function unixSecondsOf(v: unknown): number | undefined {
  const n = asNumber(v);
  if (n !== undefined) return n >= 1e11 ? Math.floor(n / 1000) : n;
  const s = asString(v);
  if (s === undefined) return undefined;
  const ms = Date.parse(s);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

/** A user's side: digits of a phone number ('+', spaces, dashes dropped), or a BSUID kept as user id. */
export function partyOf(phone: unknown, userId: unknown): { number: string; userId: string | undefined } {
  const id = asNonEmptyString(userId)?.trim();
  const raw = asString(phone)?.trim() ?? '';
  if (/[A-Za-z]/.test(raw)) return { number: '', userId: id ?? raw };
  return { number: raw.replace(/[^0-9]/g, ''), userId: id };
}

export interface SessionSdp { sdp: string; type?: 'offer' | 'answer' }

function sdpTypeOf(v: unknown): 'offer' | 'answer' | undefined {
  const s = asString(v)?.trim().toLowerCase();
  return s === 'offer' || s === 'answer' ? s : undefined;
}

/** Session as an object or as a JSON string (as WhatsappCall takes it), {Sdp, SdpType}; else flat Sdp/SdpType. */
export function sessionOf(get: FieldReader): SessionSdp | undefined {
  let session: unknown = get('Session');
  if (typeof session === 'string') {
    if (session.trimStart().startsWith('v=')) return { sdp: session };
    try {
      session = JSON.parse(session) as unknown;
    } catch {
      session = undefined;
    }
  }
  const rec = asRecord(session);
  const inner = rec ? fieldReader(rec) : undefined;
  const sdp = inner?.('Sdp') ?? get('Sdp');
  const type = sdpTypeOf(inner?.('SdpType', 'Type') ?? get('SdpType'));
  if (typeof sdp !== 'string' || sdp.trim() === '') return undefined;
  return type ? { sdp, type } : { sdp };
}

/** Errors[] of {Code, Message, Details} objects, or a flat ErrorCode + ErrorMessage; numeric codes only. */
export function errorsOf(get: FieldReader, noteBad: (reason: string) => void): WhatsAppErrorInfo[] {
  const list = asArray(get('Errors'));
  const raw: { code: unknown; message: unknown; details: unknown }[] = list
    ? list.flatMap((e) => {
      const rec = asRecord(e);
      if (!rec) return [];
      const f = fieldReader(rec);
      return [{ code: f('Code'), message: f('Message', 'Title'), details: f('Details') ?? asRecord(f('ErrorData'))?.['details'] }];
    })
    : get('ErrorCode') !== undefined
      ? [{ code: get('ErrorCode'), message: get('ErrorMessage', 'ErrorMsg', 'ErrorDescription'), details: undefined }]
      : [];
  return raw.flatMap((e) => {
    const code = asNumber(e.code);
    if (code === undefined) {
      noteBad(`error code ${JSON.stringify(e.code)} is not numeric: not used`);
      return [];
    }
    const message = asNonEmptyString(e.message);
    const details = asNonEmptyString(e.details);
    return [{ code, ...(message !== undefined && { message }), ...(details !== undefined && { details }) }];
  });
}
