import { DAYS_OF_WEEK } from '../../calling-settings/call-hours.js';
import { sipStatusForMode, type DesiredCalling } from '../../config/desired-calling.js';

/**
 * What differs between a number's desired `calling` settings (config) and the live ones (GET
 * /settings), as focused updates: one top-level key (a "feature group") per POST, because Meta may
 * accept only one group per request (docs/whatsapp-calling.md#settings; reported by a third-party SDK). Pure.
 *
 * Only keys the config declares are compared; undeclared keys are left as Meta has them. Values are
 * normalised first so that Meta's defaults and ordering do not show up as differences:
 *  - a key absent from GET means Meta's default (srtp_key_exchange_protocol is "omitted from GET
 *    unless it was set explicitly");
 *  - country lists, codec lists, voicemail triggers and weekly hours are sets (order ignored);
 *  - holidays accept start_time/end_time and open_time/close_time (docs/whatsapp-calling.md#doc-conflicts) and are sent
 *    as start_time/end_time;
 *  - sip.servers ignore app_id and sip_user_password; port defaults to 5061 (docs/whatsapp-calling.md#sip-mode).
 * `call_hours` is replaced as a whole by Meta, and omitting `holiday_schedule` DELETES the holidays
 * (docs/whatsapp-calling.md#settings): the update always carries the declared holidays, and a change that would delete live
 * holidays says so in its notes.
 */

export interface SettingsChange {
  /** The top-level `calling` key this focused update sets. */
  key: string;
  /** Normalised live value (Meta's default when GET omits it). */
  live: unknown;
  /** Normalised desired value. */
  desired: unknown;
  /** The `calling` object of the focused POST. */
  update: Record<string, unknown>;
  /** Consequences a person should read before applying. */
  notes: string[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const sortedStrings = (v: unknown): string[] => [...new Set(asList(v).map(String))].sort();

/** Meta's value for a key GET leaves out (docs/whatsapp-calling.md#settings, #sip-mode). */
const META_DEFAULTS: Readonly<Record<string, unknown>> = {
  status: 'DISABLED',
  call_icon_visibility: 'DEFAULT',
  callback_permission_status: 'DISABLED',
  srtp_key_exchange_protocol: 'DTLS',
  call_icons: { restrict_to_user_countries: [] },
  audio: { additional_codecs: [] },
  voicemail: { status: 'DISABLED' },
  sip: { status: 'DISABLED', servers: [] },
};

/** Focused updates are sent in this order; `status: DISABLED` goes last, `status: ENABLED` first. */
export const APPLY_ORDER = [
  'status', 'call_icon_visibility', 'call_icons', 'callback_permission_status', 'call_hours',
  'srtp_key_exchange_protocol', 'audio', 'voicemail', 'sip',
] as const;

/** A stable JSON text: object keys sorted at every level. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v).filter((k) => v[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

const dayIndex = (d: unknown) => DAYS_OF_WEEK.indexOf(d as (typeof DAYS_OF_WEEK)[number]);

/** Holidays as Meta's samples spell them: {date, start_time, end_time}, sorted. */
function normalizeHolidays(v: unknown): Json[] {
  return asList(v).filter(isObject).map((h) => ({
    date: h['date'],
    start_time: h['start_time'] ?? h['open_time'],
    end_time: h['end_time'] ?? h['close_time'],
  })).sort((a, b) => `${a.date}${a.start_time}`.localeCompare(`${b.date}${b.start_time}`));
}

function normalizeCallHours(v: unknown): Json | undefined {
  if (!isObject(v)) return undefined;
  const weekly = asList(v['weekly_operating_hours']).filter(isObject)
    .map((w) => ({ day_of_week: w['day_of_week'], open_time: w['open_time'], close_time: w['close_time'] }))
    .sort((a, b) => dayIndex(a.day_of_week) - dayIndex(b.day_of_week) || String(a.open_time).localeCompare(String(b.open_time)));
  return {
    status: v['status'],
    timezone_id: v['timezone_id'],
    weekly_operating_hours: weekly,
    holiday_schedule: normalizeHolidays(v['holiday_schedule']),
  };
}

function normalizeServers(v: unknown): Json[] {
  return asList(v).filter(isObject).map((s) => ({
    hostname: s['hostname'],
    port: s['port'] ?? 5061,
    request_uri_user_params: isObject(s['request_uri_user_params']) ? s['request_uri_user_params'] : {},
  })).sort((a, b) => String(a.hostname).localeCompare(String(b.hostname)));
}

/** The comparable form of one key's value; `declared` is the desired sip block (for which sip fields count). */
function normalize(key: string, value: unknown, declaredSip?: Json): unknown {
  const v = value === undefined ? META_DEFAULTS[key] : value;
  switch (key) {
    case 'call_icons':
      return { restrict_to_user_countries: sortedStrings(isObject(v) ? v['restrict_to_user_countries'] : undefined) };
    case 'audio':
      return { additional_codecs: sortedStrings(isObject(v) ? v['additional_codecs'] : undefined) };
    case 'call_hours':
      return normalizeCallHours(v);
    case 'voicemail': {
      if (!isObject(v)) return v;
      const out: Json = { ...v, status: v['status'] ?? 'DISABLED' };
      if (v['triggers'] !== undefined) out['triggers'] = sortedStrings(v['triggers']);
      return out;
    }
    case 'sip': {
      const sip = isObject(v) ? v : {};
      const out: Json = { status: sip['status'] ?? 'DISABLED' };
      if (!declaredSip || declaredSip['servers'] !== undefined) out['servers'] = normalizeServers(sip['servers']);
      if (!declaredSip || declaredSip['webhook_delivery'] !== undefined) out['webhook_delivery'] = sip['webhook_delivery'] ?? 'DISABLED';
      return out;
    }
    default:
      return v;
  }
}

/** The value to POST for a key: as declared, with Meta's sample spellings where the docs disagree. */
function updateValue(key: string, desired: unknown, mode: 'api' | 'sip'): unknown {
  if (key === 'call_hours' && isObject(desired)) {
    const { holiday_schedule: holidays, ...rest } = desired;
    return holidays === undefined ? rest : { ...rest, holiday_schedule: normalizeHolidays(holidays) };
  }
  if (key === 'sip') {
    const sip = isObject(desired) ? desired : {};
    return { ...sip, status: sip['status'] ?? sipStatusForMode(mode) };
  }
  return desired;
}

function notesFor(key: string, live: unknown, desired: unknown): string[] {
  const notes: string[] = [];
  if (key === 'call_hours' && isObject(live) && isObject(desired)) {
    const liveHolidays = asList(live['holiday_schedule']).length;
    if (liveHolidays > 0 && asList(desired['holiday_schedule']).length === 0) {
      notes.push(`deletes ${liveHolidays} holiday(s) on Meta: the config declares no holiday_schedule, and a call_hours update without it deletes the holidays`);
    }
  }
  if (key === 'sip' && isObject(live) && isObject(desired) && live['status'] !== desired['status']) {
    notes.push(desired['status'] === 'ENABLED'
      ? 'enables SIP signalling: Graph /calls requests will fail with 131055 from then on'
      : 'disables SIP signalling: calls are signalled through the Graph API and webhooks again');
  }
  if (key === 'status' && desired === 'DISABLED' && live === 'ENABLED') {
    notes.push('turns calling off: users can no longer call the number');
  }
  return notes;
}

/**
 * The focused updates that make `live` (GET /settings' `calling`) match `desired`, in APPLY_ORDER
 * (calling enabled first, disabled last). Empty when nothing differs.
 */
export function diffCalling(desired: DesiredCalling, live: Record<string, unknown>, mode: 'api' | 'sip'): SettingsChange[] {
  const changes: SettingsChange[] = [];
  for (const key of APPLY_ORDER) {
    if (desired[key] === undefined) continue;
    const wanted = updateValue(key, desired[key], mode);
    const declaredSip = key === 'sip' && isObject(desired[key]) ? desired[key] as Json : undefined;
    const liveNorm = normalize(key, live[key], declaredSip);
    const desiredNorm = normalize(key, wanted, declaredSip);
    if (canonicalJson(liveNorm) === canonicalJson(desiredNorm)) continue;
    changes.push({ key, live: liveNorm, desired: desiredNorm, update: { [key]: wanted }, notes: notesFor(key, liveNorm, desiredNorm) });
  }
  const status = changes.findIndex((c) => c.key === 'status');
  if (status >= 0 && changes[status]!.desired === 'DISABLED') changes.push(...changes.splice(status, 1));
  return changes;
}
