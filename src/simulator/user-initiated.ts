import { z } from 'zod';
import { callTimer, clearCallTimers, endCall, markAccepted, sendCallWebhook } from './call-lifecycle.js';
import type { SimulatedCall } from './call-state.js';
import { invalidParameter } from './graph-error.js';
import type { BusinessNumber, SimulatorRuntime } from './runtime.js';
import { connectPayload } from './webhook-payloads.js';

/**
 * User-initiated calls (docs/whatsapp-calling.md#user-initiated-calls): the user's phone sends a connect webhook with Meta's SDP
 * offer; the business may pre_accept (media set up, answer applied), then accept with the same SDP,
 * or reject. Nothing within `timing.accept_window_ms` → the call ends with a terminate webhook.
 */

export const userCallRequestSchema = z.object({
  /** Default: the first configured number. */
  phoneNumberId: z.string().regex(/^[0-9]+$/).optional(),
  /** The caller: digits, or a BSUID. */
  from: z.string().regex(/^(\+?[0-9]{5,20}|[A-Z]{2}\.[A-Za-z0-9]{1,256})$/, 'digits or a BSUID'),
  fromUserId: z.string().optional(),
  name: z.string().optional(),
  ctaPayload: z.string().max(512).optional(),
  deeplinkPayload: z.string().max(512).optional(),
  /** The user has a username and hides the number: `from` is "" in webhooks (docs/whatsapp-calling.md#user-identities). */
  hideNumber: z.boolean().optional(),
}).strict();
export type UserCallRequest = z.input<typeof userCallRequestSchema>;

/** A control-API request the simulator refuses; `status` is the HTTP status to answer with. */
export class SimulatorRequestError extends Error {
  override readonly name = 'SimulatorRequestError';
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function startUserCall(rt: SimulatorRuntime, input: UserCallRequest): Promise<{ callId: string }> {
  const parsed = userCallRequestSchema.safeParse(input);
  if (!parsed.success) {
    throw new SimulatorRequestError(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  }
  const req = parsed.data;
  const number = req.phoneNumberId ? rt.numbers.get(req.phoneNumberId) : rt.numbers.values().next().value;
  if (!number) throw new SimulatorRequestError(404, `unknown phone_number_id ${req.phoneNumberId}`);
  const pnid = number.identity.phoneNumberId;
  const overSip = rt.settings.isSipEnabled(pnid);
  if (overSip && !rt.sipEdge) {
    throw new SimulatorRequestError(409, 'SIP is enabled on this number: user-initiated calls arrive over SIP, and this simulator has no sip_edge (docs/sip-mode.md#simulator)');
  }
  if (rt.calls.active(pnid).length >= rt.config.limits.max_concurrent_calls) {
    // Over the limit the caller is told the call cannot be placed and no webhook is sent (docs/whatsapp-calling.md#limits).
    throw new SimulatorRequestError(429, 'concurrent calls limit reached: the call cannot be placed and no webhook is sent');
  }
  const resolved = rt.users.resolve(req.from.replace(/^\+/, ''), {
    ...(req.fromUserId ? { userId: req.fromUserId } : {}), ...(req.name ? { name: req.name } : {}),
  });
  const user = req.hideNumber ? { ...resolved, number: '' } : resolved;
  if (rt.calls.activeWith(pnid, user.key)) throw new SimulatorRequestError(409, 'this user already has an ongoing call with this number');
  if (overSip) {
    return rt.sipEdge!.startUserCall(number, user, {
      ...(req.ctaPayload !== undefined && { ctaPayload: req.ctaPayload }), ...(req.deeplinkPayload !== undefined && { deeplinkPayload: req.deeplinkPayload }),
    });
  }

  const media = rt.media.create({ toneHz: rt.config.media.tone_hz, listenHz: rt.config.media.listen_hz });
  const offer = await media.createOffer();
  // The caller's microphone is open from the start (nothing flows before ICE/DTLS anyway).
  media.startTalking();
  const now = rt.clock();
  const call: SimulatedCall = {
    id: rt.ids.wacid(resolved.number || user.key, number.identity.displayNumber),
    phoneNumberId: pnid,
    businessNumber: number.identity.displayNumber,
    direction: 'USER_INITIATED',
    // The caller's phone is already ringing locally when the webhook is sent (docs/whatsapp-calling.md#user-initiated-calls).
    state: 'ringing',
    user,
    createdAt: now,
    ringingAt: now,
    offerSdp: offer,
    ...(req.ctaPayload !== undefined ? { ctaPayload: req.ctaPayload } : {}),
    ...(req.deeplinkPayload !== undefined ? { deeplinkPayload: req.deeplinkPayload } : {}),
    media,
    timers: new Set(),
    webhooks: [],
    actions: [],
    dtmfSent: '',
  };
  rt.calls.add(call);
  sendCallWebhook(rt, call, 'connect', 'connect', connectPayload(number.identity, {
    callId: call.id, direction: 'USER_INITIATED', user, at: now, sdp: offer,
    ...(call.ctaPayload !== undefined ? { ctaPayload: call.ctaPayload } : {}),
    ...(call.deeplinkPayload !== undefined ? { deeplinkPayload: call.deeplinkPayload } : {}),
  }));
  callTimer(rt, call, rt.config.timing.accept_window_ms, () =>
    endCall(rt, call, { by: 'timeout', status: 'COMPLETED', reason: 'not answered within the accept window' }));
  rt.log.debug({ callId: call.id, from: user.number || user.key, phoneNumberId: pnid }, 'user-initiated call');
  return { callId: call.id };
}

function requireUserInitiated(call: SimulatedCall, action: string): void {
  if (call.direction !== 'USER_INITIATED') {
    throw invalidParameter(`Action ${action} is only valid for user-initiated calls.`, `Call ${call.id} was initiated by the business`);
  }
  if (call.state === 'accepted') {
    throw invalidParameter(`Cannot ${action} the call: it is already in progress.`, `Call ${call.id} was accepted`);
  }
}

/**
 * Applies the business's answer to the user's media once (at pre_accept, or at accept without one).
 * An answer the media refuses (Meta's SDP rules, docs/whatsapp-calling.md#sdp-rules) is error 100 with the reason.
 */
async function applyAnswer(call: SimulatedCall, sdp: string): Promise<void> {
  if (call.answerSdp !== undefined) return;
  try {
    await call.media?.applyAnswer(sdp);
  } catch (err) {
    throw invalidParameter('Invalid SDP in session.sdp.', `SDP validation error: ${(err as Error).message}`);
  }
  call.answerSdp = sdp;
}

function requireNotEnded(call: SimulatedCall): void {
  if (call.state === 'ended') throw invalidParameter('Invalid call_id: the call has already ended.', `Call ${call.id} ended`);
}

/** pre_accept: the answer is applied so ICE/DTLS can start; the caller's UI shows "Ringing" (docs/whatsapp-calling.md#user-initiated-calls). */
export async function preAcceptUserCall(rt: SimulatorRuntime, call: SimulatedCall, sdp: string): Promise<void> {
  requireUserInitiated(call, 'pre_accept');
  if (call.preAcceptSdp !== undefined && call.preAcceptSdp !== sdp) {
    throw invalidParameter('The SDP answer differs from the one already sent with pre_accept.');
  }
  await applyAnswer(call, sdp);
  requireNotEnded(call); // the accept window may have closed meanwhile
  call.state = 'pre_accepted';
  call.preAcceptSdp = sdp;
  call.preAcceptedAt = rt.clock();
}

/** accept: must carry the same SDP as pre_accept (docs/whatsapp-calling.md#call-actions). Starts the call timer. */
export async function acceptUserCall(rt: SimulatorRuntime, call: SimulatedCall, sdp: string, bizOpaque?: string): Promise<void> {
  requireUserInitiated(call, 'accept');
  if (call.preAcceptSdp !== undefined && call.preAcceptSdp !== sdp) {
    throw invalidParameter(
      'The SDP answer in accept must match the SDP answer sent with pre_accept.',
      'SDP validation error: accept and pre_accept carry different SDP answers for this call',
    );
  }
  await applyAnswer(call, sdp);
  requireNotEnded(call);
  requireUserInitiated(call, 'accept'); // a concurrent accept may have won
  if (bizOpaque !== undefined) call.bizOpaque = bizOpaque; // echoed in the terminate webhook
  clearCallTimers(rt, call); // the accept window is over
  markAccepted(rt, call);
}

export async function rejectUserCall(rt: SimulatorRuntime, call: SimulatedCall): Promise<void> {
  requireUserInitiated(call, 'reject');
  await endCall(rt, call, { by: 'business', status: 'COMPLETED', reason: 'rejected by business' });
}

/** The caller hangs up (control API): before the answer it is a cancelled call, after it a normal end. */
export async function userHangsUpOwnCall(rt: SimulatorRuntime, _number: BusinessNumber, call: SimulatedCall): Promise<void> {
  const reason = call.state === 'accepted' ? 'user hung up' : 'caller hung up before the answer';
  await endCall(rt, call, { by: 'user', status: 'COMPLETED', reason });
}
