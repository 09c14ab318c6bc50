import { invalidParameter } from './graph-error.js';
import { isBsuid } from './user-rules.js';

/**
 * Validation of `POST /{PHONE_NUMBER_ID}/calls` bodies like Meta (docs/whatsapp-calling.md#call-actions): every problem is
 * Graph error 100 with a message naming the parameter.
 */

export const CALL_ACTIONS = ['connect', 'pre_accept', 'accept', 'reject', 'terminate'] as const;
export type CallAction = (typeof CALL_ACTIONS)[number];

/** biz_opaque_callback_data: at most 512 characters (docs/whatsapp-calling.md#tracking-data). */
export const MAX_BIZ_OPAQUE = 512;

export type CallsRequest =
  | { action: 'connect'; to: string; sdp: string; bizOpaque?: string }
  | { action: 'pre_accept'; callId: string; sdp: string }
  | { action: 'accept'; callId: string; sdp: string; bizOpaque?: string }
  | { action: 'reject' | 'terminate'; callId: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const required = (name: string) => invalidParameter(`The parameter ${name} is required.`);

/** session{sdp_type, sdp}: `offer` for connect, `answer` for pre_accept/accept; RFC 8866 text starting v=0. */
function readSession(body: Record<string, unknown>, expectedType: 'offer' | 'answer', action: string): string {
  const session = body['session'];
  if (session === undefined) throw required('session');
  if (!isObject(session)) throw invalidParameter('Param session must be an object with sdp_type and sdp.');
  const type = session['sdp_type'];
  if (type === undefined) throw required('session.sdp_type');
  if (type !== expectedType) {
    throw invalidParameter(`Param session.sdp_type must be "${expectedType}" for action ${action} - got ${JSON.stringify(type)}.`);
  }
  const sdp = session['sdp'];
  if (sdp === undefined || sdp === '') throw required('session.sdp');
  if (typeof sdp !== 'string') throw invalidParameter('Param session.sdp must be a string (RFC 8866 SDP).');
  if (!sdp.startsWith('v=0')) {
    throw invalidParameter('Invalid SDP in session.sdp.', 'SDP validation error: the SDP must be an RFC 8866 description starting with "v=0"');
  }
  return sdp;
}

function readBizOpaque(body: Record<string, unknown>): string | undefined {
  const v = body['biz_opaque_callback_data'];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalidParameter('Param biz_opaque_callback_data must be a string.');
  if (v.length > MAX_BIZ_OPAQUE) {
    throw invalidParameter(`Param biz_opaque_callback_data must be at most ${MAX_BIZ_OPAQUE} characters long.`);
  }
  return v;
}

function readCallId(body: Record<string, unknown>): string {
  const id = body['call_id'];
  if (id === undefined || id === '') throw required('call_id');
  if (typeof id !== 'string') throw invalidParameter('Param call_id must be a string.');
  return id;
}

/** Returns the request, or throws GraphError 100 describing the first problem. */
export function parseCallsRequest(body: unknown): CallsRequest {
  if (!isObject(body)) throw invalidParameter('The request body must be a JSON object.');
  const product = body['messaging_product'];
  if (product === undefined) throw required('messaging_product');
  if (product !== 'whatsapp') throw invalidParameter(`Param messaging_product must be one of {whatsapp} - got ${JSON.stringify(product)}.`);
  const action = body['action'];
  if (action === undefined) throw required('action');
  if (!CALL_ACTIONS.includes(action as CallAction)) {
    throw invalidParameter(`Param action must be one of {${CALL_ACTIONS.join(', ')}} - got ${JSON.stringify(action)}.`);
  }
  switch (action as CallAction) {
    case 'connect': {
      const to = body['to'] ?? body['recipient'];
      if (to === undefined || to === '') throw required('to');
      if (typeof to !== 'string' || !(/^\+?[0-9]{5,20}$/.test(to) || isBsuid(to))) {
        throw invalidParameter('Param to must be a WhatsApp user\'s phone number (digits) or business-scoped user id.');
      }
      const sdp = readSession(body, 'offer', 'connect');
      const bizOpaque = readBizOpaque(body);
      return { action: 'connect', to: to.replace(/^\+/, ''), sdp, ...(bizOpaque !== undefined ? { bizOpaque } : {}) };
    }
    case 'pre_accept':
      return { action: 'pre_accept', callId: readCallId(body), sdp: readSession(body, 'answer', 'pre_accept') };
    case 'accept': {
      const callId = readCallId(body);
      const sdp = readSession(body, 'answer', 'accept');
      const bizOpaque = readBizOpaque(body);
      return { action: 'accept', callId, sdp, ...(bizOpaque !== undefined ? { bizOpaque } : {}) };
    }
    case 'reject':
    case 'terminate':
      return { action: action as 'reject' | 'terminate', callId: readCallId(body) };
  }
}
