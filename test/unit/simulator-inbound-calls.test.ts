import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ANSWER, BridgeStub, DISPLAY, startSim, type TestSim } from '../support/simulator-fixtures.js';

/** User-initiated calls (docs/whatsapp-calling.md#user-initiated-calls). */

let stub: BridgeStub;
let t: TestSim;

beforeEach(async () => {
  stub = await BridgeStub.start();
  t = await startSim(stub, {
    timing: { accept_window_ms: 150 },
    users: [{ match: '447700900123', name: 'Ann', hangup_after_ms: 400 }],
  });
});
afterEach(async () => {
  await t.sim.close();
  await stub.close();
});

const session = (sdp = ANSWER) => ({ session: { sdp_type: 'answer', sdp } });

describe('simulator: user-initiated calls', () => {
  it('sends a USER_INITIATED connect with the media offer, contacts and payloads', async () => {
    const { callId } = await t.sim.startUserCall({ from: '447700900999', name: 'Bo', ctaPayload: 'ctx-42', deeplinkPayload: 'dl-1' });
    await stub.waitFor(() => stub.summaries(callId).includes('connect'));
    const v = stub.values()[0];
    expect(stub.deliveries[0]!.signatureOk).toBe(true);
    expect(stub.deliveries[0]!.envelopeProblems).toEqual([]);
    expect(v.contacts[0]).toMatchObject({ wa_id: '447700900999', profile: { name: 'Bo' }, user_id: expect.stringMatching(/^GB\.[0-9]{20}$/) });
    expect(v.calls[0]).toMatchObject({
      id: callId, from: '447700900999', to: DISPLAY, event: 'connect', direction: 'USER_INITIATED',
      cta_payload: 'ctx-42', deeplink_payload: 'dl-1', session: { sdp_type: 'offer' },
    });
    expect(v.calls[0].from_user_id).toBe(v.contacts[0].user_id);
    expect(v.calls[0].session.sdp).toMatch(/a=ice-lite/);
  });

  it('pre_accept then accept with the same SDP: answer applied, accept time recorded, user hangs up later', async () => {
    const { callId } = await t.sim.startUserCall({ from: '447700900123' });
    expect((await t.action('pre_accept', callId, session())).body).toEqual({ messaging_product: 'whatsapp', success: true });
    expect(t.media.created[0]!.applied).toBe(ANSWER);
    expect(t.sim.getCall(callId)!.state).toBe('pre_accepted');
    expect((await t.action('accept', callId, { ...session(), biz_opaque_callback_data: 'sip-abc' })).status).toBe(200);
    const view = t.sim.getCall(callId)!;
    expect(view.state).toBe('accepted');
    expect(view.acceptedAt).toBeGreaterThanOrEqual(view.preAcceptedAt!);
    expect(view.media?.firstPacketBeforeAccept).toBe(false);
    // accepted calls outlive the accept window; the user hangs up after hangup_after_ms
    await new Promise((r) => setTimeout(r, 250));
    expect(t.sim.getCall(callId)!.state).toBe('accepted');
    await stub.waitFor(() => stub.summaries(callId).includes('terminate:COMPLETED'));
    const term = stub.values().at(-1).calls[0];
    expect(term).toMatchObject({ direction: 'USER_INITIATED', biz_opaque_callback_data: 'sip-abc', status: 'COMPLETED' });
    expect(typeof term.duration).toBe('number');
    expect(t.sim.getCall(callId)).toMatchObject({ endedBy: 'user' });
  });

  it('accept with an SDP different from pre_accept is error 100 and the call stays unanswered', async () => {
    const { callId } = await t.sim.startUserCall({ from: '447700900123' });
    await t.action('pre_accept', callId, session());
    const res = await t.action('accept', callId, session(ANSWER.replace('o=- 3 4', 'o=- 5 6')));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(100);
    expect(res.body.error.message).toMatch(/must match/);
    expect(t.sim.getCall(callId)!.state).toBe('pre_accepted');
    expect(t.sim.getCall(callId)!.actions.map((a) => `${a.action}:${a.result}`)).toEqual(['pre_accept:ok', 'accept:100']);
  });

  it('accept without pre_accept applies the answer; a second accept is refused', async () => {
    const { callId } = await t.sim.startUserCall({ from: '447700900555' });
    expect((await t.action('accept', callId, session())).status).toBe(200);
    expect(t.media.created[0]!.applied).toBe(ANSWER);
    const again = await t.action('accept', callId, session());
    expect(again.body.error.code).toBe(100);
    expect(again.body.error.message).toMatch(/already in progress/);
  });

  it('reject ends the call with a terminate webhook without start_time', async () => {
    const { callId } = await t.sim.startUserCall({ from: '447700900555' });
    expect((await t.action('reject', callId)).status).toBe(200);
    await stub.waitFor(() => stub.summaries(callId).includes('terminate:COMPLETED'));
    expect(stub.summaries(callId)).toEqual(['connect', 'terminate:COMPLETED']);
    expect(stub.values().at(-1).calls[0].start_time).toBeUndefined();
    expect(t.sim.getCall(callId)).toMatchObject({ endedBy: 'business', endReason: 'rejected by business' });
  });

  it('no answer within accept_window_ms ends the call with a terminate webhook', async () => {
    const { callId } = await t.sim.startUserCall({ from: '447700900555' });
    await t.action('pre_accept', callId, session()); // pre_accept alone does not stop the window
    await stub.waitFor(() => stub.summaries(callId).includes('terminate:COMPLETED'), 2_000);
    expect(t.sim.getCall(callId)).toMatchObject({ state: 'ended', endedBy: 'timeout' });
    expect((await t.action('accept', callId, session())).body.error.message).toMatch(/already ended/);
  });

  it('reports media that arrived before accept', async () => {
    const { callId } = await t.sim.startUserCall({ from: '447700900555' });
    t.media.created[0]!.firstPacketAt = Date.now() - 1; // business media flowed right after pre_accept
    await t.action('pre_accept', callId, session());
    await t.action('accept', callId, session());
    expect(t.sim.getCall(callId)!.media?.firstPacketBeforeAccept).toBe(true);
  });

  it('hidden numbers: from is "" and the BSUID identifies the user', async () => {
    const { callId } = await t.sim.startUserCall({ from: '447700900777', hideNumber: true, fromUserId: 'GB.99999999999999999999' });
    await stub.waitFor(() => stub.summaries(callId).includes('connect'));
    const call = stub.values()[0].calls[0];
    expect(call.from).toBe('');
    expect(call.from_user_id).toBe('GB.99999999999999999999');
  });

  it('control API: start a call, send DTMF once connected, hang up', async () => {
    const started = await t.control('POST', '/_sim/calls', { from: '447700900555', name: 'Cy' });
    expect(started.status).toBe(201);
    const id = started.body.callId as string;
    const path = `/_sim/calls/${encodeURIComponent(id)}`;
    expect((await t.control('POST', `${path}/dtmf`, { digits: '12#' })).status).toBe(409);
    await t.action('accept', id, session());
    expect((await t.control('POST', `${path}/dtmf`, { digits: 'x' })).status).toBe(400);
    const dtmf = await t.control('POST', `${path}/dtmf`, { digits: '12#' });
    expect(dtmf.body).toEqual({ ok: true, dtmfSent: '12#' });
    expect(t.media.created[0]!.dtmf).toBe('12#');
    expect((await t.control('POST', `${path}/hangup`)).body).toMatchObject({ state: 'ended', endedBy: 'user', dtmfSent: '12#' });
    await stub.waitFor(() => stub.summaries(id).includes('terminate:COMPLETED'));
    expect((await t.control('POST', '/_sim/calls', { from: 'bad' })).status).toBe(400);
    expect((await t.control('POST', '/_sim/calls', { from: '447700900555', phoneNumberId: '42' })).status).toBe(404);
  });

  it('a user cannot place two calls at once to the same number', async () => {
    await t.sim.startUserCall({ from: '447700900555' });
    await expect(t.sim.startUserCall({ from: '447700900555' })).rejects.toThrow(/already has an ongoing call/);
  });
});
