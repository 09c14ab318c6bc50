import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { connectBusinessCall } from './business-initiated.js';
import { endCall } from './call-lifecycle.js';
import { parseCallsRequest, type CallsRequest } from './calls-request.js';
import type { SimulatedCall } from './call-state.js';
import type { GraphFaultDecision } from './fault-plan.js';
import { GraphError, graphErrorBody, invalidParameter } from './graph-error.js';
import { sendPermissionReply } from './permission-reply.js';
import type { BusinessNumber, SimulatorRuntime } from './runtime.js';
import { acceptUserCall, preAcceptUserCall, rejectUserCall } from './user-initiated.js';
import { isBsuid } from './user-rules.js';

/**
 * The Graph API paths the bridge calls (docs/whatsapp-calling.md), under any `vNN.N` version prefix:
 *   POST /{v}/{PNID}/calls, GET /{v}/{PNID}/call_permissions, GET|POST /{v}/{PNID}/settings,
 *   POST /{v}/{PNID}/messages.
 * Each checks the bearer token (190 when missing/unknown) and the phone number id (100) first.
 */

type Params = { version: string; id: string };
type GraphRequest = FastifyRequest<{ Params: Params; Querystring: Record<string, string | undefined>; Body: unknown }>;

const VERSION = /^v[0-9]+\.[0-9]+$/;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const digest = (s: string) => createHash('sha256').update(s).digest();
const sameToken = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

export function sendGraphError(rt: SimulatorRuntime, reply: FastifyReply, err: GraphError): FastifyReply {
  return reply.code(err.httpStatus).send(graphErrorBody(err, rt.ids.fbtraceId()));
}

function authenticate(rt: SimulatorRuntime, req: GraphRequest): BusinessNumber {
  const { version, id } = req.params;
  if (!VERSION.test(version)) throw new GraphError(2500, `Unknown path components: /${version}/${id}`, `Unknown path components: /${version}`);
  const header = req.headers.authorization;
  const token = (typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined) ?? req.query['access_token'];
  if (!token) {
    throw new GraphError(190, undefined, 'An active access token must be used to query information about the current user.');
  }
  const numbers = [...rt.numbers.values()];
  if (!numbers.some((n) => sameToken(n.accessToken, token))) throw new GraphError(190);
  const number = rt.numbers.get(id);
  if (!number || !sameToken(number.accessToken, token)) {
    const text = `Unsupported ${req.method.toLowerCase()} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation`;
    throw invalidParameter(text, text);
  }
  if (version !== rt.config.graph_version && !rt.graphVersions.has(version)) {
    rt.log.warn({ version, expected: rt.config.graph_version }, 'request uses a different Graph version than configured (accepted)');
  }
  rt.graphVersions.set(version, (rt.graphVersions.get(version) ?? 0) + 1);
  return number;
}

/** Runs a Graph handler and turns GraphError into Meta's error envelope. */
function graphHandler(rt: SimulatorRuntime, fn: (req: GraphRequest, number: BusinessNumber) => Promise<unknown>) {
  return async (req: GraphRequest, reply: FastifyReply) => {
    try {
      const number = authenticate(rt, req);
      return reply.code(200).send(await fn(req, number));
    } catch (err) {
      if (err instanceof GraphError) return sendGraphError(rt, reply, err);
      throw err;
    }
  };
}

export async function handleCallAction(rt: SimulatorRuntime, number: BusinessNumber, req: CallsRequest, version: string): Promise<unknown> {
  const pnid = number.identity.phoneNumberId;
  if (rt.settings.isSipEnabled(pnid)) throw new GraphError(131055, `Phone number ${pnid} has SIP enabled`);
  if (rt.config.require_calling_enabled && !rt.settings.isCallingEnabled(pnid)) {
    throw new GraphError(138000, 'Enable calling with POST /settings {"calling":{"status":"ENABLED"}}');
  }
  if (req.action === 'connect') {
    const id = await connectBusinessCall(rt, number, req, version);
    return { messaging_product: 'whatsapp', calls: [{ id }] };
  }
  const call = rt.calls.get(req.callId);
  if (!call || call.phoneNumberId !== pnid) {
    throw invalidParameter('Invalid call_id.', `No call with id ${req.callId} exists for phone number ${pnid}`);
  }
  try {
    if (call.state === 'ended') {
      throw invalidParameter('Invalid call_id: the call has already ended.', `Call ${call.id} ended (${call.endReason ?? call.endStatus})`);
    }
    switch (req.action) {
      case 'pre_accept': await preAcceptUserCall(rt, call, req.sdp); break;
      case 'accept': await acceptUserCall(rt, call, req.sdp, req.bizOpaque); break;
      case 'reject': await rejectUserCall(rt, call); break;
      case 'terminate': await endCall(rt, call, { by: 'business', status: 'COMPLETED', reason: 'terminated by business' }); break;
    }
    call.actions.push({ action: req.action, at: rt.clock(), graphVersion: version, result: 'ok' });
  } catch (err) {
    if (err instanceof GraphError) call.actions.push({ action: req.action, at: rt.clock(), graphVersion: version, result: err.code });
    throw err;
  }
  return { messaging_product: 'whatsapp', success: true };
}

export const faultLabel = (f: GraphFaultDecision): string =>
  `${f.fault === 'error' ? `error:${f.status ?? 'default'}/${f.code ?? 1}` : f.fault}${f.applied ? ':applied' : ''}`;

/** Meta's answer replaced by an injected fault (fault-plan.ts): an error envelope, no answer, or a closed connection. */
export async function playGraphFault(rt: SimulatorRuntime, reply: FastifyReply, f: GraphFaultDecision): Promise<FastifyReply> {
  if (f.fault === 'error') return sendGraphError(rt, reply, new GraphError(f.code ?? 1, 'Simulated fault', undefined, f.status));
  reply.hijack();
  const socket = reply.raw.socket;
  // The timer set wakes sleepers on close() and reset, so a hung request never outlives the simulator.
  if (f.fault === 'hang') await rt.timers.sleep(f.hangMs);
  socket?.destroy();
  return reply;
}

/** The call a /calls request names or created, if any (for the call's action log). */
export function callOf(rt: SimulatorRuntime, number: BusinessNumber, req: CallsRequest, answer: unknown): SimulatedCall | undefined {
  const id = req.action === 'connect'
    ? ((answer as { calls?: Array<{ id?: string }> } | undefined)?.calls?.[0]?.id)
    : req.callId;
  const call = id ? rt.calls.get(id) : undefined;
  return call && call.phoneNumberId === number.identity.phoneNumberId ? call : undefined;
}

/**
 * POST /{PNID}/calls with fault injection: a fault that is not `applied` stops the request before it
 * has any effect (recorded in the call's actions); an applied one lets the action happen and then
 * replaces Meta's answer (the action's own record is marked with the fault).
 */
async function handleCallsRequest(rt: SimulatorRuntime, req: GraphRequest, reply: FastifyReply): Promise<FastifyReply> {
  let number: BusinessNumber;
  let parsed: CallsRequest;
  try {
    number = authenticate(rt, req);
    parsed = parseCallsRequest(req.body);
  } catch (err) {
    if (err instanceof GraphError) return sendGraphError(rt, reply, err);
    throw err;
  }
  const version = req.params.version;
  const fault = rt.faults.decideGraph(parsed.action);
  if (fault && !fault.applied) {
    const result = fault.fault === 'error' ? fault.code ?? 1 : fault.fault === 'hang' ? 'no_answer' : 'reset';
    callOf(rt, number, parsed, undefined)?.actions.push({ action: parsed.action, at: rt.clock(), graphVersion: version, result, fault: faultLabel(fault) });
    rt.log.info({ action: parsed.action, fault: faultLabel(fault) }, 'Graph request failed by an injected fault');
    return playGraphFault(rt, reply, fault);
  }
  let answer: unknown;
  let error: GraphError | undefined;
  try {
    answer = await handleCallAction(rt, number, parsed, version);
  } catch (err) {
    if (!(err instanceof GraphError)) throw err;
    error = err;
  }
  if (!fault) return error ? sendGraphError(rt, reply, error) : reply.code(200).send(answer);
  const record = callOf(rt, number, parsed, answer)?.actions.filter((a) => a.action === parsed.action).at(-1);
  if (record) record.fault = faultLabel(fault);
  rt.log.info({ action: parsed.action, fault: faultLabel(fault) }, 'Graph request carried out, its answer replaced by an injected fault');
  return playGraphFault(rt, reply, fault);
}

export function readUserAddress(value: unknown, param: string): string {
  if (value === undefined || value === '') throw invalidParameter(`The parameter ${param} is required.`);
  if (typeof value !== 'string' || !(/^\+?[0-9]{5,20}$/.test(value) || isBsuid(value))) {
    throw invalidParameter(`Param ${param} must be a WhatsApp user's phone number (digits) or business-scoped user id.`);
  }
  return value.replace(/^\+/, '');
}

/** POST /messages: a call_permission_request is counted and answered per the user's rule (docs/whatsapp-calling.md#permission-requests). */
export function handleMessage(rt: SimulatorRuntime, number: BusinessNumber, body: unknown): unknown {
  if (!isObject(body)) throw invalidParameter('The request body must be a JSON object.');
  if (body['messaging_product'] === undefined) throw invalidParameter('The parameter messaging_product is required.');
  if (body['messaging_product'] !== 'whatsapp') throw invalidParameter('Param messaging_product must be one of {whatsapp}.');
  // `to` wins when both `to` and `recipient` are sent (docs/whatsapp-calling.md#permission-requests).
  const address = readUserAddress(body['to'] ?? body['recipient'], body['to'] !== undefined ? 'to' : 'recipient');
  const type = body['type'];
  if (typeof type !== 'string') throw invalidParameter('The parameter type is required.');
  const user = rt.users.resolve(address);
  const pnid = number.identity.phoneNumberId;
  const interactive = body['interactive'];
  const isPermissionRequest = type === 'interactive' && isObject(interactive) && interactive['type'] === 'call_permission_request';
  if (type === 'interactive' && !isObject(interactive)) throw invalidParameter('The parameter interactive is required.');
  if (isPermissionRequest) {
    const action = (interactive as Record<string, unknown>)['action'];
    if (!isObject(action) || action['name'] !== 'call_permission_request') {
      throw invalidParameter('Param interactive.action.name must be "call_permission_request".');
    }
    rt.permissions.recordRequest(pnid, user);
  }
  const id = rt.ids.wamid(user.number || user.key);
  rt.messages.push({ id, phone_number_id: pnid, to: user.number || user.key, type: isPermissionRequest ? 'call_permission_request' : type, at: rt.clock() });
  if (rt.messages.length > 1000) rt.messages.splice(0, rt.messages.length - 1000);
  const reply = user.rule.permission_reply;
  if (isPermissionRequest && reply !== 'none') {
    rt.timers.set(user.rule.permission_reply_after_ms, () => {
      sendPermissionReply(rt, number, user, { response: reply, source: 'user_action', contextId: id });
    });
  }
  return {
    messaging_product: 'whatsapp',
    contacts: [{ input: address, wa_id: user.number, ...(user.userId ? { user_id: user.userId } : {}) }],
    messages: [{ id }],
  };
}

/** The call_permissions answer for one user (docs/whatsapp-calling.md#permissions). */
export function describeCallPermission(rt: SimulatorRuntime, number: BusinessNumber, address: string): Record<string, unknown> {
  const user = rt.users.resolve(address);
  const body = rt.permissions.describe(number.identity.phoneNumberId, user);
  // An uncallable number reports no_permission rather than an error (docs/whatsapp-calling.md#permissions).
  if (user.rule.behaviour === 'not_on_whatsapp') {
    body['permission'] = { status: 'no_permission' };
    for (const a of body['actions'] as Array<Record<string, unknown>>) a['can_perform_action'] = false;
  }
  return body;
}

export function registerGraphRoutes(app: FastifyInstance, rt: SimulatorRuntime): void {
  app.post('/:version/:id/calls', (req: GraphRequest, reply: FastifyReply) => handleCallsRequest(rt, req, reply));

  app.get('/:version/:id/call_permissions', graphHandler(rt, async (req, number) => {
    const q = req.query;
    const param = q['user_wa_id'] !== undefined ? 'user_wa_id' : 'recipient';
    return describeCallPermission(rt, number, readUserAddress(q[param], param));
  }));

  app.get('/:version/:id/settings', graphHandler(rt, async (req, number) => ({
    calling: rt.settings.get(number.identity.phoneNumberId, req.query['include_sip_credentials'] === 'true'),
  })));

  app.post('/:version/:id/settings', graphHandler(rt, async (req, number) => {
    const body = req.body;
    if (!isObject(body) || body['calling'] === undefined) throw invalidParameter('The parameter calling is required.');
    const problems = rt.settings.update(number.identity.phoneNumberId, body['calling']);
    if (problems.length) throw invalidParameter(problems[0]!, problems.join('; '));
    return { success: true };
  }));

  app.post('/:version/:id/messages', graphHandler(rt, async (req, number) => handleMessage(rt, number, req.body)));
}
