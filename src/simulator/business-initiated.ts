import { callTimer, endCall, markAccepted, sendCallWebhook } from './call-lifecycle.js';
import type { SimulatedCall } from './call-state.js';
import { GraphError, invalidParameter, titleOf } from './graph-error.js';
import type { BusinessNumber, SimulatorRuntime } from './runtime.js';
import { connectPayload, statusPayload, type CallStatus } from './webhook-payloads.js';

/**
 * Business-initiated calls (docs/whatsapp-calling.md#business-initiated-calls): `connect` is checked like Meta, then the scripted user
 * plays its rule: connect webhook with the SDP answer, RINGING, then ACCEPTED / REJECTED / nothing /
 * a failure, and finally the terminate webhook (docs/whatsapp-calling.md#webhooks).
 */

export interface ConnectInput { to: string; sdp: string; bizOpaque?: string }

/** Meta's checks for a new call, in the order the simulator applies them. Throws GraphError. */
function checkConnect(rt: SimulatorRuntime, number: BusinessNumber, userKey: string, behaviour: string): void {
  const pnid = number.identity.phoneNumberId;
  if (rt.calls.active(pnid).length >= rt.config.limits.max_concurrent_calls) {
    throw new GraphError(138002, `The limit of ${rt.config.limits.max_concurrent_calls} concurrent calls for this business number is reached`);
  }
  if (behaviour === 'not_on_whatsapp') {
    throw new GraphError(138001, 'The receiver is not on WhatsApp, has not accepted the latest Terms of Service, or uses an unsupported client');
  }
  if (rt.calls.activeWith(pnid, userKey)) {
    throw new GraphError(138003, 'A call between this business number and this user is already ongoing');
  }
}

function sendStatus(rt: SimulatorRuntime, number: BusinessNumber, call: SimulatedCall, status: CallStatus): void {
  sendCallWebhook(rt, call, 'status', `status:${status}`, statusPayload(number.identity, {
    callId: call.id, status, user: call.user, at: rt.clock(),
    ...(call.bizOpaque !== undefined ? { bizOpaque: call.bizOpaque } : {}),
  }));
}

/**
 * Handles `connect`: returns the new call id, or throws GraphError (138001/2/3/6/12). The user's
 * media answers the offer before the response, so an offer Meta would refuse (e.g. "No fingerprint
 * found in SDP") is a synchronous error 100 with the reason in error_data (docs/whatsapp-calling.md#graph-api-basics, #sdp-rules).
 */
export async function connectBusinessCall(rt: SimulatorRuntime, number: BusinessNumber, input: ConnectInput, graphVersion: string): Promise<string> {
  const user = rt.users.resolve(input.to);
  const pnid = number.identity.phoneNumberId;
  checkConnect(rt, number, user.key, user.rule.behaviour);
  rt.permissions.checkCanCall(pnid, user);
  const now = rt.clock();
  const media = rt.media.create({ toneHz: rt.config.media.tone_hz, listenHz: rt.config.media.listen_hz });
  const call: SimulatedCall = {
    id: rt.ids.wacid(user.number || user.key, number.identity.displayNumber),
    phoneNumberId: pnid,
    businessNumber: number.identity.displayNumber,
    direction: 'BUSINESS_INITIATED',
    state: 'calling',
    user,
    createdAt: now,
    offerSdp: input.sdp,
    ...(input.bizOpaque !== undefined ? { bizOpaque: input.bizOpaque } : {}),
    media,
    timers: new Set(),
    webhooks: [],
    actions: [{ action: 'connect', at: now, graphVersion, result: 'ok' }],
    dtmfSent: '',
  };
  rt.calls.add(call); // before the await, so a concurrent connect to this user sees it (138003)
  try {
    call.answerSdp = await media.answer(input.sdp);
  } catch (err) {
    rt.calls.delete(call.id);
    await media.close().catch(() => undefined);
    throw invalidParameter('Invalid SDP in session.sdp.', `SDP validation error: ${(err as Error).message}`);
  }
  rt.log.debug({ callId: call.id, to: user.number || user.key, behaviour: user.rule.behaviour }, 'business-initiated call');
  callTimer(rt, call, rt.config.timing.connect_webhook_delay_ms, () => playUserScript(rt, number, call));
  return call.id;
}

/** What the called user does, per its rule (config users[] / default_user). */
function playUserScript(rt: SimulatorRuntime, number: BusinessNumber, call: SimulatedCall): void {
  const rule = call.user.rule;
  sendCallWebhook(rt, call, 'connect', 'connect', connectPayload(number.identity, {
    callId: call.id, direction: 'BUSINESS_INITIATED', user: call.user, at: rt.clock(), sdp: call.answerSdp!,
    ...(call.bizOpaque !== undefined ? { bizOpaque: call.bizOpaque } : {}),
  }));

  switch (rule.behaviour) {
    case 'fail':
      // The call fails before it is picked up: terminate FAILED with errors[] (docs/whatsapp-calling.md#error-codes: 138019–138023).
      callTimer(rt, call, rule.ring_ms, () => endCall(rt, call, {
        by: 'network', status: 'FAILED', reason: `failed with ${rule.error_code}`,
        errors: [{ code: rule.error_code, message: titleOf(rule.error_code), details: `Simulated failure ${rule.error_code}` }],
      }));
      return;
    case 'busy':
      // On another call: declined at once, without ringing; REJECTED is followed by terminate (docs/whatsapp-calling.md#status-webhook).
      callTimer(rt, call, rule.ring_ms, async () => {
        sendStatus(rt, number, call, 'REJECTED');
        await endCall(rt, call, { by: 'user', status: 'COMPLETED', reason: 'busy' });
      });
      return;
    default:
      callTimer(rt, call, rule.ring_ms, () => ring(rt, number, call));
  }
}

function ring(rt: SimulatorRuntime, number: BusinessNumber, call: SimulatedCall): void {
  const rule = call.user.rule;
  call.state = 'ringing';
  call.ringingAt = rt.clock();
  sendStatus(rt, number, call, 'RINGING');
  if (rule.behaviour === 'answer') {
    callTimer(rt, call, rule.answer_after_ms, () => {
      // The user picks up: audio starts now, and Meta's ACCEPTED may trail it (docs/whatsapp-calling.md#status-webhook).
      call.media?.startTalking();
      markAccepted(rt, call);
      // ACCEPTED is for auditing and may trail the media (docs/whatsapp-calling.md#status-webhook).
      sendStatus(rt, number, call, 'ACCEPTED');
    });
  } else if (rule.behaviour === 'reject') {
    callTimer(rt, call, rule.answer_after_ms, async () => {
      sendStatus(rt, number, call, 'REJECTED');
      await endCall(rt, call, { by: 'user', status: 'COMPLETED', reason: 'rejected by user' });
    });
  } else {
    // no_answer: rings until the (undocumented, configurable) ring timeout (docs/whatsapp-calling.md#business-initiated-calls).
    callTimer(rt, call, rt.config.timing.ring_timeout_ms, () =>
      endCall(rt, call, { by: 'timeout', status: 'COMPLETED', reason: 'not answered' }));
  }
}

/** The user declines a ringing business-initiated call or hangs up a connected one (control API). */
export async function userHangsUpBusinessCall(rt: SimulatorRuntime, number: BusinessNumber, call: SimulatedCall): Promise<void> {
  if (call.state === 'accepted') {
    await endCall(rt, call, { by: 'user', status: 'COMPLETED', reason: 'user hung up' });
    return;
  }
  sendStatus(rt, number, call, 'REJECTED');
  await endCall(rt, call, { by: 'user', status: 'COMPLETED', reason: 'rejected by user' });
}
