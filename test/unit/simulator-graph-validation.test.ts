import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ANSWER, BridgeStub, OFFER, PNID, startSim, type TestSim } from '../support/simulator-fixtures.js';

let stub: BridgeStub;
let t: TestSim;

beforeEach(async () => {
  stub = await BridgeStub.start();
});
afterEach(async () => {
  await t?.sim.close();
  await stub.close();
});

const expectGraphError = (res: { status: number; body: any }, code: number, http: number) => {
  expect(res.status).toBe(http);
  expect(res.body.error.code).toBe(code);
  expect(res.body.error.type).toBe('OAuthException');
  expect(typeof res.body.error.fbtrace_id).toBe('string');
  return res.body.error as { message: string; error_data?: { details: string } };
};

describe('simulator: Graph auth and paths', () => {
  beforeEach(async () => { t = await startSim(stub); });

  it('rejects a missing or wrong bearer token with 190 / HTTP 401', async () => {
    expectGraphError(await t.graph('GET', '/settings', undefined, null), 190, 401);
    const wrong = expectGraphError(await t.graph('GET', '/settings', undefined, 'nope'), 190, 401);
    expect(wrong.message).toMatch(/Invalid OAuth access token/);
  });

  it('rejects an unknown phone-number-id with 100', async () => {
    const { request } = await import('undici');
    const r = await request(`${t.url}/v24.0/999999/calls`, { method: 'POST', headers: { authorization: 'Bearer sim-test-token', 'content-type': 'application/json' }, body: '{}' });
    const body = JSON.parse(await r.body.text());
    expect(r.statusCode).toBe(400);
    expect(body.error.code).toBe(100);
    expect(body.error.error_data.details).toMatch(/Object with ID '999999' does not exist/);
  });

  it('accepts any vNN.N version and records it on the call; other prefixes are unknown paths', async () => {
    const { request } = await import('undici');
    const r = await request(`${t.url}/v19.0/${PNID}/calls`, {
      method: 'POST', headers: { authorization: 'Bearer sim-test-token', 'content-type': 'application/json' },
      body: JSON.stringify({ messaging_product: 'whatsapp', to: '447700900123', action: 'connect', session: { sdp_type: 'offer', sdp: OFFER } }),
    });
    const id = JSON.parse(await r.body.text()).calls[0].id as string;
    expect(r.statusCode).toBe(200);
    expect(t.sim.getCall(id)!.actions[0]).toMatchObject({ action: 'connect', graphVersion: 'v19.0', result: 'ok' });
    const status = await t.control('GET', '/_sim/status');
    expect(status.body.graphVersionsSeen).toEqual({ 'v19.0': 1 });
    expect(status.body.numbers).toEqual([expect.objectContaining({ phoneNumberId: PNID, activeCalls: 1 })]);
    const bad = await request(`${t.url}/latest/${PNID}/calls`, { method: 'POST', headers: { authorization: 'Bearer sim-test-token' } });
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(await bad.body.text()).error.code).toBe(2500);
  });

  it('answers malformed JSON with a Graph 100 error', async () => {
    const { request } = await import('undici');
    const r = await request(`${t.url}/v24.0/${PNID}/calls`, {
      method: 'POST', headers: { authorization: 'Bearer sim-test-token', 'content-type': 'application/json' }, body: '{"messaging_product":',
    });
    expect(r.statusCode).toBe(400);
    expect(JSON.parse(await r.body.text()).error.code).toBe(100);
  });
});

describe('simulator: /calls body validation (code 100)', () => {
  beforeEach(async () => { t = await startSim(stub); });
  const base = { messaging_product: 'whatsapp', to: '447700900123', action: 'connect', session: { sdp_type: 'offer', sdp: OFFER } };
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['missing messaging_product', { ...base, messaging_product: undefined }, /parameter messaging_product is required/],
    ['wrong messaging_product', { ...base, messaging_product: 'sms' }, /messaging_product must be one of/],
    ['missing action', { ...base, action: undefined }, /parameter action is required/],
    ['unknown action', { ...base, action: 'hold' }, /action must be one of/],
    ['missing to', { ...base, to: undefined }, /parameter to is required/],
    ['invalid to', { ...base, to: 'not a number' }, /Param to must be/],
    ['missing session', { ...base, session: undefined }, /parameter session is required/],
    ['wrong sdp_type on connect', { ...base, session: { sdp_type: 'answer', sdp: OFFER } }, /sdp_type must be "offer"/],
    ['missing sdp', { ...base, session: { sdp_type: 'offer' } }, /parameter session.sdp is required/],
    ['SDP not starting with v=0', { ...base, session: { sdp_type: 'offer', sdp: 'o=- 1 2 IN IP4 1.2.3.4' } }, /Invalid SDP/],
    ['biz_opaque_callback_data over 512', { ...base, biz_opaque_callback_data: 'x'.repeat(513) }, /at most 512 characters/],
    ['missing call_id', { messaging_product: 'whatsapp', action: 'terminate' }, /parameter call_id is required/],
    ['wrong sdp_type on accept', { messaging_product: 'whatsapp', action: 'accept', call_id: 'wacid.x', session: { sdp_type: 'offer', sdp: ANSWER } }, /sdp_type must be "answer"/],
    ['missing session on pre_accept', { messaging_product: 'whatsapp', action: 'pre_accept', call_id: 'wacid.x' }, /parameter session is required/],
  ];
  for (const [name, body, message] of cases) {
    it(name, async () => {
      const err = expectGraphError(await t.graph('POST', '/calls', JSON.parse(JSON.stringify(body))), 100, 400);
      expect(err.message).toMatch(/^\(#100\) /);
      expect(err.message).toMatch(message);
    });
  }

  it('accepts biz_opaque_callback_data of exactly 512 characters', async () => {
    const res = await t.graph('POST', '/calls', { ...base, biz_opaque_callback_data: 'x'.repeat(512) });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ messaging_product: 'whatsapp', calls: [{ id: expect.stringMatching(/^wacid\.[A-Za-z0-9_=-]{40,}$/) }] });
  });

  it('answers actions on unknown and ended calls with "invalid call_id"', async () => {
    const unknown = expectGraphError(await t.action('terminate', 'wacid.nope'), 100, 400);
    expect(unknown.message).toMatch(/Invalid call_id/);
    const { body } = await t.connect('447700900123');
    const id = body.calls[0].id;
    expect((await t.action('terminate', id)).body).toEqual({ messaging_product: 'whatsapp', success: true });
    const ended = expectGraphError(await t.action('terminate', id), 100, 400);
    expect(ended.message).toMatch(/already ended/);
    expect(t.sim.getCall(id)!.actions.map((a) => a.result)).toEqual(['ok', 'ok', 100]);
  });

  it('refuses pre_accept/accept/reject on a business-initiated call', async () => {
    const id = (await t.connect('447700900123')).body.calls[0].id;
    const err = expectGraphError(await t.action('accept', id, { session: { sdp_type: 'answer', sdp: ANSWER } }), 100, 400);
    expect(err.message).toMatch(/only valid for user-initiated calls/);
  });
});

describe('simulator: calling error codes', () => {
  it('131055 when SIP is enabled on the number', async () => {
    t = await startSim(stub, {
      numbers: [{ phone_number_id: PNID, display_number: '15551112222', access_token: 'sim-test-token', webhook_url: stub.url, app_secret: 'sim-test-app-secret',
        calling: { sip: { status: 'ENABLED', servers: [{ hostname: 'sip.example.com' }] } } }],
    });
    const err = expectGraphError(await t.connect('447700900123'), 131055, 400);
    expect(err.message).toMatch(/SIP enabled numbers/);
  });

  it('138000 only when require_calling_enabled is on and calling is not ENABLED', async () => {
    t = await startSim(stub, { require_calling_enabled: true });
    expectGraphError(await t.connect('447700900123'), 138000, 401);
    expect((await t.graph('POST', '/settings', { calling: { status: 'ENABLED' } })).status).toBe(200);
    expect((await t.connect('447700900123')).status).toBe(200);
  });

  it('calling status is not enforced by default', async () => {
    t = await startSim(stub);
    expect((await t.connect('447700900123')).status).toBe(200);
  });

  it('138001 for a user who is not on WhatsApp', async () => {
    t = await startSim(stub, { users: [{ match: '44770*', behaviour: 'not_on_whatsapp' }] });
    expectGraphError(await t.connect('447700900123'), 138001, 400);
    expect(t.sim.listCalls()).toHaveLength(0);
  });

  it('138003 for a second call to a user with an ongoing call', async () => {
    t = await startSim(stub);
    expect((await t.connect('447700900123')).status).toBe(200);
    expectGraphError(await t.connect('447700900123'), 138003, 400);
    expect((await t.connect('447700900124')).status).toBe(200);
  });

  it('138002 above limits.max_concurrent_calls', async () => {
    t = await startSim(stub, { limits: { max_concurrent_calls: 2 } });
    expect((await t.connect('447700900001')).status).toBe(200);
    expect((await t.connect('447700900002')).status).toBe(200);
    expectGraphError(await t.connect('447700900003'), 138002, 429);
  });

  it('138006 without permission, and a permission reply grants it', async () => {
    t = await startSim(stub, { users: [{ match: '447700900123', permission: 'none', permission_reply: 'accept', permission_reply_after_ms: 10 }] });
    const err = expectGraphError(await t.connect('447700900123'), 138006, 401);
    expect(err.message).toMatch(/No approved call permission/);
    const sent = await t.graph('POST', '/messages', {
      messaging_product: 'whatsapp', recipient_type: 'individual', to: '447700900123', type: 'interactive',
      interactive: { type: 'call_permission_request', action: { name: 'call_permission_request' }, body: { text: 'May we call?' } },
    });
    expect(sent.status).toBe(200);
    await stub.waitFor(() => stub.summaries().includes('permission_reply:accept'));
    expect((await t.connect('447700900123')).status).toBe(200);
  });
});
