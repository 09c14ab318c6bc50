import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BridgeStub, DISPLAY, OFFER, PNID, startSim, type TestSim } from '../support/simulator-fixtures.js';

/** Business-initiated calls: the scripted user's webhooks as received by a bridge stub (docs/whatsapp-calling.md#business-initiated-calls). */

let stub: BridgeStub;
let t: TestSim;

const users = [
  { match: '447700900001', behaviour: 'answer' as const, ring_ms: 10, answer_after_ms: 20, hangup_after_ms: 300, name: 'Ann', user_id: 'GB.13491208655302741918' },
  { match: '447700900002', behaviour: 'answer' as const, ring_ms: 10, answer_after_ms: 20 },
  { match: '447700900003', behaviour: 'reject' as const, ring_ms: 10, answer_after_ms: 20 },
  { match: '447700900004', behaviour: 'busy' as const, ring_ms: 10 },
  { match: '447700900005', behaviour: 'no_answer' as const, ring_ms: 10 },
  { match: '447700900006', behaviour: 'fail' as const, ring_ms: 10, error_code: 138021 },
];

beforeEach(async () => {
  stub = await BridgeStub.start();
  t = await startSim(stub, { users, timing: { ring_timeout_ms: 80 } });
});
afterEach(async () => {
  await t.sim.close();
  await stub.close();
});

async function callAndWaitForEnd(to: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await t.connect(to, extra);
  expect(res.status).toBe(200);
  const id = res.body.calls[0].id as string;
  await stub.waitFor(() => stub.summaries(id).some((s) => s.startsWith('terminate')));
  return id;
}

const valuesFor = (id: string) => stub.values().filter((v) => (v.calls?.[0] ?? v.statuses?.[0])?.id === id);

describe('simulator: business-initiated scripted users', () => {
  it('answer + user hangs up: connect(answer SDP), RINGING, ACCEPTED, terminate COMPLETED with times', async () => {
    const id = await callAndWaitForEnd('447700900001', { biz_opaque_callback_data: 'leg-7f3a' });
    expect(stub.summaries(id)).toEqual(['connect', 'status:RINGING', 'status:ACCEPTED', 'terminate:COMPLETED']);
    expect(stub.deliveries.every((d) => d.signatureOk)).toBe(true);
    expect(stub.deliveries.flatMap((d) => d.envelopeProblems)).toEqual([]);

    const [connect, ringing, accepted, terminate] = valuesFor(id);
    expect(connect.metadata).toEqual({ display_phone_number: DISPLAY, phone_number_id: PNID });
    expect(connect.contacts).toEqual([{ profile: { name: 'Ann', country_code: 'GB' }, wa_id: '447700900001', user_id: 'GB.13491208655302741918' }]);
    expect(connect.calls[0]).toMatchObject({
      id, from: DISPLAY, to: '447700900001', to_user_id: 'GB.13491208655302741918', event: 'connect',
      direction: 'BUSINESS_INITIATED', biz_opaque_callback_data: 'leg-7f3a', session: { sdp_type: 'answer' },
    });
    expect(connect.calls[0].session.sdp).toMatch(/^v=0\r\n/);
    expect(t.media.created[0]!.answered).toBe(OFFER); // the media factory answered the business's offer
    for (const v of [ringing, accepted]) {
      expect(v.statuses[0]).toMatchObject({ id, type: 'call', recipient_id: '447700900001', biz_opaque_callback_data: 'leg-7f3a' });
    }
    const term = terminate.calls[0];
    expect(term).toMatchObject({ id, event: 'terminate', status: 'COMPLETED', direction: 'BUSINESS_INITIATED', biz_opaque_callback_data: 'leg-7f3a' });
    expect(typeof term.start_time).toBe('string');
    expect(typeof term.end_time).toBe('string');
    expect(typeof term.duration).toBe('number');
    expect(Number(term.end_time) - Number(term.start_time)).toBe(term.duration);
    expect(terminate.errors).toBeUndefined();
    expect(stub.deliveries[0]!.body.entry[0].id).toBe('112735964992110');

    const view = t.sim.getCall(id)!;
    expect(view).toMatchObject({ state: 'ended', endedBy: 'user', endStatus: 'COMPLETED', direction: 'BUSINESS_INITIATED' });
    expect(view.acceptedAt).toBeGreaterThanOrEqual(view.ringingAt!);
    expect(t.media.created[0]!.closed).toBe(true);
  });

  it('answer without hangup_after_ms stays up until the business terminates', async () => {
    const id = (await t.connect('447700900002')).body.calls[0].id;
    await stub.waitFor(() => stub.summaries(id).includes('status:ACCEPTED'));
    await new Promise((r) => setTimeout(r, 100));
    expect(t.sim.getCall(id)!.state).toBe('accepted');
    expect((await t.action('terminate', id)).body).toEqual({ messaging_product: 'whatsapp', success: true });
    await stub.waitFor(() => stub.summaries(id).includes('terminate:COMPLETED'));
    expect(t.sim.getCall(id)).toMatchObject({ endedBy: 'business' });
    const term = valuesFor(id).at(-1)!.calls[0];
    expect(typeof term.duration).toBe('number');
  });

  it('business terminate while ringing ends the call without start/duration', async () => {
    const id = (await t.connect('447700900005')).body.calls[0].id;
    await stub.waitFor(() => stub.summaries(id).includes('status:RINGING'));
    await t.action('terminate', id);
    await stub.waitFor(() => stub.summaries(id).some((s) => s.startsWith('terminate')));
    const term = valuesFor(id).at(-1)!.calls[0];
    expect(term.status).toBe('COMPLETED');
    expect(term.start_time).toBeUndefined();
    expect(term.duration).toBeUndefined();
  });

  it('reject: RINGING, REJECTED, terminate COMPLETED without start_time', async () => {
    const id = await callAndWaitForEnd('447700900003', { biz_opaque_callback_data: 'r1' });
    expect(stub.summaries(id)).toEqual(['connect', 'status:RINGING', 'status:REJECTED', 'terminate:COMPLETED']);
    const term = valuesFor(id).at(-1)!.calls[0];
    expect(term.start_time).toBeUndefined();
    expect(term.biz_opaque_callback_data).toBe('r1');
  });

  it('busy: REJECTED without ringing, then terminate', async () => {
    const id = await callAndWaitForEnd('447700900004');
    expect(stub.summaries(id)).toEqual(['connect', 'status:REJECTED', 'terminate:COMPLETED']);
  });

  it('no_answer: rings until ring_timeout_ms, never ACCEPTED', async () => {
    const id = await callAndWaitForEnd('447700900005');
    expect(stub.summaries(id)).toEqual(['connect', 'status:RINGING', 'terminate:COMPLETED']);
    expect(t.sim.getCall(id)).toMatchObject({ endedBy: 'timeout', endReason: 'not answered' });
  });

  it('fail: terminate FAILED with errors[{code, message, error_data.details}]', async () => {
    const id = await callAndWaitForEnd('447700900006', { biz_opaque_callback_data: 'f1' });
    expect(stub.summaries(id)).toEqual(['connect', 'terminate:FAILED']);
    const v = valuesFor(id).at(-1)!;
    expect(v.calls[0].biz_opaque_callback_data).toBe('f1');
    expect(v.errors).toEqual([{ code: 138021, message: 'Media receive timeout', href: expect.any(String), error_data: { details: expect.any(String) } }]);
  });

  it('user hangs up through the control API; ringing calls are declined with REJECTED', async () => {
    const id = (await t.connect('447700900005')).body.calls[0].id;
    await stub.waitFor(() => stub.summaries(id).includes('status:RINGING'));
    const res = await t.control('POST', `/_sim/calls/${encodeURIComponent(id)}/hangup`);
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('ended');
    await stub.waitFor(() => stub.summaries(id).includes('terminate:COMPLETED'));
    expect(stub.summaries(id)).toEqual(['connect', 'status:RINGING', 'status:REJECTED', 'terminate:COMPLETED']);
    expect((await t.control('POST', `/_sim/calls/${encodeURIComponent(id)}/hangup`)).status).toBe(409);
  });

  it('/_sim/calls lists calls with webhooks sent and actions received', async () => {
    const id = await callAndWaitForEnd('447700900003');
    await t.sim.webhooksIdle();
    const res = await t.control('GET', '/_sim/calls');
    expect(res.status).toBe(200);
    const call = res.body.calls.find((c: { id: string }) => c.id === id);
    expect(call.webhooks.map((w: { summary: string; outcome: string }) => `${w.summary}/${w.outcome}`))
      .toEqual(['connect/delivered', 'status:RINGING/delivered', 'status:REJECTED/delivered', 'terminate:COMPLETED/delivered']);
    expect(call.actions).toEqual([expect.objectContaining({ action: 'connect', result: 'ok', graphVersion: 'v24.0' })]);
    expect((await t.control('GET', `/_sim/calls/${encodeURIComponent(id)}`)).body.id).toBe(id);
    expect((await t.control('GET', '/_sim/calls/wacid.none')).status).toBe(404);
  });

  it('call ids look like Meta\'s and are deterministic for a seed', async () => {
    const a = (await t.connect('447700900002')).body.calls[0].id as string;
    expect(a).toMatch(/^wacid\.HBgM[A-Za-z0-9_=-]+$/); // 0x1c 0x18 0x0c + "447700900002"
    await t.sim.reset();
    const b = (await t.connect('447700900002')).body.calls[0].id as string;
    expect(b).toBe(a);
  });
});
