import { asArray, asNumber, asRecord, asString, type JsonRecord } from '../meta/coerce.js';

/**
 * Maps CAMS answers whose Code is "OK" (CamsClient has checked that). Each parser throws an Error
 * naming what is missing; CamsClient turns it into ProviderError(kind 'protocol').
 * docs/providers.md#alibaba-cloud-cams.
 */

/** A JSON object, or a JSON string holding one (some CAMS fields arrive serialised). */
function objectOf(v: unknown): JsonRecord | undefined {
  if (typeof v === 'string') {
    try {
      return asRecord(JSON.parse(v));
    } catch {
      return undefined;
    }
  }
  return asRecord(v);
}

function nonEmpty(v: unknown): string | undefined {
  const s = asString(v)?.trim();
  return s ? s : undefined;
}

/**
 * WhatsappCall connect: {"RequestId","Code":"OK","Message","Model":{"CallId":"…"}}. Model.CallId is
 * what the API reference documents; a CallId directly in the body or under Data is accepted too.
 */
export function parseCallIdResponse(body: JsonRecord): { callId: string } {
  const callId = nonEmpty(objectOf(body['Model'])?.['CallId'])
    ?? nonEmpty(body['CallId'])
    ?? nonEmpty(objectOf(body['Data'])?.['CallId']);
  if (!callId) throw new Error('Model.CallId: missing (connect answered OK without a call id)');
  return { callId };
}

/** The other call actions: Code "OK" is all there is to check. */
export function parseAcknowledgement(_body: JsonRecord): void {}

const digitsOf = (v: unknown): string => (asString(v) ?? '').replace(/[^0-9]/g, '');

/** QueryChatappPhoneNumbers: PhoneNumbers[] in the body (or, defensively, under Data, possibly as a JSON string). */
export function phoneNumbersOf(body: JsonRecord): JsonRecord[] {
  let list = asArray(body['PhoneNumbers']);
  if (!list) {
    const data = typeof body['Data'] === 'string' ? safeParse(body['Data']) : body['Data'];
    list = asArray(data) ?? asArray(asRecord(data)?.['PhoneNumbers']);
  }
  if (!list) throw new Error('PhoneNumbers: missing or not an array');
  return list.flatMap((p) => (asRecord(p) ? [p as JsonRecord] : []));
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The entry for one business number (compared as digits: CAMS may write "+86…" or "86…"). */
export function findPhoneNumber(numbers: JsonRecord[], businessNumber: string): JsonRecord | undefined {
  const wanted = digitsOf(businessNumber);
  return numbers.find((n) => digitsOf(n['PhoneNumber']) === wanted);
}

/** Copies the keys that are present, renamed. */
function pick(from: JsonRecord | undefined, names: Record<string, string>): JsonRecord {
  const out: JsonRecord = {};
  if (!from) return out;
  for (const [camsName, metaName] of Object.entries(names)) {
    const v = from[camsName];
    if (v !== undefined && v !== null) out[metaName] = v;
  }
  return out;
}

function listOf(v: unknown, names: Record<string, string>): JsonRecord[] | undefined {
  const list = asArray(v);
  return list?.flatMap((item) => (asRecord(item) ? [pick(asRecord(item), names)] : []));
}

/**
 * CallingConfigure → Meta's settings document shape, so the control plane reads one vocabulary:
 * {calling: {status, call_icon_visibility, callback_permission_status, call_hours: {…}}, cams: {…}}.
 * CallIconVisibility and CallbackPermissionStatus sit under Calling in ChatappSyncPhoneNumber but
 * under Calling.CallHours in QueryChatappPhoneNumbers: both places are read. CAMS-only fields
 * (CallingCallbackUrl, MaxTalkTime, unit undocumented) go under `cams`, outside `calling`.
 */
export function settingsFromPhoneNumber(entry: JsonRecord): Record<string, unknown> {
  const configure = objectOf(entry['CallingConfigure']);
  const calling = objectOf(configure?.['Calling']);
  const hours = objectOf(calling?.['CallHours']);
  const out: JsonRecord = {
    ...pick(calling, { Status: 'status' }),
    ...pick(hours, { CallIconVisibility: 'call_icon_visibility', CallbackPermissionStatus: 'callback_permission_status' }),
    ...pick(calling, { CallIconVisibility: 'call_icon_visibility', CallbackPermissionStatus: 'callback_permission_status' }),
  };
  if (hours) {
    const weekly = listOf(hours['WeeklyOperatingHours'], { DayOfWeek: 'day_of_week', OpenTime: 'open_time', CloseTime: 'close_time' });
    const holidays = listOf(hours['HolidaySchedule'], { Date: 'date', StartTime: 'start_time', EndTime: 'end_time' });
    out['call_hours'] = {
      ...pick(hours, { Status: 'status', TimezoneId: 'timezone_id' }),
      ...(weekly && { weekly_operating_hours: weekly }),
      ...(holidays && { holiday_schedule: holidays }),
    };
  }
  const callbackUrl = nonEmpty(configure?.['CallingCallbackUrl']);
  const maxTalkTime = asNumber(configure?.['MaxTalkTime']);
  return {
    calling: out,
    cams: {
      phone_number: asString(entry['PhoneNumber']) ?? '',
      calling_configured: configure !== undefined,
      ...(callbackUrl !== undefined && { calling_callback_url: callbackUrl }),
      ...(maxTalkTime !== undefined && { max_talk_time: maxTalkTime }),
    },
  };
}
