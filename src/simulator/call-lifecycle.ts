import type { EndedBy, SimulatedCall } from './call-state.js';
import type { WebhookKind } from './fault-plan.js';
import { ERROR_HREF } from './graph-error.js';
import { sendPermissionReply } from './permission-reply.js';
import type { BusinessNumber, SimulatorRuntime } from './runtime.js';
import { terminatePayload, type WebhookErrorInfo } from './webhook-payloads.js';

/** Steps shared by both call directions: call-scoped timers and webhooks, accepting, ending. */

export function numberOf(rt: SimulatorRuntime, call: SimulatedCall): BusinessNumber {
  return rt.numbers.get(call.phoneNumberId)!;
}

export function sendCallWebhook(rt: SimulatorRuntime, call: SimulatedCall, kind: WebhookKind, summary: string, payload: unknown): void {
  const record = rt.webhooks.send(numberOf(rt, call).target, payload, { kind, summary, callId: call.id });
  call.webhooks.push(record);
}

/** A timer that belongs to the call: cancelled when the call ends, skipped if it already has. */
export function callTimer(rt: SimulatorRuntime, call: SimulatedCall, ms: number, fn: () => void | Promise<void>): void {
  const t = rt.timers.set(ms, async () => {
    call.timers.delete(t);
    if (call.state !== 'ended') await fn();
  });
  call.timers.add(t);
}

export function clearCallTimers(rt: SimulatorRuntime, call: SimulatedCall): void {
  for (const t of call.timers) rt.timers.clear(t);
  call.timers.clear();
}

/** The call is connected: counts toward the limits, and the user hangs up later if the rule says so. */
export function markAccepted(rt: SimulatorRuntime, call: SimulatedCall): void {
  call.state = 'accepted';
  call.acceptedAt = rt.clock();
  rt.permissions.recordConnected(call.phoneNumberId, call.user, call.direction === 'BUSINESS_INITIATED');
  const hangupAfter = call.user.rule.hangup_after_ms;
  if (hangupAfter !== undefined) {
    callTimer(rt, call, hangupAfter, () => endCall(rt, call, { by: 'user', status: 'COMPLETED', reason: 'user hung up' }));
  }
}

export interface CallEnding {
  by: EndedBy;
  /**
   * Unanswered and rejected calls end COMPLETED: the newer BIC doc says "even unanswered calls are
   * considered completed" (docs/whatsapp-calling.md#terminate-webhook); FAILED is kept for failures carrying errors[].
   */
  status: 'COMPLETED' | 'FAILED';
  reason: string;
  errors?: WebhookErrorInfo[];
  /** false: end silently (simulator shutdown / reset). */
  notify?: boolean;
}

/** Ends the call once: terminate webhook (docs/whatsapp-calling.md#terminate-webhook), media closed, permission bookkeeping. */
export async function endCall(rt: SimulatorRuntime, call: SimulatedCall, end: CallEnding): Promise<void> {
  if (call.state === 'ended') return;
  const wasAccepted = call.acceptedAt !== undefined;
  call.state = 'ended';
  call.endedAt = rt.clock();
  call.endedBy = end.by;
  call.endStatus = end.status;
  call.endReason = end.reason;
  clearCallTimers(rt, call);
  if (end.notify !== false && call.sip) {
    // SIP mode: Meta sends no calling webhooks by default (docs/sip-mode.md#webhooks); the call ends in SIP.
    await call.sip.end(end).catch((err: unknown) => rt.log.warn({ err, callId: call.id }, 'ending the SIP call failed'));
  } else if (end.notify !== false) {
    sendCallWebhook(rt, call, 'terminate', `terminate:${end.status}`, terminatePayload(numberOf(rt, call).identity, {
      callId: call.id,
      direction: call.direction,
      user: call.user,
      at: call.endedAt,
      status: end.status,
      ...(call.acceptedAt !== undefined ? { startedAt: call.acceptedAt } : {}),
      ...(call.bizOpaque !== undefined ? { bizOpaque: call.bizOpaque } : {}),
      ...(call.ctaPayload !== undefined ? { ctaPayload: call.ctaPayload } : {}),
      ...(call.deeplinkPayload !== undefined ? { deeplinkPayload: call.deeplinkPayload } : {}),
      ...(end.errors ? { errors: end.errors, href: ERROR_HREF } : {}),
    }));
  }
  if (call.media) {
    call.mediaReport = call.media.report();
    await call.media.close().catch((err: unknown) => rt.log.warn({ err, callId: call.id }, 'closing simulated media failed'));
  }
  rt.log.debug({ callId: call.id, by: end.by, status: end.status, reason: end.reason }, 'simulated call ended');
  if (end.notify === false) return;
  const number = numberOf(rt, call);
  if (call.direction === 'BUSINESS_INITIATED' && !wasAccepted && end.by !== 'business' && end.status === 'COMPLETED') {
    // 4 consecutive unanswered/rejected calls revoke the permission: reject/automatic, no context (docs/whatsapp-calling.md#permissions)
    if (rt.permissions.recordUnanswered(call.phoneNumberId, call.user)) {
      sendPermissionReply(rt, number, call.user, { response: 'reject', source: 'automatic' });
    }
  }
  if (call.direction === 'USER_INITIATED' && rt.settings.isCallbackPermissionEnabled(call.phoneNumberId)
      && call.user.rule.permission_reply === 'accept'
      && rt.permissions.status(call.phoneNumberId, call.user).status !== 'permanent') {
    // Callback permission: a user who called (answered or missed) grants a temporary permission;
    // context.id is the wacid of the user's call (docs/whatsapp-calling.md#permission-replies).
    sendPermissionReply(rt, number, call.user, { response: 'accept', source: 'automatic', contextId: call.id });
  }
}
