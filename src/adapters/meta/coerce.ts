/**
 * Tolerant readers for values in Meta webhook JSON. Meta's samples send numbers and timestamps as
 * strings although the tables say "Integer" (docs/whatsapp-calling.md#graph-api-basics), so every reader accepts both and
 * returns undefined for anything else. None of them throws.
 */

export type JsonRecord = Record<string, unknown>;

/** A plain JSON object (not null, not an array). */
export function asRecord(v: unknown): JsonRecord | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonRecord) : undefined;
}

export function asArray(v: unknown): unknown[] | undefined {
  return Array.isArray(v) ? v : undefined;
}

/** A string as sent, or a finite number written out ("phone_number_id": 1056… → "1056…"). */
export function asString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** Like asString, but an empty or blank string counts as absent. */
export function asNonEmptyString(v: unknown): string | undefined {
  const s = asString(v);
  return s !== undefined && s.trim() !== '' ? s : undefined;
}

const DECIMAL = /^\s*-?\d+(\.\d+)?\s*$/;

/** A finite number, or a decimal string such as "1671644824" or " 120 ". */
export function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && DECIMAL.test(v)) {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** A boolean, or the strings "true"/"false" in any case. */
export function asBoolean(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'true') return true;
    if (s === 'false') return false;
  }
  return undefined;
}

/** A phone number as Meta sends it, normalised to digits: "+44 7700-900123" → "447700900123"; "" stays "". */
export function asPhoneDigits(v: unknown): string | undefined {
  const s = asString(v);
  return s === undefined ? undefined : s.replace(/[^0-9]/g, '');
}

/** A short description of a wire value for log reasons: strings quoted and cut to 40 characters, other types named. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** A copy without the keys whose value is undefined, so a parsed event carries only what the delivery had. */
export function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
