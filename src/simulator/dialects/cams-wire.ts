import { GraphError, invalidParameter } from '../graph-error.js';
import type { CallsRequest } from '../calls-request.js';
import { isBsuid } from '../user-rules.js';

/**
 * CAMS's wire format, for the simulator's cams dialect (docs/providers.md#alibaba-cloud-cams): the
 * WhatsappCall parameters as a call action, errors as Alibaba's envelopes, and the calling settings
 * as QueryChatappPhoneNumbers' CallingConfigure.
 */

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An Alibaba gateway or business answer: HTTP status and {RequestId, Code, Message, …}. */
export interface CamsAnswer { status: number; body: Json }

export function camsFailure(status: number, code: string, message: string, requestId: string): CamsAnswer {
  const gateway = status !== 200;
  return {
    status,
    body: gateway
      ? { RequestId: requestId, HostId: 'cams.ap-southeast-1.aliyuncs.com', Code: code, Message: message, Recommend: 'https://api.aliyun.com/troubleshoot' }
      : { RequestId: requestId, Code: code, Message: message, AccessDeniedDetail: 'None', Success: false },
  };
}

/**
 * A simulator error as CAMS would answer it: parameter errors and throttling as gateway errors,
 * 5xx faults as InternalError / ServiceUnavailable, and Meta's own codes as a business error whose
 * Code is Meta's number (the simulator's choice: what CAMS really answers is not published).
 */
export function camsErrorOf(err: GraphError, requestId: string): CamsAnswer {
  if (err.code === 613 || (err.httpStatus === 429 && err.code === 1)) {
    return camsFailure(400, 'Throttling.User', 'Request was denied due to user flow control.', requestId);
  }
  if (err.httpStatus >= 500 && err.code === 1) {
    return err.httpStatus === 503
      ? camsFailure(503, 'ServiceUnavailable', 'The request has failed due to a temporary failure of the server.', requestId)
      : camsFailure(err.httpStatus, 'InternalError', 'The request processing has failed due to some unknown error.', requestId);
  }
  if (err.code === 100) return camsFailure(400, 'InvalidParameter', err.details ?? err.message, requestId);
  return camsFailure(200, String(err.code), `(#${err.code}) ${err.message}`, requestId);
}

const required = (name: string) => invalidParameter(`${name} is mandatory for this action.`);

function session(params: Readonly<Record<string, string>>, expected: 'offer' | 'answer'): string {
  const raw = params['Session'];
  if (raw === undefined) throw required('Session');
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    throw invalidParameter('Session is not a JSON object.');
  }
  if (!isObject(doc)) throw invalidParameter('Session is not a JSON object.');
  if (doc['SdpType'] !== expected) throw invalidParameter(`Session.SdpType must be "${expected}" for this CallAction.`);
  const sdp = doc['Sdp'];
  if (typeof sdp !== 'string' || !sdp.startsWith('v=0')) throw invalidParameter('Session.Sdp is not an SDP (RFC 8866).');
  return sdp;
}

function callId(params: Readonly<Record<string, string>>): string {
  const id = params['CallId'];
  if (!id) throw required('CallId');
  return id;
}

/** WhatsappCall's query parameters as the simulator's call action (GraphError 100 when malformed). */
export function callsRequestOf(params: Readonly<Record<string, string>>): CallsRequest {
  switch (params['CallAction']) {
    case 'connect': {
      const to = params['UserNumber'];
      if (!to) throw required('UserNumber');
      if (!(/^\+?[0-9]{5,20}$/.test(to) || isBsuid(to))) throw invalidParameter('UserNumber is not a phone number.');
      return { action: 'connect', to: to.replace(/^\+/, ''), sdp: session(params, 'offer') };
    }
    case 'pre_accept': return { action: 'pre_accept', callId: callId(params), sdp: session(params, 'answer') };
    case 'accept': return { action: 'accept', callId: callId(params), sdp: session(params, 'answer') };
    case 'reject': return { action: 'reject', callId: callId(params) };
    case 'terminate': return { action: 'terminate', callId: callId(params) };
    case undefined: throw required('CallAction');
    default: throw invalidParameter(`CallAction ${JSON.stringify(params['CallAction'])} is not supported.`);
  }
}

function pascalList(v: unknown, names: Record<string, string>): Json[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.filter(isObject).map((item) => Object.fromEntries(Object.entries(names).flatMap(([meta, cams]) => (item[meta] === undefined ? [] : [[cams, item[meta]]]))));
}

/**
 * Meta's `calling` object as QueryChatappPhoneNumbers' CallingConfigure. As in CAMS's answer,
 * CallIconVisibility and CallbackPermissionStatus sit under Calling.CallHours when there are call
 * hours, else under Calling (as in ChatappSyncPhoneNumber).
 */
export function callingConfigureOf(calling: Json, callbackUrl: string): Json {
  const hours = isObject(calling['call_hours']) ? calling['call_hours'] : undefined;
  const quirk = { CallIconVisibility: calling['call_icon_visibility'], CallbackPermissionStatus: calling['callback_permission_status'] };
  const callHours = hours && {
    Status: hours['status'], TimezoneId: hours['timezone_id'],
    WeeklyOperatingHours: pascalList(hours['weekly_operating_hours'], { day_of_week: 'DayOfWeek', open_time: 'OpenTime', close_time: 'CloseTime' }),
    HolidaySchedule: pascalList(hours['holiday_schedule'], { date: 'Date', start_time: 'StartTime', end_time: 'EndTime' }),
    ...quirk,
  };
  return {
    Calling: { Status: calling['status'], ...(callHours ? { CallHours: callHours } : quirk) },
    CallingCallbackUrl: callbackUrl,
    MaxTalkTime: 3600,
  };
}
