/**
 * `watrunk simulate` speaking the other providers' wire formats (src/simulator/dialects): requests
 * and answers as each adapter sends and reads them, authentication refused like the provider would,
 * and events in each provider's format, on the same port as Meta's Graph paths.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CamsCalls } from '../../src/adapters/cams/cams-calls.js';
import { CamsClient } from '../../src/adapters/cams/cams-client.js';
import { CamsProviderError } from '../../src/adapters/cams/cams-errors.js';
import { CamsSettings } from '../../src/adapters/cams/cams-settings.js';
import { signD360Webhook } from '../../src/adapters/d360/d360-webhook-verifier.js';
import { Metrics } from '../../src/metrics.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { FakeMediaFactory, OFFER } from '../support/simulator-fixtures.js';
import { waitFor } from '../support/media/wait.js';

interface Received { path: string; headers: Record<string, unknown>; raw: string; body: any }

let receiver: FastifyInstance;
let receiverUrl: string;
const received: Received[] = [];
let sim: Simulator;
let simUrl: string;
const logger = pino({ level: 'silent' });

const D360_KEY = 'dialect-d360-key';
const D360_SECRET = 'dialect-d360-secret';
const AK = { id: 'LTAIdialect', secret: 'dialect-ak-secret' };

beforeAll(async () => {
  receiver = Fastify();
  receiver.removeAllContentTypeParsers();
  receiver.addContentTypeParser('*', { parseAs: 'string' }, (_r, body, done) => done(null, body));
  receiver.post('/*', async (req) => {
    received.push({ path: req.url, headers: req.headers, raw: req.body as string, body: JSON.parse(req.body as string) });
    return { ok: true };
  });
  receiverUrl = await receiver.listen({ host: '127.0.0.1', port: 0 });
  sim = createSimulator({
    http: { host: '127.0.0.1', port: 0 },
    numbers: [
      {
        dialect: '360dialog', phone_number_id: '100000000000001', display_number: '15550000001', api_key: D360_KEY,
        webhook_secret: D360_SECRET, webhook_headers: { Authorization: 'static-token' }, webhook_url: `${receiverUrl}/d360`,
      },
      { dialect: 'cams', phone_number_id: '100000000000002', display_number: '15550000002', access_key_id: AK.id, access_key_secret: AK.secret, cust_space_id: 'cams-1', webhook_url: `${receiverUrl}/cams` },
      {
        dialect: 'cams', phone_number_id: '100000000000004', display_number: '15550000004', access_key_id: AK.id, access_key_secret: AK.secret, cust_space_id: 'cams-1',
        event_format: 'meta', webhook_url: `${receiverUrl}/cams-meta`,
      },
      { dialect: 'conceptomovil', phone_number_id: '100000000000003', display_number: '5215500000003', api_key: '77', api_token: 'cm-secret', webhook_url: `${receiverUrl}/cm` },
    ],
    default_user: { behaviour: 'answer', ring_ms: 5, answer_after_ms: 10, hangup_after_ms: 40, permission: 'temporary' },
    webhooks: { max_attempts: 1, timeout_ms: 1000 },
  }, { logger, media: new FakeMediaFactory() });
  simUrl = (await sim.listen()).url;
});
afterAll(async () => {
  await sim?.close();
  await receiver?.close();
});

async function http(method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await request(`${simUrl}${path}`, {
    method, headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
}
const webhooksTo = (path: string) => received.filter((r) => r.path === path);

describe('360dialog dialect', () => {
  it('refuses a missing or unknown D360-API-KEY with 360dialog\'s 401', async () => {
    expect(await http('POST', '/calling/calls', {})).toEqual({ status: 401, body: { meta: { success: false, http_code: 401, developer_message: 'Invalid api key' } } });
    expect((await http('GET', '/calling/settings', undefined, { 'd360-api-key': 'nope' })).status).toBe(401);
  });

  it('takes Meta\'s body on /calling/calls and posts Meta\'s webhooks signed with x-360dialog-signature', async () => {
    const res = await http('POST', '/calling/calls', { messaging_product: 'whatsapp', to: '447700900123', action: 'connect', session: { sdp_type: 'offer', sdp: OFFER } }, { 'd360-api-key': D360_KEY });
    expect(res.status).toBe(200);
    const callId = res.body.calls[0].id as string;
    await waitFor('terminate webhook', () => webhooksTo('/d360').some((w) => w.body.entry[0].changes[0].value.calls?.[0]?.event === 'terminate'));
    const hooks = webhooksTo('/d360');
    expect(hooks[0]!.body.object).toBe('whatsapp_business_account');
    expect(hooks[0]!.body.entry[0].changes[0].value.calls[0]).toMatchObject({ id: callId, event: 'connect' });
    for (const h of hooks) {
      expect(h.headers['x-360dialog-signature']).toBe(signD360Webhook(h.raw, D360_SECRET));
      expect(h.headers['authorization']).toBe('static-token');
      expect(h.headers['x-hub-signature-256']).toBeUndefined();
    }
  });

  it('Meta\'s errors are relayed in Meta\'s envelope; permissions take the user as a path segment', async () => {
    const bad = await http('POST', '/calling/calls', { messaging_product: 'whatsapp', action: 'terminate' }, { 'd360-api-key': D360_KEY });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 100, message: '(#100) The parameter call_id is required.' } } });
    const perm = await http('GET', '/calling/permissions/447700900123', undefined, { 'd360-api-key': D360_KEY });
    expect(perm).toMatchObject({ status: 200, body: { permission: { status: 'temporary' } } });
  });
});

describe('CAMS dialect', () => {
  const client = (secret = AK.secret, id = AK.id) => {
    const c = new CamsClient({ endpoint: simUrl, logger, metrics: new Metrics(), retryDelayMs: 1 });
    const target = { custSpaceId: 'cams-1', businessNumber: '15550000002', credentials: { accessKeyId: id, accessKeySecret: secret }, timeoutMs: 2000 };
    return { c, calls: new CamsCalls(c, target), settings: new CamsSettings(c, target) };
  };

  it('verifies the ACS3 signature: a wrong secret is SignatureDoesNotMatch, an unknown AccessKey InvalidAccessKeyId.NotFound (both loud)', async () => {
    for (const [wrong, code] of [[client('wrong-secret'), 'SignatureDoesNotMatch'], [client(AK.secret, 'LTAIunknown'), 'InvalidAccessKeyId.NotFound']] as const) {
      const err = await wrong.calls.connect({ to: '447700900123', sdpOffer: OFFER }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CamsProviderError);
      expect((err as CamsProviderError).camsCode).toBe(code);
      expect((err as CamsProviderError).loud).toBe(true);
      await wrong.c.close();
    }
    const unsigned = await http('POST', '/?CallAction=connect');
    expect(unsigned).toMatchObject({ status: 400, body: { Code: 'IncompleteSignature' } });
  });

  it('WhatsappCall connect answers Model.CallId; events are a JSON array of PascalCase items with ms timestamps', async () => {
    const { c, calls } = client();
    const { callId } = await calls.connect({ to: '447700900123', sdpOffer: OFFER });
    await waitFor('terminate event', () => webhooksTo('/cams').some((w) => w.body[0]?.Event === 'terminate' && w.body[0]?.CallId === callId));
    const items = webhooksTo('/cams').map((w) => w.body).filter((b) => b[0].CallId === callId).map((b) => b[0]);
    expect(items.map((i) => i.Event ?? `status:${i.Status}`)).toEqual(['connect', 'status:RINGING', 'status:ACCEPTED', 'terminate']);
    expect(items[0]).toMatchObject({
      CallId: callId, From: '15550000002', To: '447700900123', Direction: 'BUSINESS_INITIATED', CustSpaceId: 'cams-1',
      Session: { SdpType: 'answer', Sdp: expect.stringMatching(/^v=0/) },
    });
    expect(items[0].Timestamp).toBeGreaterThan(1e12);
    expect(items[3]).toMatchObject({ Status: 'COMPLETED', Duration: expect.any(Number) });
    await c.close();
  });

  it('a Meta error comes back as a business error whose Code is Meta\'s number; throttling as Throttling.User', async () => {
    const { c, calls } = client();
    await http('POST', '/_sim/faults', { graph: { action: 'connect', fault: 'error', code: 138006 } });
    const meta = (await calls.connect({ to: '447700900123', sdpOffer: OFFER }).catch((e: unknown) => e)) as CamsProviderError;
    expect(meta).toMatchObject({ httpStatus: 200, code: 138006, category: 'rejected' });
    await http('POST', '/_sim/faults', { graph: { action: 'connect', fault: 'error', code: 613 } });
    const throttled = (await calls.connect({ to: '447700900123', sdpOffer: OFFER }).catch((e: unknown) => e)) as CamsProviderError;
    expect(throttled).toMatchObject({ camsCode: 'Throttling.User', category: 'rate_limited' });
    await c.close();
  });

  it('QueryChatappPhoneNumbers gives CallingConfigure, read as Meta\'s calling object', async () => {
    const { c, settings } = client();
    const doc = await settings.getSettings();
    expect(doc).toMatchObject({ calling: { status: 'DISABLED' }, cams: { phone_number: '15550000002', calling_configured: true, calling_callback_url: `${receiverUrl}/cams` } });
    await c.close();
  });

  it('event_format: meta posts Meta\'s webhook body instead', async () => {
    const { c } = client();
    const calls = new CamsCalls(c, { custSpaceId: 'cams-1', businessNumber: '15550000004', credentials: { accessKeyId: AK.id, accessKeySecret: AK.secret }, timeoutMs: 2000 });
    await calls.connect({ to: '447700900124', sdpOffer: OFFER });
    await waitFor('a webhook', () => webhooksTo('/cams-meta').length > 0);
    expect(webhooksTo('/cams-meta')[0]!.body.object).toBe('whatsapp_business_account');
    await c.close();
  });
});

describe('Concepto Móvil dialect', () => {
  const PATHS = { token: '/whatsapp-bsp-api-endpoint-ws/services/v1/auth/token', call: '/whatsapp-bsp-api-endpoint/services/v1/call' };

  it('exchanges Api-Key and Api-Token for a bearer token; wrong ones are 401', async () => {
    expect((await http('GET', PATHS.token, undefined, { 'api-key': '77', 'api-token': 'nope' })).status).toBe(401);
    const ok = await http('GET', PATHS.token, undefined, { 'api-key': '77', 'api-token': 'cm-secret' });
    expect(ok.body.token).toMatch(/^cm\./);
    expect((await http('POST', PATHS.call, { from: '5215500000003', to: '447700900123', action: 'connect', sdp: OFFER })).status).toBe(401);
  });

  it('takes the flat call body, requires `to` on every action, and posts flat events', async () => {
    const { body: { token } } = await http('GET', PATHS.token, undefined, { 'api-key': '77', 'api-token': 'cm-secret' });
    const auth = { authorization: `Bearer ${token}` };
    const connect = await http('POST', PATHS.call, { from: '5215500000003', to: '447700900125', action: 'connect', sdp: OFFER, biz_opaque_callback_data: 'wt-1' }, auth);
    expect(connect.status).toBe(200);
    const callId = connect.body.call_id as string;
    const noTo = await http('POST', PATHS.call, { from: '5215500000003', action: 'terminate', call_id: callId }, auth);
    expect(noTo).toMatchObject({ status: 400, body: { error: { code: 100, message: '(#100) The parameter to is required.' } } });
    await waitFor('terminate event', () => webhooksTo('/cm').some((w) => w.body.call_id === callId && w.body.event === 'terminate'));
    const events = webhooksTo('/cm').map((w) => w.body).filter((b) => b.call_id === callId);
    expect(events[0]).toMatchObject({
      call_id: callId, from: '5215500000003', to: '447700900125', event: 'connect', direction: 'BUSINESS_INITIATED',
      sdp_type: 'answer', biz_opaque_callback_data: 'wt-1', timestamp: expect.any(Number),
    });
    expect(events.map((e) => e.event ?? `status:${e.status}`)).toEqual(['connect', 'status:RINGING', 'status:ACCEPTED', 'terminate']);
  });
});
