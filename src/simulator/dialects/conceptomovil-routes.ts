import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CONCEPTOMOVIL_DEFAULT_PATHS } from '../../adapters/conceptomovil/conceptomovil-types.js';
import type { CallsRequest } from '../calls-request.js';
import { GraphError, graphErrorBody, invalidParameter } from '../graph-error.js';
import type { BusinessNumber, SimulatorRuntime } from '../runtime.js';
import { isBsuid } from '../user-rules.js';
import { runCallsRequest, sendDialectError, type DialectAnswers } from './call-action-runner.js';

/**
 * The Concepto Móvil dialect (docs/providers.md#concepto-movil), on the default service paths:
 *   GET  …/auth/token         headers Api-Key, Api-Token → {"token": "…"} (a bearer token)
 *   POST …/services/v1/call   flat body {from, to, action, call_id, sdp, biz_opaque_callback_data}
 *   POST …/phone-number/{waba}/{phone_number}/call-settings   Meta's `calling` fields, unwrapped, no sip
 * `from` names the business number. As in every documented example, `to` (the user) is required on
 * every action, inbound calls included, and must be the call's user. Errors are Meta's envelope with
 * Meta's HTTP status; a bad token or bad credentials are 401.
 */

type CmRequest = FastifyRequest<{ Params: Record<string, string>; Body: unknown }>;
type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const digest = (s: string) => createHash('sha256').update(s).digest();
const same = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && timingSafeEqual(digest(a), digest(b));

class Unauthorized extends Error {}

const SETTINGS_PATH = CONCEPTOMOVIL_DEFAULT_PATHS.callSettings.replace('{waba}', ':waba').replace('{phone_number}', ':phone');

function answers(rt: SimulatorRuntime): DialectAnswers {
  return {
    label: 'conceptomovil',
    error: (err) => ({ status: err.httpStatus, body: graphErrorBody(err, rt.ids.fbtraceId()) }),
    success: (answer) => ({ success: true, ...(answer.calls?.[0] && { call_id: answer.calls[0].id }) }),
  };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function sdpOf(body: Json): string {
  const sdp = str(body['sdp']);
  if (!sdp) throw invalidParameter('The parameter sdp is required.');
  if (!sdp.startsWith('v=0')) throw invalidParameter('Invalid SDP in sdp.', 'SDP validation error: the SDP must be an RFC 8866 description starting with "v=0"');
  return sdp;
}

/** The flat body as a call action; `to` is required on every action (GraphError 100 otherwise). */
function callsRequestOf(body: unknown): { req: CallsRequest; to: string } {
  if (!isObject(body)) throw invalidParameter('The request body must be a JSON object.');
  const to = str(body['to']);
  if (!to) throw invalidParameter('The parameter to is required.');
  if (!(/^\+?[0-9]{5,20}$/.test(to) || isBsuid(to))) throw invalidParameter('Param to must be a WhatsApp user\'s phone number.');
  const callId = () => str(body['call_id']) ?? (() => { throw invalidParameter('The parameter call_id is required.'); })();
  const biz = str(body['biz_opaque_callback_data']);
  switch (body['action']) {
    case 'connect': return { to, req: { action: 'connect', to: to.replace(/^\+/, ''), sdp: sdpOf(body), ...(biz !== undefined && { bizOpaque: biz }) } };
    case 'pre_accept': return { to, req: { action: 'pre_accept', callId: callId(), sdp: sdpOf(body) } };
    case 'accept': return { to, req: { action: 'accept', callId: callId(), sdp: sdpOf(body) } };
    case 'reject': case 'terminate': return { to, req: { action: body['action'], callId: callId() } };
    default: throw invalidParameter('Param action must be one of {connect, pre_accept, accept, reject, terminate}.');
  }
}

export function registerConceptoMovilRoutes(app: FastifyInstance, rt: SimulatorRuntime): void {
  const tokens = new Map<string, string>();
  let issued = 0;
  const accounts = () => [...rt.numbers.values()].filter((n) => n.config.dialect === 'conceptomovil');
  const numbersOf = (req: CmRequest): BusinessNumber[] => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
    const apiKey = bearer !== undefined ? tokens.get(bearer) : undefined;
    if (apiKey === undefined) throw new Unauthorized();
    return accounts().filter((n) => n.dialectSecrets.apiKey === apiKey);
  };
  const fail = (reply: FastifyReply, err: unknown): FastifyReply => {
    if (err instanceof Unauthorized) return reply.code(401).send({ message: 'Unauthorized: invalid or expired token' });
    if (err instanceof GraphError) return sendDialectError(reply, answers(rt), err);
    throw err;
  };

  app.get(CONCEPTOMOVIL_DEFAULT_PATHS.token, async (req, reply) => {
    const key = req.headers['api-key'];
    const secret = req.headers['api-token'];
    const account = accounts().find((n) => same(n.dialectSecrets.apiKey, String(key ?? '')) && same(n.dialectSecrets.apiToken, String(secret ?? '')));
    if (!account) return reply.code(401).send({ message: 'Invalid Api-Key or Api-Token' });
    const token = `cm.${createHmac('sha256', `watrunk-sim-${rt.config.seed}`).update(`${account.dialectSecrets.apiKey}|${++issued}`).digest('base64url')}`;
    tokens.set(token, account.dialectSecrets.apiKey!);
    return { token };
  });

  app.post(CONCEPTOMOVIL_DEFAULT_PATHS.calls, async (req: CmRequest, reply) => {
    try {
      const mine = numbersOf(req);
      const from = isObject(req.body) ? str(req.body['from'])?.replace(/[^0-9]/g, '') : undefined;
      const number = mine.find((n) => n.identity.displayNumber === from);
      if (!number) throw invalidParameter('Param from must be a business number of this account.');
      const { req: parsed, to } = callsRequestOf(req.body);
      if (parsed.action !== 'connect') {
        const call = rt.calls.get(parsed.callId);
        const user = to.replace(/^\+/, '');
        if (call && call.user.number !== user && call.user.userId !== user && call.user.key !== user) {
          throw invalidParameter('Param to does not match the call\'s user.', `Call ${call.id} is with another user`);
        }
      }
      return await runCallsRequest(rt, reply, number, parsed, answers(rt));
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.post(SETTINGS_PATH, async (req: CmRequest, reply) => {
    try {
      const number = numbersOf(req).find((n) => n.identity.wabaId === req.params['waba']
        && (n.identity.displayNumber === req.params['phone'] || n.identity.phoneNumberId === req.params['phone']));
      if (!number) throw invalidParameter('Unknown WABA or phone number for this account.');
      if (!isObject(req.body)) throw invalidParameter('The request body must be a JSON object.');
      if (Object.hasOwn(req.body, 'sip')) throw invalidParameter('Param sip is not supported.');
      const problems = rt.settings.update(number.identity.phoneNumberId, req.body);
      if (problems.length) throw invalidParameter(problems[0]!, problems.join('; '));
      return { success: true };
    } catch (err) {
      return fail(reply, err);
    }
  });
}
