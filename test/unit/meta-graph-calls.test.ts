import { afterEach, describe, expect, it } from 'vitest';
import { MetaCalls } from '../../src/adapters/meta/meta-calls.js';
import { ProviderError } from '../../src/calls/ports/whatsapp-errors.js';
import { CALL_ID, SDP_ANSWER, SDP_OFFER, TOKEN, graphError, rejectionOf, startHarness, type Harness } from '../support/meta-graph-stub.js';

let h: Harness;
afterEach(async () => { await h?.close(); });

async function start(): Promise<MetaCalls> {
  h = await startHarness();
  return new MetaCalls(h.graph, h.target);
}

const CALLS_PATH = '/v24.0/123456789012345/calls';

describe('request shapes of the call actions', () => {
  it('connect: offer SDP, callee digits, tracking data → calls[0].id', async () => {
    const calls = await start();
    h.stub.reply({ body: { messaging_product: 'whatsapp', calls: [{ id: CALL_ID }] } });
    const res = await calls.connect({ to: '+44 7700-900123', sdpOffer: SDP_OFFER, trackingData: 'bridge-leg-7f3a' });
    expect(res).toEqual({ callId: CALL_ID });
    const req = h.stub.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe(CALLS_PATH);
    expect(req.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    expect(req.body).toStrictEqual({
      messaging_product: 'whatsapp',
      to: '447700900123',
      action: 'connect',
      session: { sdp_type: 'offer', sdp: SDP_OFFER },
      biz_opaque_callback_data: 'bridge-leg-7f3a',
    });
  });

  it('connect: a BSUID callee is sent as-is; no tracking data → no biz_opaque_callback_data key', async () => {
    const calls = await start();
    h.stub.reply({ body: { calls: [{ id: CALL_ID }] } });
    await calls.connect({ to: 'US.13491208655302741918', sdpOffer: SDP_OFFER });
    expect(h.stub.requests[0]!.body).toStrictEqual({
      messaging_product: 'whatsapp', to: 'US.13491208655302741918', action: 'connect',
      session: { sdp_type: 'offer', sdp: SDP_OFFER },
    });
  });

  it('pre_accept: answer SDP', async () => {
    const calls = await start();
    await calls.preAccept(CALL_ID, SDP_ANSWER);
    expect(h.stub.requests[0]!.path).toBe(CALLS_PATH);
    expect(h.stub.requests[0]!.body).toStrictEqual({
      messaging_product: 'whatsapp', call_id: CALL_ID, action: 'pre_accept',
      session: { sdp_type: 'answer', sdp: SDP_ANSWER },
    });
  });

  it('accept: answer SDP, with and without tracking data', async () => {
    const calls = await start();
    await calls.accept(CALL_ID, SDP_ANSWER, 'sip-callid-abc');
    await calls.accept(CALL_ID, SDP_ANSWER);
    expect(h.stub.requests[0]!.body).toStrictEqual({
      messaging_product: 'whatsapp', call_id: CALL_ID, action: 'accept',
      session: { sdp_type: 'answer', sdp: SDP_ANSWER }, biz_opaque_callback_data: 'sip-callid-abc',
    });
    expect(h.stub.requests[1]!.body).toStrictEqual({
      messaging_product: 'whatsapp', call_id: CALL_ID, action: 'accept',
      session: { sdp_type: 'answer', sdp: SDP_ANSWER },
    });
  });

  it('reject and terminate: call_id and action only', async () => {
    const calls = await start();
    await calls.reject(CALL_ID);
    await calls.terminate(CALL_ID);
    expect(h.stub.requests.map((r) => [r.method, r.path])).toEqual([['POST', CALLS_PATH], ['POST', CALLS_PATH]]);
    expect(h.stub.requests[0]!.body).toStrictEqual({ messaging_product: 'whatsapp', call_id: CALL_ID, action: 'reject' });
    expect(h.stub.requests[1]!.body).toStrictEqual({ messaging_product: 'whatsapp', call_id: CALL_ID, action: 'terminate' });
  });

  it('sends the SDP verbatim, CRLF line endings intact', async () => {
    const calls = await start();
    await calls.preAccept(CALL_ID, SDP_ANSWER);
    const sent = (h.stub.requests[0]!.body as { session: { sdp: string } }).session.sdp;
    expect(sent).toBe(SDP_ANSWER);
    expect(sent.split('\r\n').length).toBeGreaterThan(3);
  });
});

describe('responses', () => {
  it('accepts {"success":true} with or without messaging_product', async () => {
    const calls = await start();
    h.stub.reply({ body: { messaging_product: 'whatsapp', success: true } }, { body: { success: true } });
    await expect(calls.terminate(CALL_ID)).resolves.toBeUndefined();
    await expect(calls.reject(CALL_ID)).resolves.toBeUndefined();
  });

  it.each([
    ['success:false', { messaging_product: 'whatsapp', success: false }],
    ['no success field', { messaging_product: 'whatsapp' }],
    ['a JSON array', []],
  ])('a 2xx with %s is a protocol error', async (_name, body) => {
    const calls = await start();
    h.stub.reply({ body });
    const err = await rejectionOf(calls.accept(CALL_ID, SDP_ANSWER)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe('protocol');
    expect(err.fields.operation).toBe('accept');
  });

  it.each([
    ['no calls', { messaging_product: 'whatsapp' }],
    ['an empty calls array', { calls: [] }],
    ['a call without id', { calls: [{}] }],
    ['an empty id', { calls: [{ id: '' }] }],
  ])('connect answered with %s is a protocol error', async (_name, body) => {
    const calls = await start();
    h.stub.reply({ body });
    const err = await rejectionOf(calls.connect({ to: '447700900123', sdpOffer: SDP_OFFER })) as ProviderError;
    expect(err.kind).toBe('protocol');
    expect(err.message).toContain('calls');
  });

  it('connect without permission: 138006 / HTTP 401', async () => {
    const calls = await start();
    h.stub.reply({ status: 401, body: graphError(138006, 'No approved call permission found') });
    const err = await rejectionOf(calls.connect({ to: '447700900123', sdpOffer: SDP_OFFER })) as ProviderError;
    expect(err.toLog()).toMatchObject({ kind: 'api', code: 138006, httpStatus: 401, operation: 'connect', traceId: 'trace-138006' });
  });
});

describe('biz_opaque_callback_data is at most 512 characters', () => {
  it('sends exactly 512', async () => {
    const calls = await start();
    h.stub.reply({ body: { calls: [{ id: CALL_ID }] } });
    await calls.connect({ to: '447700900123', sdpOffer: SDP_OFFER, trackingData: 'x'.repeat(512) });
    await calls.accept(CALL_ID, SDP_ANSWER, 'y'.repeat(512));
    expect(h.stub.requests).toHaveLength(2);
  });

  it('rejects 513 locally, before anything is sent, for connect and accept', async () => {
    const calls = await start();
    const onConnect = await rejectionOf(calls.connect({ to: '447700900123', sdpOffer: SDP_OFFER, trackingData: 'x'.repeat(513) }));
    const onAccept = await rejectionOf(calls.accept(CALL_ID, SDP_ANSWER, 'y'.repeat(513)));
    for (const err of [onConnect, onAccept]) {
      expect(err).toBeInstanceOf(RangeError);
      expect(err.message).toContain('513');
      expect(err.message).toContain('512');
    }
    expect(h.stub.requests).toHaveLength(0);
  });
});
