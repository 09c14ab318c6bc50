/**
 * The same call flows over every provider: the bridge with the provider's adapter, the simulator in
 * the provider's dialect, over loopback HTTP (fake SIP and media legs). What the PBX and WhatsApp
 * see must not depend on the provider: the README's tables, the same SIP answers, nothing left open.
 * Meta runs too, as the reference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PBX_ANSWER } from '../support/fakes/fake-media.js';
import { startFaultStack, type FaultStack } from '../support/faults/fault-stack.js';
import { readmeRow } from '../support/faults/readme-error-table.js';
import { waitFor } from '../support/media/wait.js';
import type { ProviderName } from '../../src/config/provider-capabilities.js';

const PROVIDERS: ProviderName[] = ['meta', '360dialog', 'cams', 'conceptomovil'];

const ANSWERS = '447700900123';
const HANGS_UP = '447700900124';
const REJECTS = '447700900200';
const NEVER_ANSWERS = '447700900300';
const NO_PERMISSION = '447700900400';

const simUsers = {
  default_user: { behaviour: 'answer' as const, ring_ms: 10, answer_after_ms: 30, permission: 'temporary' as const },
  users: [
    { match: REJECTS, behaviour: 'reject' as const, ring_ms: 10, answer_after_ms: 30, permission: 'temporary' as const },
    { match: NEVER_ANSWERS, behaviour: 'no_answer' as const, ring_ms: 10, permission: 'temporary' as const },
    { match: NO_PERMISSION, behaviour: 'answer' as const, permission: 'none' as const, permission_reply: 'none' as const },
  ],
  // The user's phone stops ringing after 800 ms: a terminate without error, i.e. no answer.
  timing: { accept_window_ms: 20_000, ring_timeout_ms: 800 },
};

const actionsOf = (st: FaultStack, id: string) => (st.sim.getCall(id)?.actions ?? []).map((a) => a.action);
const callWith = (st: FaultStack, user: string) => st.sim.listCalls().filter((c) => c.user.number === user).at(-1);

async function nothingOpen(st: FaultStack): Promise<void> {
  await waitFor('no call left in watrunk', () => st.bridge.registry.size === 0, { timeoutMs: 3_000 });
  await waitFor('no WhatsApp call left', () => st.sim.listCalls().every((c) => c.state === 'ended'), { timeoutMs: 3_000 });
  expect(st.media.openSessions()).toEqual([]);
}

describe.each(PROVIDERS)('provider %s: calls carried exactly like Meta\'s', (provider) => {
  let s: FaultStack;
  beforeAll(async () => {
    s = await startFaultStack({ provider, sim: simUsers, calls: { no_answer_timeout_s: 5 } });
  });
  afterAll(async () => { await s?.stop(); });

  it('PBX -> WhatsApp answered: 183 then 200; the PBX hangs up and WhatsApp gets terminate', async () => {
    const leg = await s.invite(ANSWERS);
    await waitFor('200 OK to the PBX', () => leg.answered, { timeoutMs: 3_000 });
    expect(leg.statuses).toEqual([183, 200]);
    expect(leg.final!.headers['X-WA-Call-Id']).toBeDefined();
    const call = callWith(s, ANSWERS)!;
    expect(call.state).toBe('accepted');
    leg.bye();
    await waitFor('terminated on WhatsApp', () => s.sim.getCall(call.id)?.state === 'ended', { timeoutMs: 3_000 });
    expect(actionsOf(s, call.id)).toEqual(['connect', 'terminate']);
    expect(s.sim.getCall(call.id)!.endedBy).toBe('business');
    await nothingOpen(s);
  });

  it('PBX -> WhatsApp, the WhatsApp user hangs up: BYE to the PBX with Q.850 cause 16', async () => {
    const leg = await s.invite(HANGS_UP);
    await waitFor('200 OK to the PBX', () => leg.answered, { timeoutMs: 3_000 });
    const call = callWith(s, HANGS_UP)!;
    await s.control('POST', `/_sim/calls/${encodeURIComponent(call.id)}/hangup`);
    await waitFor('BYE to the PBX', () => leg.byes[0], { timeoutMs: 3_000 });
    expect(leg.byes[0]!['Reason']).toMatch(/^Q\.850;cause=16/);
    expect(actionsOf(s, call.id)).toEqual(['connect']);
    await nothingOpen(s);
  });

  it('PBX -> WhatsApp declined by the user: 603', async () => {
    const leg = await s.invite(REJECTS);
    await waitFor('final answer', () => leg.final, { timeoutMs: 3_000 });
    expect(leg.final).toMatchObject({ status: 603, reason: 'Decline' });
    expect(leg.answered).toBe(false);
    await nothingOpen(s);
  });

  it('PBX -> WhatsApp not answered: 480', async () => {
    const leg = await s.invite(NEVER_ANSWERS);
    await waitFor('final answer', () => leg.final, { timeoutMs: 3_000 });
    expect(leg.final).toMatchObject({ status: 480 });
    await nothingOpen(s);
  });

  it('PBX -> WhatsApp, the PBX cancels while it rings: terminate on WhatsApp', async () => {
    const leg = await s.invite(NEVER_ANSWERS);
    await waitFor('183 to the PBX', () => leg.statuses.includes(183), { timeoutMs: 3_000 });
    const call = callWith(s, NEVER_ANSWERS)!;
    leg.cancel();
    await waitFor('terminated on WhatsApp', () => s.sim.getCall(call.id)?.state === 'ended', { timeoutMs: 3_000 });
    expect(s.sim.getCall(call.id)!.endedBy).toBe('business');
    expect(actionsOf(s, call.id)).toEqual(['connect', 'terminate']);
    await nothingOpen(s);
  });

  it('a Meta error passed through the provider keeps its row of the error table (138006 → 403)', async () => {
    const leg = await s.invite(NO_PERMISSION);
    await waitFor('final answer', () => leg.final, { timeoutMs: 3_000 });
    const row = readmeRow(138006);
    expect(leg.final).toMatchObject({ status: row.status, reason: row.reason });
    expect(leg.final!.headers['Warning']).toContain('(138006)');
    await nothingOpen(s);
  });

  it('throttling (code 613, or the provider\'s own) is 503 with Retry-After, like Meta\'s rate limit', async () => {
    const connects = () => s.metric('watrunk_provider_requests_total', { operation: 'connect' });
    const before = await connects();
    await s.control('POST', '/_sim/faults', { graph: { action: 'connect', fault: 'error', code: 613 } });
    const leg = await s.invite(ANSWERS);
    await waitFor('final answer', () => leg.final, { timeoutMs: 3_000 });
    const row = readmeRow(613);
    expect(leg.final).toMatchObject({ status: row.status, reason: row.reason });
    expect(leg.final!.headers['Retry-After']).toBe(String(row.retryAfter));
    // connect is never retried, whatever the provider.
    expect(await connects()).toBe(before + 1);
    await nothingOpen(s);
  });

  it('WhatsApp -> PBX answered: pre_accept on 183, accept on 200; the user hangs up and the PBX gets BYE', async () => {
    const { callId } = await s.sim.startUserCall({ from: '447700900150' });
    const leg = await waitFor('INVITE to the PBX', () => s.dialer.legs.find((l) => l.req.headers['X-WA-Call-Id'] === callId), { timeoutMs: 3_000 });
    expect(leg.req.headers['X-WA-Business-Number']).toBe('15551112222');
    expect(leg.req.callingNumber).toBe('+447700900150');
    leg.ring(PBX_ANSWER);
    await waitFor('pre_accept', () => actionsOf(s, callId).includes('pre_accept'), { timeoutMs: 3_000 });
    leg.answer(PBX_ANSWER);
    await waitFor('accepted on WhatsApp', () => s.sim.getCall(callId)?.state === 'accepted', { timeoutMs: 3_000 });
    expect(actionsOf(s, callId)).toEqual(['pre_accept', 'accept']);
    await s.control('POST', `/_sim/calls/${encodeURIComponent(callId)}/hangup`);
    await waitFor('BYE to the PBX', () => leg.byes[0], { timeoutMs: 3_000 });
    await nothingOpen(s);
  });

  it('WhatsApp -> PBX, the PBX hangs up: terminate on WhatsApp', async () => {
    const { callId } = await s.sim.startUserCall({ from: '447700900151' });
    const leg = await waitFor('INVITE to the PBX', () => s.dialer.legs.find((l) => l.req.headers['X-WA-Call-Id'] === callId), { timeoutMs: 3_000 });
    leg.answer(PBX_ANSWER);
    await waitFor('accepted on WhatsApp', () => s.sim.getCall(callId)?.state === 'accepted', { timeoutMs: 3_000 });
    leg.bye();
    await waitFor('ended on WhatsApp', () => s.sim.getCall(callId)?.state === 'ended', { timeoutMs: 3_000 });
    expect(actionsOf(s, callId)).toEqual(['accept', 'terminate']);
    await nothingOpen(s);
  });

  it('WhatsApp -> PBX refused by the PBX (486): reject on WhatsApp', async () => {
    const { callId } = await s.sim.startUserCall({ from: '447700900152' });
    const leg = await waitFor('INVITE to the PBX', () => s.dialer.legs.find((l) => l.req.headers['X-WA-Call-Id'] === callId), { timeoutMs: 3_000 });
    leg.fail(486, 'Busy Here');
    await waitFor('ended on WhatsApp', () => s.sim.getCall(callId)?.state === 'ended', { timeoutMs: 3_000 });
    expect(actionsOf(s, callId)).toEqual(['reject']);
    await nothingOpen(s);
  });

  it('WhatsApp -> PBX, the caller gives up while it rings: CANCEL to the PBX', async () => {
    const { callId } = await s.sim.startUserCall({ from: '447700900153' });
    const leg = await waitFor('INVITE to the PBX', () => s.dialer.legs.find((l) => l.req.headers['X-WA-Call-Id'] === callId), { timeoutMs: 3_000 });
    await s.control('POST', `/_sim/calls/${encodeURIComponent(callId)}/hangup`);
    await waitFor('CANCEL to the PBX', () => leg.cancelled, { timeoutMs: 3_000 });
    await nothingOpen(s);
  });
});

describe.each(PROVIDERS)('provider %s: credentials refused', (provider) => {
  it('the PBX gets the loud 503 WhatsApp Auth Failed, and the failure is logged at error level', async () => {
    const lines: string[] = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'info' }, { write: (l: string) => { lines.push(l); } });
    const s = await startFaultStack({ provider, wrongCredentials: true, sim: simUsers, logger });
    try {
      const leg = await s.invite(ANSWERS);
      await waitFor('final answer', () => leg.final, { timeoutMs: 3_000 });
      expect(leg.final).toMatchObject({ status: 503, reason: 'WhatsApp Auth Failed' });
      expect(leg.final!.headers['Retry-After']).toBeUndefined();
      expect(s.sim.listCalls()).toEqual([]);
      expect(lines.some((l) => /"level":50/.test(l) || /"level":"error"/.test(l))).toBe(true);
      expect(lines.join('')).not.toContain('-wrong');
    } finally {
      await s.stop();
    }
  });
});
