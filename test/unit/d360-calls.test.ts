import { afterEach, describe, expect, it } from 'vitest';
import { D360Calls, parseD360ConnectResponse } from '../../src/adapters/d360/d360-calls.js';
import { D360Client } from '../../src/adapters/d360/d360-client.js';
import { D360Permissions } from '../../src/adapters/d360/d360-permissions.js';
import { D360Settings } from '../../src/adapters/d360/d360-settings.js';
import { createD360Number } from '../../src/adapters/d360/d360-number.js';
import type { D360Target } from '../../src/adapters/d360/d360-types.js';
import { Metrics } from '../../src/metrics.js';
import { ProviderError } from '../../src/calls/ports/whatsapp-errors.js';
import { CALL_ID, GraphStub, SDP_ANSWER, SDP_OFFER, captureLogger, rejectionOf } from '../support/meta-graph-stub.js';

const KEY = 'd360-test-key-not-real-Zq81';

interface Setup { stub: GraphStub; client: D360Client; target: D360Target; log: ReturnType<typeof captureLogger>; metrics: Metrics }
let s: Setup | undefined;
afterEach(async () => {
  await s?.client.close();
  await s?.stub.close();
  s = undefined;
});

async function setup(prefix = ''): Promise<Setup> {
  const stub = await GraphStub.start();
  const log = captureLogger();
  const metrics = new Metrics();
  const client = new D360Client({ baseUrl: `${stub.url}${prefix}`, logger: log.logger, metrics, retryDelayMs: 5 });
  s = { stub, client, target: { apiKey: KEY, timeoutMs: 2_000 }, log, metrics };
  return s;
}

describe('360dialog call actions: POST /calling/calls with Meta\'s body', () => {
  it('connect: D360-API-KEY header, no bearer token, Meta body byte for byte, call id from calls[0].id', async () => {
    const { stub, client, target } = await setup();
    stub.reply({ body: { messaging_product: 'whatsapp', calls: [{ id: CALL_ID }] } });
    const result = await new D360Calls(client, target).connect({ to: '+44 7700-900123', sdpOffer: SDP_OFFER, trackingData: 'wt-1' });
    expect(result).toEqual({ callId: CALL_ID });
    const req = stub.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/calling/calls');
    expect(req.headers['d360-api-key']).toBe(KEY);
    expect(req.headers['authorization']).toBeUndefined();
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.rawBody).toBe(JSON.stringify({
      messaging_product: 'whatsapp', to: '447700900123', action: 'connect',
      session: { sdp_type: 'offer', sdp: SDP_OFFER }, biz_opaque_callback_data: 'wt-1',
    }));
  });

  it('sends pre_accept, accept, reject and terminate (terminate is passed through although 360dialog does not list it)', async () => {
    const { stub, client, target } = await setup();
    const calls = new D360Calls(client, target);
    await calls.preAccept(CALL_ID, SDP_ANSWER);
    await calls.accept(CALL_ID, SDP_ANSWER, 'wt-2');
    await calls.reject(CALL_ID);
    await calls.terminate(CALL_ID);
    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual(Array(4).fill('POST /calling/calls'));
    expect(stub.requests.map((r) => r.rawBody)).toEqual([
      JSON.stringify({ messaging_product: 'whatsapp', call_id: CALL_ID, action: 'pre_accept', session: { sdp_type: 'answer', sdp: SDP_ANSWER } }),
      JSON.stringify({ messaging_product: 'whatsapp', call_id: CALL_ID, action: 'accept', session: { sdp_type: 'answer', sdp: SDP_ANSWER }, biz_opaque_callback_data: 'wt-2' }),
      JSON.stringify({ messaging_product: 'whatsapp', call_id: CALL_ID, action: 'reject' }),
      JSON.stringify({ messaging_product: 'whatsapp', call_id: CALL_ID, action: 'terminate' }),
    ]);
  });

  it('keeps a path prefix of the base URL', async () => {
    const { stub, client, target } = await setup('/d360/');
    await new D360Calls(client, target).terminate(CALL_ID);
    expect(stub.requests[0]!.path).toBe('/d360/calling/calls');
  });

  it('refuses tracking data over 512 characters before sending', async () => {
    const { stub, client, target } = await setup();
    await expect(new D360Calls(client, target).connect({ to: '1', sdpOffer: SDP_OFFER, trackingData: 'x'.repeat(513) })).rejects.toThrow(RangeError);
    expect(stub.requests).toHaveLength(0);
  });

  it('never retries connect, retries accept once on a 5xx (Meta\'s policy)', async () => {
    const { stub, client, target } = await setup();
    const calls = new D360Calls(client, target);
    stub.reply({ status: 502, body: { meta: { success: false, http_code: 502, developer_message: 'WhatsApp for Business API not available' } } });
    const err = await rejectionOf(calls.connect({ to: '447700900123', sdpOffer: SDP_OFFER }));
    expect((err as ProviderError).httpStatus).toBe(502);
    expect(stub.requests).toHaveLength(1);
    stub.reply({ status: 555, body: { meta: { success: false, http_code: 555, developer_message: 'Internal server error' } } }, { body: { success: true } });
    await calls.accept(CALL_ID, SDP_ANSWER);
    expect(stub.requests).toHaveLength(3);
  });

  it('a connect answer without a call id is a protocol error', async () => {
    const { stub, client, target } = await setup();
    stub.reply({ body: { messaging_product: 'whatsapp', success: true } });
    const err = await rejectionOf(new D360Calls(client, target).connect({ to: '447700900123', sdpOffer: SDP_OFFER }));
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).kind).toBe('protocol');
  });

  it('parseD360ConnectResponse accepts Meta\'s calls[0].id and a flat call_id', () => {
    expect(parseD360ConnectResponse({ calls: [{ id: 'wacid.A' }] })).toEqual({ callId: 'wacid.A' });
    expect(parseD360ConnectResponse({ messaging_product: 'whatsapp', call_id: 'wacid.B' })).toEqual({ callId: 'wacid.B' });
    expect(() => parseD360ConnectResponse({ success: true })).toThrow(/calls\[0\]\.id/);
  });
});

describe('360dialog permissions and settings', () => {
  it('GET /calling/permissions/{user} with the user in the path, Meta\'s answer parsed', async () => {
    const { stub, client, target } = await setup();
    stub.reply({ body: {
      messaging_product: 'whatsapp',
      permission: { status: 'temporary', expiration_time: 1745343479 },
      actions: [{ action_name: 'start_call', can_perform_action: true, limits: [{ time_period: 'PT24H', max_allowed: 5, current_usage: 1 }] }],
    } });
    const p = await new D360Permissions(client, target).getCallPermission('+44 7700 900123');
    expect(stub.requests[0]!.method).toBe('GET');
    expect(stub.requests[0]!.path).toBe('/calling/permissions/447700900123');
    expect(stub.requests[0]!.rawBody).toBe('');
    expect(p).toEqual({ status: 'temporary', expiresAt: 1745343479, actions: [{ name: 'start_call', canPerform: true, limits: [{ timePeriod: 'PT24H', maxAllowed: 5, currentUsage: 1 }] }] });
  });

  it('URL-encodes a BSUID in the permissions path', async () => {
    const { stub, client, target } = await setup();
    stub.reply({ body: { permission: { status: 'no_permission' }, actions: [] } });
    await new D360Permissions(client, target).getCallPermission('US.1349/1208');
    expect(stub.requests[0]!.path).toBe('/calling/permissions/US.1349%2F1208');
  });

  it('sends the call permission request as Meta\'s interactive message on POST /messages', async () => {
    const { stub, client, target } = await setup();
    stub.reply({ body: { messaging_product: 'whatsapp', contacts: [], messages: [{ id: 'wamid.X' }] } });
    const r = await new D360Permissions(client, target).sendPermissionRequest('447700900123', 'May we call you?');
    expect(r).toEqual({ messageId: 'wamid.X' });
    expect(stub.requests[0]!.path).toBe('/messages');
    expect(stub.requests[0]!.rawBody).toBe(JSON.stringify({
      messaging_product: 'whatsapp', recipient_type: 'individual', to: '447700900123', type: 'interactive',
      interactive: { type: 'call_permission_request', action: { name: 'call_permission_request' }, body: { text: 'May we call you?' } },
    }));
  });

  it('reads settings with and without SIP credentials, and writes {calling} with the sip block', async () => {
    const { stub, client, target } = await setup();
    const settings = new D360Settings(client, target);
    stub.reply(
      { body: { calling: { status: 'ENABLED', sip: { status: 'ENABLED', servers: [{ hostname: 'sip.example.com', sip_user_password: 'pw' }] } } } },
      { body: { calling: { status: 'ENABLED' } } },
      { body: { success: true } },
    );
    const withCreds = await settings.getSettings({ includeSipCredentials: true });
    await settings.getSettings();
    const calling = { status: 'ENABLED', sip: { status: 'ENABLED', servers: [{ hostname: 'sip.example.com', port: 5061 }] } };
    await settings.updateSettings(calling);
    const [get1, get2, post] = stub.requests;
    expect(`${get1!.method} ${get1!.path}?${get1!.query.toString()}`).toBe('GET /calling/settings?include_sip_credentials=true');
    expect(`${get2!.method} ${get2!.path}${get2!.query.toString()}`).toBe('GET /calling/settings');
    expect(`${post!.method} ${post!.path}`).toBe('POST /calling/settings');
    expect(post!.rawBody).toBe(JSON.stringify({ calling }));
    expect(withCreds).toMatchObject({ calling: { sip: { servers: [{ sip_user_password: 'pw' }] } } });
  });

  it('createD360Number defaults to waba-v2.360dialog.io and refuses an empty key', () => {
    const deps = { logger: captureLogger().logger, metrics: new Metrics() };
    expect(() => createD360Number({ name: 'n', apiKey: '', timeoutMs: 1000 }, deps)).toThrow(/API key is empty/);
    const other = new D360Client({ baseUrl: 'https://example.invalid', ...deps });
    expect(() => createD360Number({ name: 'n', apiKey: 'k', timeoutMs: 1000 }, { ...deps, client: other }))
      .toThrow(/waba-v2\.360dialog\.io/);
    void other.close();
  });

  it('never logs the API key or a body', async () => {
    const { stub, client, target, log } = await setup();
    stub.reply({ status: 401, body: { meta: { success: false, httpCode: 404, developerMessage: `Invalid api_key ${KEY}` } } });
    const err = await rejectionOf(new D360Calls(client, target).preAccept(CALL_ID, SDP_ANSWER));
    expect(err.message).not.toContain(KEY);
    expect(log.text()).not.toContain(KEY);
    expect(log.text()).not.toContain('a=setup:active');
    expect(log.text()).toContain('360dialog request');
  });
});
