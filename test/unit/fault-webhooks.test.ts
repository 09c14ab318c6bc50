/**
 * Webhook delivery faults, through the bridge and the simulator over loopback HTTP (fake SIP and
 * media legs). Meta delivers at least once, in no guaranteed order, and retries for days
 * (docs/whatsapp-calling.md#delivery): duplicates must do nothing twice, a terminate that overtakes
 * its connect must leave nothing set up, a status that never comes must not leave a call hanging,
 * a late connect must not ring anyone, and webhooks about calls watrunk never made are answered 200
 * and counted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { serialiseLikeMeta, signWebhookBody } from '../../src/simulator/webhook-delivery.js';
import { connectPayload, statusPayload, terminatePayload } from '../../src/simulator/webhook-payloads.js';
import { PBX_ANSWER, type FakeMediaEngine } from '../support/fakes/fake-media.js';
import { APP_SECRET, BUSINESS_NUMBER, PNID, startFaultStack, type FaultStack, type FaultStackOptions } from '../support/faults/fault-stack.js';
import { readmeRow } from '../support/faults/readme-error-table.js';
import { waitFor } from '../support/media/wait.js';

let s: FaultStack | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
});

function stack(extra: FaultStackOptions = {}): Promise<FaultStack> {
  return startFaultStack({
    ...extra,
    sim: {
      default_user: { behaviour: 'answer', ring_ms: 20, answer_after_ms: 100, permission: 'temporary' },
      users: [
        { match: '447700900200', behaviour: 'fail', error_code: 138020, ring_ms: 50, permission: 'temporary' },
        { match: '447700900300', behaviour: 'no_answer', permission: 'temporary' },
      ],
      timing: { accept_window_ms: 20_000, ring_timeout_ms: 30_000 },
      ...extra.sim,
    },
  });
}

const statuses = (leg: { statuses: number[] }) => leg.statuses;
const actionsOf = (st: FaultStack, id: string) => st.sim.getCall(id)?.actions.map((a) => a.action) ?? [];
const events = (st: FaultStack, disposition: string, kind?: string) =>
  st.metric('watrunk_webhook_events_total', { disposition, ...(kind ? { kind } : {}) });

async function nothingOpen(st: FaultStack, waCallId?: string): Promise<void> {
  await waitFor('no call left in watrunk', () => st.bridge.registry.size === 0, { timeoutMs: 3_000 });
  expect(st.media.openSessions()).toEqual([]);
  if (waCallId) await waitFor('the WhatsApp call ended', () => st.sim.getCall(waCallId)?.state === 'ended', { timeoutMs: 5_000 });
  expect(st.sim.listCalls().filter((c) => c.state !== 'ended')).toEqual([]);
}

describe('duplicated webhooks', () => {
  it('every webhook of a business-initiated call twice: one 183, one 200, one terminate', async () => {
    s = await stack();
    await s.control('POST', '/_sim/faults', { duplicate_next: 20 });
    const leg = await s.invite('447700900123');
    await waitFor('200 OK to the PBX', () => leg.answered, { timeoutMs: 3_000 });
    const waId = s.sim.listCalls()[0]!.id;
    await s.sim.webhooksIdle();
    expect(statuses(leg)).toEqual([183, 200]);
    leg.bye();
    await nothingOpen(s, waId);
    await s.sim.webhooksIdle();
    expect(actionsOf(s, waId)).toEqual(['connect', 'terminate']);
    // connect, RINGING, ACCEPTED and terminate each came twice.
    expect(await events(s, 'duplicate')).toBe(4);
  });

  it('a user\'s connect webhook twice: the PBX is rung once', async () => {
    s = await stack();
    await s.control('POST', '/_sim/faults', { duplicate_next: 1, kind: 'connect' });
    const { callId } = await s.sim.startUserCall({ from: '447700900150' });
    await s.sim.webhooksIdle();
    const leg = await waitFor('INVITE to the PBX', () => s!.dialer.legs[0], { timeoutMs: 3_000 });
    expect(s.dialer.legs).toHaveLength(1);
    expect(await events(s, 'duplicate', 'call.offered')).toBe(1);
    leg.answer(PBX_ANSWER);
    await waitFor('accepted', () => s!.sim.getCall(callId)?.state === 'accepted', { timeoutMs: 3_000 });
    leg.bye();
    await nothingOpen(s, callId);
    expect(actionsOf(s, callId)).toEqual(['accept', 'terminate']);
  });
});

describe('reordered webhooks', () => {
  it('a user\'s terminate before its connect: nothing is set up, the PBX is never rung', async () => {
    s = await stack();
    await s.control('POST', '/_sim/faults', { reorder_next: true, kind: 'connect' });
    const { callId } = await s.sim.startUserCall({ from: '447700900151' });
    await s.control('POST', `/_sim/calls/${encodeURIComponent(callId)}/hangup`);
    await s.sim.webhooksIdle();
    expect(s.sim.getCall(callId)!.webhooks.map((w) => w.faults)).toEqual([['reorder'], []]);
    await waitFor('the late connect counted', async () => (await events(s!, 'after_terminate', 'call.offered')) === 1, { timeoutMs: 2_000 });
    expect(s.dialer.legs).toEqual([]);
    expect(actionsOf(s, callId)).toEqual([]);
    await nothingOpen(s, callId);
  });

  it('a business call\'s terminate (138020) before its connect: the README status, nothing set up', async () => {
    s = await stack();
    await s.control('POST', '/_sim/faults', { reorder_next: true, kind: 'connect' });
    const leg = await s.invite('447700900200');
    await waitFor('final response', () => leg.final, { timeoutMs: 3_000 });
    const row = readmeRow(138020);
    expect(leg.final).toMatchObject({ status: row.status, reason: row.reason });
    expect(leg.final!.headers['Retry-After']).toBe(String(row.retryAfter));
    expect(statuses(leg)).toEqual([row.status]); // no 183 from the connect that came after
    const waId = s.sim.listCalls()[0]!.id;
    await s.sim.webhooksIdle();
    expect(await events(s, 'after_terminate', 'call.answered')).toBe(1);
    expect(actionsOf(s, waId)).toEqual(['connect']);
    await nothingOpen(s, waId);
  });

  it('ACCEPTED before the SDP answer: 183 and 200 as soon as the answer comes', async () => {
    s = await stack();
    await s.control('POST', '/_sim/faults', { delay_next_ms: 800, kind: 'connect' });
    const leg = await s.invite('447700900123');
    const waId = s.sim.listCalls()[0]!.id;
    await waitFor('ACCEPTED sent', () => s!.sim.getCall(waId)!.webhooks.some((w) => w.summary === 'status:ACCEPTED' && w.outcome === 'delivered'), { timeoutMs: 3_000 });
    expect(leg.answered).toBe(false); // nothing to answer with yet
    await waitFor('200 OK to the PBX', () => leg.answered, { timeoutMs: 3_000 });
    expect(statuses(leg)).toEqual([180, 183, 200]);
    leg.bye();
    await nothingOpen(s, waId);
    expect(actionsOf(s, waId)).toEqual(['connect', 'terminate']);
  });
});

describe('late webhooks (older than webhook.max_event_age_s)', () => {
  it('a user\'s connect 10 minutes late is not acted upon: the PBX is never rung, the call ends at Meta', async () => {
    s = await stack({ webhook: { max_event_age_s: 300 }, sim: { timing: { accept_window_ms: 1_000 } } });
    await s.control('POST', '/_sim/faults', { late_next: 1, late_by_s: 600, kind: 'connect' });
    const { callId } = await s.sim.startUserCall({ from: '447700900152' });
    await waitFor('counted as stale', async () => (await events(s!, 'stale', 'call.offered')) === 1, { timeoutMs: 2_000 });
    expect(s.dialer.legs).toEqual([]);
    await nothingOpen(s, callId); // ended by Meta's accept window, not by watrunk
    expect(s.sim.getCall(callId)!.endedBy).toBe('timeout');
    expect(actionsOf(s, callId)).toEqual([]);
  });

  it('a terminate 10 minutes late still ends an answered call: BYE to the PBX', async () => {
    s = await stack({ webhook: { max_event_age_s: 300 } });
    const leg = await s.invite('447700900123');
    await waitFor('200 OK to the PBX', () => leg.answered, { timeoutMs: 3_000 });
    const waId = s.sim.listCalls()[0]!.id;
    await s.control('POST', '/_sim/faults', { late_next: 1, late_by_s: 600, kind: 'terminate' });
    await s.control('POST', `/_sim/calls/${encodeURIComponent(waId)}/hangup`);
    await waitFor('BYE to the PBX', () => leg.byes[0], { timeoutMs: 3_000 });
    expect(leg.byes[0]!['Reason']).toMatch(/^Q\.850;cause=16/);
    await nothingOpen(s, waId);
    expect(actionsOf(s, waId)).toEqual(['connect']); // ended by the user: no terminate needed
  });
});

describe('status webhooks that never come', () => {
  it('RINGING and ACCEPTED dropped: the first media from WhatsApp answers the call', async () => {
    s = await stack();
    await s.control('POST', '/_sim/faults', { drop_next: 2, kind: 'status' });
    const leg = await s.invite('447700900123');
    await waitFor('183 with SDP', () => leg.responses.find((r) => r.status === 183), { timeoutMs: 3_000 });
    const waId = s.sim.listCalls()[0]!.id;
    await waitFor('the user picked up', () => s!.sim.getCall(waId)?.state === 'accepted', { timeoutMs: 3_000 });
    expect(leg.answered).toBe(false);
    // The user's audio reaches the engine (docs/whatsapp-calling.md#first-media-is-the-answer).
    for (const session of (s.media as FakeMediaEngine).sessions.values()) session.counts = { fromWhatsApp: 10, fromPbx: 10 };
    await waitFor('200 OK to the PBX', () => leg.answered, { timeoutMs: 2_000 });
    expect(statuses(leg)).toEqual([183, 200]);
    expect(s.sim.getCall(waId)!.webhooks.filter((w) => w.summary.startsWith('status:')).map((w) => w.outcome)).toEqual(['dropped', 'dropped']);
    leg.bye();
    await nothingOpen(s, waId);
  });

  it('no status and no media: the no-answer timeout ends it, terminate to Meta, 480 to the PBX', async () => {
    s = await stack({ calls: { no_answer_timeout_s: 5 } });
    await s.control('POST', '/_sim/faults', { drop_next: 2, kind: 'status' });
    const started = Date.now();
    const leg = await s.invite('447700900123');
    await waitFor('final response', () => leg.final, { timeoutMs: 7_000, intervalMs: 50 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(4_900);
    expect(leg.final!.status).toBe(readmeRow('no answer').status);
    const waId = s.sim.listCalls()[0]!.id;
    await nothingOpen(s, waId);
    expect(actionsOf(s, waId)).toEqual(['connect', 'terminate']);
  }, 15_000);
});

describe('webhooks about calls watrunk never made', () => {
  async function post(st: FaultStack, payload: unknown): Promise<number> {
    const raw = serialiseLikeMeta(payload);
    const res = await fetch(`${st.bridge.url}/webhooks/whatsapp`, {
      method: 'POST', body: raw,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWebhookBody(raw, APP_SECRET) },
    });
    return res.status;
  }

  it('are answered 200 and counted; nothing is set up; calls still work afterwards', async () => {
    s = await stack();
    const biz = { wabaId: '102290129340398', phoneNumberId: PNID, displayNumber: BUSINESS_NUMBER };
    const user = { number: '447700900999' };
    const at = Date.now();
    const stranger = { callId: 'wacid.HBgLMTU1NTExMTIyMjIVAgARGCBGQUtFRkFLRUZBS0VGQUtFRkFLRUZBS0VGQUtFAA==', user, at };
    expect(await post(s, terminatePayload(biz, { ...stranger, direction: 'BUSINESS_INITIATED', status: 'COMPLETED', startedAt: at - 30_000 }))).toBe(200);
    expect(await post(s, statusPayload(biz, { ...stranger, callId: `${stranger.callId}2`, status: 'ACCEPTED', bizOpaque: 'wt-never-made' }))).toBe(200);
    expect(await post(s, connectPayload(biz, { ...stranger, callId: `${stranger.callId}3`, direction: 'BUSINESS_INITIATED', sdp: PBX_ANSWER, bizOpaque: 'wt-never-made' }))).toBe(200);
    expect(await post(s, terminatePayload({ ...biz, phoneNumberId: '999999999999999' }, { ...stranger, direction: 'USER_INITIATED', status: 'COMPLETED' }))).toBe(200);
    await waitFor('all four counted', async () => (await s!.metric('watrunk_webhook_events_total')) === 4, { timeoutMs: 2_000 });
    expect(await s.metric('watrunk_webhook_unknown_number_total')).toBe(1);
    expect(s.bridge.registry.size).toBe(0);
    expect(s.dialer.legs).toEqual([]);

    const leg = await s.invite('447700900123');
    await waitFor('200 OK to the PBX', () => leg.answered, { timeoutMs: 3_000 });
    leg.bye();
    await nothingOpen(s, s.sim.listCalls()[0]!.id);
  });
});
