/**
 * Graph API faults on every call action, through the bridge and the simulator over loopback HTTP
 * (fake SIP and media legs): 5xx, 429 with code 613 or 138005, no answer (timeout) and connections
 * reset. What the PBX gets must be the README's error table; a failed pre_accept/accept closes both
 * sides; terminate and reject are tried again until Meta confirms (README "Operations", "Ending a
 * call on WhatsApp"); connect is never retried (docs/whatsapp-calling.md#retries).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PBX_ANSWER } from '../support/fakes/fake-media.js';
import type { FakePbxUacLeg } from '../support/fakes/fake-pbx-dialer.js';
import type { FakePbxUasLeg } from '../support/fakes/fake-pbx-uas-leg.js';
import { startFaultStack, type FaultStack } from '../support/faults/fault-stack.js';
import { readmeRow } from '../support/faults/readme-error-table.js';
import { waitFor } from '../support/media/wait.js';

let s: FaultStack | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
});

/** Graph requests time out after this (numbers[].timeout_ms); a hung request is held much longer. */
const GRAPH_TIMEOUT_MS = 300;

function stack(): Promise<FaultStack> {
  return startFaultStack({
    number: { timeout_ms: GRAPH_TIMEOUT_MS },
    sim: {
      default_user: { behaviour: 'answer', ring_ms: 10, answer_after_ms: 50, permission: 'temporary' },
      users: [{ match: '4477009003*', behaviour: 'no_answer', permission: 'temporary' }],
      timing: { accept_window_ms: 20_000, ring_timeout_ms: 20_000 },
    },
  });
}

const actions = (st: FaultStack, id: string) =>
  (st.sim.getCall(id)?.actions ?? []).map((a) => `${a.action}:${a.result}${a.fault ? ` (${a.fault})` : ''}`);

async function nothingOpen(st: FaultStack, waCallId?: string): Promise<void> {
  await waitFor('no call left in watrunk', () => st.bridge.registry.size === 0, { timeoutMs: 3_000 });
  expect(st.media.openSessions()).toEqual([]);
  if (waCallId) await waitFor('the WhatsApp call ended', () => st.sim.getCall(waCallId)?.state === 'ended', { timeoutMs: 5_000 });
  expect(st.sim.listCalls().filter((c) => c.state !== 'ended')).toEqual([]);
}

describe('Graph faults on connect: the PBX gets the README error table, connect is sent once', () => {
  it.each([
    ['HTTP 500 (code 1)', { fault: 'error', status: 500 }, 'other 5xx'],
    ['HTTP 503 (code 1)', { fault: 'error', status: 503 }, 'other 5xx'],
    ['429 with code 613', { fault: 'error', code: 613 }, '613'],
    ['429 with code 138005', { fault: 'error', code: 138005 }, '138005'],
    ['no answer', { fault: 'hang', hang_ms: 10_000 }, 'Graph timeout'],
    ['connection reset', { fault: 'reset' }, 'network error'],
  ] as const)('%s', async (_name, fault, readmeKey) => {
    s = await stack();
    await s.control('POST', '/_sim/faults', { graph: { action: 'connect', ...fault } });
    const leg = await s.invite('447700900123');
    const row = readmeRow(readmeKey);
    expect(leg.final).toMatchObject({ status: row.status, reason: row.reason });
    expect(leg.final!.headers['Retry-After']).toBe(row.retryAfter === undefined ? undefined : String(row.retryAfter));
    expect(leg.final!.headers['Warning']).toMatch(/^399 watrunk "/);
    // Never retried: a second connect would have gone through and rung the user.
    expect(await s.metric('watrunk_provider_requests_total', { operation: 'connect' })).toBe(1);
    expect(s.sim.listCalls()).toEqual([]);
    await nothingOpen(s);
  });

  // A connect that Meta carried out but whose answer was lost: its webhooks name watrunk's call id
  // (biz_opaque_callback_data, docs/whatsapp-calling.md#tracking-data) and crash recovery, which
  // adopted the call, terminates it.
  it('a connect carried out whose answer is lost: 504 to the PBX, and the call that rings anyway is terminated', async () => {
    s = await stack();
    await s.control('POST', '/_sim/faults', { graph: { action: 'connect', fault: 'hang', applied: true, hang_ms: 10_000 } });
    const leg = await s.invite('447700900301');
    expect(leg.final).toMatchObject({ status: readmeRow('Graph timeout').status });
    const call = await waitFor('the call Meta placed', () => s!.sim.listCalls()[0], { timeoutMs: 2_000 });
    await waitFor('terminated by watrunk', () => s!.sim.getCall(call.id)?.endedBy === 'business', { timeoutMs: 5_000 });
    await nothingOpen(s, call.id);
  });
});

/** A WhatsApp user's call until watrunk's INVITE reaches the (fake) PBX. */
async function userCall(st: FaultStack, from = '447700900150'): Promise<{ callId: string; leg: FakePbxUacLeg }> {
  const { callId } = await st.sim.startUserCall({ from });
  const leg = await waitFor('INVITE to the PBX', () => st.dialer.legs.find((l) => l.req.headers['X-WA-Call-Id'] === callId), { timeoutMs: 3_000 });
  return { callId, leg };
}

describe('Graph faults on pre_accept and accept: both sides are closed', () => {
  const twice = (action: string, fault: Record<string, unknown>) => ({ graph: { action, count: 2, ...fault } });

  it.each([
    ['5xx', { fault: 'error', status: 503 }, 'pre_accept:1 (error:503/1)'],
    ['no answer', { fault: 'hang', hang_ms: 10_000 }, 'pre_accept:no_answer (hang)'],
    ['connection reset', { fault: 'reset' }, 'pre_accept:reset (reset)'],
  ])('pre_accept fails (%s) on both tries: CANCEL to the PBX, reject on WhatsApp', async (_name, fault, seen) => {
    s = await stack();
    await s.control('POST', '/_sim/faults', twice('pre_accept', fault));
    const { callId, leg } = await userCall(s);
    leg.ring(PBX_ANSWER);
    await waitFor('CANCEL to the PBX', () => leg.cancelled, { timeoutMs: 3_000 });
    await nothingOpen(s, callId);
    expect(actions(s, callId)).toEqual([seen, seen, 'reject:ok']);
    expect(s.sim.getCall(callId)!.endedBy).toBe('business');
  });

  it('pre_accept refused with 429 / code 613 is not retried: CANCEL and reject at once', async () => {
    s = await stack();
    await s.control('POST', '/_sim/faults', { graph: { action: 'pre_accept', fault: 'error', code: 613 } });
    const { callId, leg } = await userCall(s);
    leg.ring(PBX_ANSWER);
    await waitFor('CANCEL to the PBX', () => leg.cancelled, { timeoutMs: 3_000 });
    await nothingOpen(s, callId);
    expect(actions(s, callId)).toEqual(['pre_accept:613 (error:default/613)', 'reject:ok']);
  });

  it.each([
    ['5xx', { fault: 'error', status: 500 }],
    ['no answer', { fault: 'hang', hang_ms: 10_000 }],
    ['connection reset', { fault: 'reset' }],
  ])('accept fails (%s) on both tries: BYE to the PBX, terminate on WhatsApp', async (_name, fault) => {
    s = await stack();
    await s.control('POST', '/_sim/faults', twice('accept', fault));
    const { callId, leg } = await userCall(s);
    leg.answer(PBX_ANSWER);
    await waitFor('BYE to the PBX', () => leg.byes[0], { timeoutMs: 3_000 });
    expect(leg.byes[0]!['Reason']).toMatch(/accept failed/);
    await nothingOpen(s, callId);
    const seen = actions(s, callId);
    expect(seen.slice(0, 2).every((a) => a.startsWith('accept:') && a.includes('('))).toBe(true);
    expect(seen.slice(2)).toEqual(['terminate:ok']);
  });

  it('one failed accept is absorbed by the single fast retry: the call is answered', async () => {
    s = await stack();
    await s.control('POST', '/_sim/faults', { graph: { action: 'accept', fault: 'error', status: 502 } });
    const { callId, leg } = await userCall(s);
    leg.answer(PBX_ANSWER);
    await waitFor('accepted on WhatsApp', () => s!.sim.getCall(callId)?.state === 'accepted', { timeoutMs: 3_000 });
    expect(actions(s, callId)).toEqual(['accept:1 (error:502/1)', 'accept:ok']);
    expect(leg.byes).toEqual([]);
    leg.bye();
    await nothingOpen(s, callId);
  });
});

/** A PBX call answered by the WhatsApp user; resolves with the leg and WhatsApp's call id. */
async function answeredBusinessCall(st: FaultStack): Promise<{ leg: FakePbxUasLeg; callId: string }> {
  const leg = await st.invite('447700900123');
  await waitFor('200 OK to the PBX', () => leg.answered, { timeoutMs: 3_000 });
  const callId = st.sim.listCalls().find((c) => c.state === 'accepted')!.id;
  return { leg, callId };
}

describe('terminate and reject are tried again until Meta confirms', () => {
  it.each([
    ['5xx', { fault: 'error', status: 503 }],
    ['no answer', { fault: 'hang', hang_ms: 10_000 }],
    ['connection reset', { fault: 'reset' }],
  ])('terminate fails (%s) twice: the PBX side ends at once, terminate is confirmed on the next try', async (_name, fault) => {
    s = await stack();
    const { leg, callId } = await answeredBusinessCall(s);
    await s.control('POST', '/_sim/faults', { graph: { action: 'terminate', count: 2, ...fault } });
    leg.bye();
    // The teardown does not wait for Meta (README "Ending a call on WhatsApp").
    await waitFor('no call left in watrunk', () => s!.bridge.registry.size === 0, { timeoutMs: 1_500 });
    expect(s.sim.getCall(callId)!.state).toBe('accepted');
    await nothingOpen(s, callId);
    expect(actions(s, callId).at(-1)).toBe('terminate:ok');
    expect(actions(s, callId).filter((a) => a.startsWith('terminate'))).toHaveLength(3);
    expect(await s.metric('watrunk_terminate_retries_total', { action: 'terminate' })).toBe(1);
    expect(await s.metric('watrunk_terminate_failures_total')).toBe(0);
  });

  it('terminate carried out but answered 5xx: the terminate webhook stops the tries, no failure is counted', async () => {
    s = await stack();
    const { leg, callId } = await answeredBusinessCall(s);
    await s.control('POST', '/_sim/faults', { graph: { action: 'terminate', fault: 'error', status: 500, applied: true } });
    leg.bye();
    await nothingOpen(s, callId);
    expect(s.sim.getCall(callId)!.endedBy).toBe('business');
    // The first retry of the ending would go out 1 s after the failed try: give it that window, then look.
    await new Promise((r) => setTimeout(r, 1_300));
    // Only the Graph client's own fast retry went out (answered "already ended"), none of the ender's.
    expect(actions(s, callId)).toEqual(['connect:ok', 'terminate:ok (error:500/1:applied)', 'terminate:100']);
    expect(await s.metric('watrunk_terminate_retries_total')).toBe(0);
    expect(await s.metric('watrunk_terminate_failures_total')).toBe(0);
  });

  it('terminate refused with a 4xx is final: counted as refused, not retried', async () => {
    s = await stack();
    const { leg, callId } = await answeredBusinessCall(s);
    await s.control('POST', '/_sim/faults', { graph: { action: 'terminate', fault: 'error', code: 100 } });
    leg.bye();
    await waitFor('counted as refused', async () => (await s!.metric('watrunk_terminate_failures_total', { action: 'terminate', reason: 'refused' })) === 1, { timeoutMs: 3_000 });
    expect(await s.metric('watrunk_terminate_retries_total')).toBe(0);
    expect(actions(s, callId)).toEqual(['connect:ok', 'terminate:100 (error:default/100)']);
    // The alarm case (README: alert on it): the call is still up at Meta. End it for the next test.
    expect(s.sim.getCall(callId)!.state).toBe('accepted');
    await s.control('POST', `/_sim/calls/${encodeURIComponent(callId)}/hangup`);
    await nothingOpen(s, callId);
  });

  it('reject fails with 5xx twice after the PBX refused the call: rejected on the next try', async () => {
    s = await stack();
    await s.control('POST', '/_sim/faults', { graph: { action: 'reject', fault: 'error', status: 500, count: 2 } });
    const { callId, leg } = await userCall(s);
    leg.fail(486, 'Busy Here');
    await waitFor('no call left in watrunk', () => s!.bridge.registry.size === 0, { timeoutMs: 1_500 });
    await nothingOpen(s, callId);
    expect(actions(s, callId)).toEqual(['reject:1 (error:500/1)', 'reject:1 (error:500/1)', 'reject:ok']);
    expect(await s.metric('watrunk_terminate_retries_total', { action: 'reject' })).toBe(1);
    expect(await s.metric('watrunk_terminate_failures_total')).toBe(0);
  });
});
