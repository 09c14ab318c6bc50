import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ANSWER, BridgeStub, startSim, type TestSim } from '../support/simulator-fixtures.js';

/** Permissions and limits (docs/whatsapp-calling.md#permissions, #limits), with an injected clock. */

const HOUR = 3600 * 1000;
const START = Date.UTC(2026, 5, 15, 9, 0, 0);
let now = START;
const clock = () => now;

let stub: BridgeStub;
let t: TestSim;

const USER = '447700900123';
const permissionRequest = (to = USER) => ({
  messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'interactive',
  interactive: { type: 'call_permission_request', action: { name: 'call_permission_request' }, body: { text: 'May we call?' } },
});

beforeEach(async () => {
  now = START;
  stub = await BridgeStub.start();
  t = await startSim(stub, {
    users: [
      { match: USER, permission: 'none', permission_reply: 'none', ring_ms: 5, answer_after_ms: 5 },
      { match: '447700900200', permission: 'none', permission_reply: 'accept', permission_reply_after_ms: 5, name: 'Di' },
      { match: '447700900300', permission: 'temporary', permission_reply: 'reject', permission_reply_after_ms: 5 },
      { match: '447700900400', permission: 'permanent' },
      { match: '447700900500', behaviour: 'no_answer', permission: 'temporary', ring_ms: 5 },
      { match: '447700900600', behaviour: 'not_on_whatsapp' },
    ],
    timing: { ring_timeout_ms: 10 },
  }, clock);
});
afterEach(async () => {
  await t.sim.close();
  await stub.close();
});

const permissions = async (user = USER) => (await t.graph('GET', `/call_permissions?user_wa_id=${user}`)).body;
const requestLimits = (body: any) => body.actions.find((a: any) => a.action_name === 'send_call_permission_request');

describe('simulator: call permissions', () => {
  it('GET call_permissions has Meta\'s shape', async () => {
    const body = await permissions();
    expect(body).toEqual({
      messaging_product: 'whatsapp',
      permission: { status: 'no_permission' },
      actions: [
        { action_name: 'send_call_permission_request', can_perform_action: true, limits: [
          { time_period: 'PT24H', max_allowed: 1, current_usage: 0 },
          { time_period: 'P7D', max_allowed: 2, current_usage: 0 },
        ] },
        { action_name: 'start_call', can_perform_action: false, limits: [{ time_period: 'PT24H', max_allowed: 100, current_usage: 0 }] },
      ],
    });
    const temp = await permissions('447700900500');
    expect(temp.permission).toEqual({ status: 'temporary', expiration_time: Math.floor((START + 7 * 24 * HOUR) / 1000) });
    expect((await permissions('447700900400')).permission).toEqual({ status: 'permanent' });
    expect((await permissions('447700900600')).permission).toEqual({ status: 'no_permission' });
    const byBsuid = await t.graph('GET', '/call_permissions?recipient=US.12345678901234567890');
    expect(byBsuid.status).toBe(200);
    expect(byBsuid.body.permission.status).toBe('temporary'); // default_user: temporary
    const missing = await t.graph('GET', '/call_permissions');
    expect(missing.body.error.code).toBe(100);
  });

  it('limits permission requests to 1 per 24 h and 2 per 7 days (138009)', async () => {
    const send = () => t.graph('POST', '/messages', permissionRequest());
    const first = await send();
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ messaging_product: 'whatsapp', contacts: [{ input: USER, wa_id: USER, user_id: expect.any(String) }], messages: [{ id: expect.stringMatching(/^wamid\./) }] });

    now += 23 * HOUR;
    const second = await send();
    expect(second.status).toBe(400);
    expect(second.body.error.code).toBe(138009);
    const limited = requestLimits(await permissions());
    expect(limited.can_perform_action).toBe(false);
    expect(limited.limits[0]).toEqual({ time_period: 'PT24H', max_allowed: 1, current_usage: 1, limit_expiration_time: Math.floor((START + 24 * HOUR) / 1000) });

    now = START + 25 * HOUR;
    expect((await send()).status).toBe(200);
    now = START + 50 * HOUR;
    const third = await send();
    expect(third.body.error.code).toBe(138009);
    expect(third.body.error.error_data.details).toMatch(/per 7 days/);

    now = START + 7 * 24 * HOUR + HOUR; // the first request left the 7-day window
    expect((await send()).status).toBe(200);
  });

  it('a connected call resets the request limits', async () => {
    expect((await t.graph('POST', '/messages', permissionRequest())).status).toBe(200);
    expect((await t.graph('POST', '/messages', permissionRequest())).body.error.code).toBe(138009);
    const { callId } = await t.sim.startUserCall({ from: USER });
    await t.action('accept', callId, { session: { sdp_type: 'answer', sdp: ANSWER } });
    expect((await t.graph('POST', '/messages', permissionRequest())).status).toBe(200);
  });

  it('the user\'s accept arrives as a signed call_permission_reply and grants a 7-day permission', async () => {
    const sent = await t.graph('POST', '/messages', permissionRequest('447700900200'));
    const wamid = sent.body.messages[0].id;
    await stub.waitFor(() => stub.summaries().includes('permission_reply:accept'));
    const d = stub.deliveries.at(-1)!;
    expect(d.signatureOk).toBe(true);
    expect(d.body.entry[0].changes[0].field).toBe('messages');
    const msg = d.body.entry[0].changes[0].value.messages[0];
    expect(msg).toMatchObject({
      from: '447700900200', type: 'interactive', context: { from: '447700900200', id: wamid },
      interactive: { type: 'call_permission_reply', call_permission_reply: {
        response: 'accept', is_permanent: false, response_source: 'user_action',
        expiration_timestamp: String(Math.floor((START + 7 * 24 * HOUR) / 1000)),
      } },
    });
    expect(msg.id).toMatch(/^wamid\./);
    expect((await permissions('447700900200')).permission.status).toBe('temporary');
    now += 7 * 24 * HOUR; // expired: no webhook, the status just lapses (docs/whatsapp-calling.md#permission-replies)
    expect((await permissions('447700900200')).permission).toEqual({ status: 'no_permission' });
    expect((await t.connect('447700900200')).body.error.code).toBe(138006);
  });

  it('a reject reply removes the permission', async () => {
    expect((await permissions('447700900300')).permission.status).toBe('temporary');
    await t.graph('POST', '/messages', permissionRequest('447700900300'));
    await stub.waitFor(() => stub.summaries().includes('permission_reply:reject'));
    expect((await permissions('447700900300')).permission).toEqual({ status: 'no_permission' });
    expect(stub.values().at(-1).messages[0].interactive.call_permission_reply.expiration_timestamp).toBeUndefined();
  });

  it('a permanent permission refuses requests with 138017', async () => {
    const res = await t.graph('POST', '/messages', permissionRequest('447700900400'));
    expect(res.body.error.code).toBe(138017);
    expect(requestLimits(await permissions('447700900400')).can_perform_action).toBe(false);
  });

  it('4 unanswered calls in a row auto-revoke the permission (reject/automatic, no context)', async () => {
    for (let i = 0; i < 4; i++) {
      const id = (await t.connect('447700900500')).body.calls[0].id;
      await stub.waitFor(() => stub.summaries(id).includes('terminate:COMPLETED'));
    }
    await stub.waitFor(() => stub.summaries().includes('permission_reply:reject'));
    const msg = stub.values().at(-1).messages[0];
    expect(msg.context).toBeUndefined();
    expect(msg.interactive.call_permission_reply.response_source).toBe('automatic');
    expect((await t.connect('447700900500')).body.error.code).toBe(138006);
  });

  it('the control API grants and revokes', async () => {
    const granted = await t.control('POST', '/_sim/permissions', { user: USER, action: 'grant', permanent: true });
    expect(granted.body.permission).toEqual({ status: 'permanent' });
    expect((await t.connect(USER)).status).toBe(200);
    const revoked = await t.control('POST', '/_sim/permissions', { user: USER, action: 'revoke', notify: true });
    expect(revoked.body.permission).toEqual({ status: 'no_permission' });
    await stub.waitFor(() => stub.summaries().includes('permission_reply:reject'));
    expect((await t.control('POST', '/_sim/permissions', { user: USER, action: 'maybe' })).status).toBe(400);
  });

  it('138012 after 100 connected calls in 24 h (limit lowered in config)', async () => {
    await t.sim.close();
    t = await startSim(stub, { limits: { connected_calls_per_24h: 1 }, default_user: { ring_ms: 1, answer_after_ms: 1 } }, clock);
    const id = (await t.connect('447700900900')).body.calls[0].id;
    await stub.waitFor(() => stub.summaries(id).includes('status:ACCEPTED'));
    await t.action('terminate', id);
    const res = await t.connect('447700900900');
    expect(res.body.error.code).toBe(138012);
    expect(res.body.error.error_data.details).toMatch(/next call allowed at \d+/);
    now += 24 * HOUR + 1;
    expect((await t.connect('447700900900')).status).toBe(200);
  });
});
