/**
 * The public routes where the other providers' events arrive (src/providers/provider-ingress.ts,
 * src/webhooks/provider-events-ingress.ts): 360dialog webhooks checked by D360WebhookVerifier, CAMS
 * and Concepto Móvil events behind an unguessable path token, all into the same dispatcher.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signD360Webhook } from '../../src/adapters/d360/d360-webhook-verifier.js';
import { startBridge, type RunningBridge } from '../../src/bridge.js';
import type { WhatsAppEvent } from '../../src/calls/ports/whatsapp-events.js';
import { validateConfig } from '../../src/config/load.js';
import type { ProviderSecrets } from '../../src/config/provider-secrets.js';
import { captureLogger, until } from '../support/control-fixtures.js';
import { freeTcpPort } from '../support/ports.js';

const SIGNING = 'd360-signing-secret';
const HEADER_TOKEN = 'static-header-token-value';
const CAMS_TOKEN = 'cams-token-abcdefghijklmnop';
const CM_TOKEN = 'cm-token-abcdefghijklmnopqr';
const FENCED_TOKEN = 'cams-fenced-token-0123456789';
/** Calls this test lets in are rejected toward the provider: nothing listens there (no traffic leaves 127.0.0.1). */
const NOWHERE = 'http://127.0.0.1:9';
const OFFER = 'v=0\r\no=- 7 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 40012 UDP/TLS/RTP/SAVPF 111\r\na=setup:actpass\r\n';

let bridge: RunningBridge;
const events: Array<{ e: WhatsAppEvent; number: string | undefined }> = [];
const logs = captureLogger('debug');
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  const config = validateConfig({
    http: { host: '127.0.0.1', port: await freeTcpPort() },
    internal_http: { host: '127.0.0.1', port: await freeTcpPort() },
    numbers: [
      { name: 'signed', provider: '360dialog', display_number: '15550000001', d360: { api_key_env: 'K1', base_url: NOWHERE, webhook: { signature_secret_env: 'S1' } } },
      {
        name: 'both', provider: '360dialog', display_number: '15550000002', phone_number_id: '200000000000002',
        d360: { api_key_env: 'K2', base_url: NOWHERE, webhook: { signature_secret_env: 'S1', header_token: { name: 'Authorization', value_env: 'H2' } } },
      },
      {
        name: 'tokenonly', provider: '360dialog', display_number: '15550000003',
        d360: { api_key_env: 'K3', base_url: NOWHERE, webhook: { path: '/hooks/d360-token-only', header_token: { name: 'X-Hook-Token', value_env: 'H3' }, allow_header_token_only: true } },
      },
      {
        name: 'headers', provider: '360dialog', display_number: '15550000007',
        d360: {
          api_key_env: 'K4', base_url: NOWHERE,
          webhook: { header_token: [{ name: 'X-Hook-Token', value_env: 'H3' }, { name: 'X-Tenant', value_env: 'H4' }], allow_header_token_only: true },
        },
      },
      {
        name: 'cams1', provider: 'cams', display_number: '15550000004',
        cams: { endpoint: NOWHERE, access_key_id_env: 'A', access_key_secret_env: 'B', cust_space_id: 'cams-space', events_path_token_env: 'T4' },
      },
      {
        name: 'fenced', provider: 'cams', display_number: '15550000005',
        cams: { endpoint: NOWHERE, access_key_id_env: 'A', access_key_secret_env: 'B', cust_space_id: 'cams-space', events_path_token_env: 'T5', events_allow_from: ['192.0.2.0/24'] },
      },
      {
        name: 'cm1', provider: 'conceptomovil', display_number: '5215500000001',
        conceptomovil: { base_url: NOWHERE, api_key_env: 'C1', api_token_env: 'C2', events_path_token_env: 'T6' },
      },
    ],
  });
  const d360 = (headerTokens: Array<{ name: string; value: string }> = [], signed = true): ProviderSecrets => ({
    provider: '360dialog', apiKey: 'key', signatureSecrets: signed ? [SIGNING] : [], headerTokens,
  });
  const providers = new Map<string, ProviderSecrets>([
    ['signed', d360()],
    ['both', d360([{ name: 'Authorization', value: HEADER_TOKEN }])],
    ['tokenonly', d360([{ name: 'X-Hook-Token', value: HEADER_TOKEN }], false)],
    ['headers', d360([{ name: 'X-Hook-Token', value: HEADER_TOKEN }, { name: 'X-Tenant', value: 'tenant-secret-2' }], false)],
    ['cams1', { provider: 'cams', accessKeyId: 'ak', accessKeySecret: 'sk', eventsToken: CAMS_TOKEN }],
    ['fenced', { provider: 'cams', accessKeyId: 'ak', accessKeySecret: 'sk', eventsToken: FENCED_TOKEN }],
    ['cm1', { provider: 'conceptomovil', apiKey: '1', apiToken: 'tok', eventsToken: CM_TOKEN }],
  ]);
  bridge = await startBridge({ file: 'test', config, secrets: { verifyToken: '', appSecret: '', accessTokens: new Map(), providers, trunkPasswords: new Map() } }, {
    logger: logs.logger, onEvent: (e, number) => { events.push({ e, number }); },
  });
});
afterAll(async () => { await bridge?.stop(); });

const post = (url: string, body: unknown, headers: Record<string, string> = {}) => {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  return bridge.app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json', ...headers } });
};

/** Meta's connect webhook for a user's call to `display`, as 360dialog forwards it. */
function metaConnect(callId: string, display: string, pnid = '999999999999999'): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: '1', changes: [{ field: 'calls', value: {
      messaging_product: 'whatsapp', metadata: { display_phone_number: display, phone_number_id: pnid },
      contacts: [{ wa_id: '447700900123' }],
      calls: [{ id: callId, from: '447700900123', to: display, event: 'connect', timestamp: String(now()), direction: 'USER_INITIATED', session: { sdp_type: 'offer', sdp: OFFER } }],
    } }] }],
  });
}
const camsTerminate = (callId: string, to = '15550000004') => [{ CallId: callId, From: '447700900123', To: to, Event: 'terminate', Status: 'COMPLETED', Direction: 'USER_INITIATED', Timestamp: Date.now() }];
const eventsFor = (callId: string) => events.filter(({ e }) => 'callId' in e && e.callId === callId);

describe('360dialog webhooks', () => {
  it('a signed delivery is answered 200 and its events reach the dispatcher, keyed to the number of the path', async () => {
    const body = metaConnect('wacid.D1', '15550000001');
    const res = await post('/webhooks/360dialog/signed', body, { 'x-360dialog-signature': signD360Webhook(body, SIGNING) });
    expect(res.statusCode).toBe(200);
    await until(() => eventsFor('wacid.D1').length > 0);
    // No phone_number_id configured: the event is routed by the display number.
    expect(eventsFor('wacid.D1')[0]).toMatchObject({ number: 'signed', e: { kind: 'call.offered', phoneNumberId: '15550000001' } });
  });

  it('unsigned or wrongly signed deliveries are refused with 401 and not processed', async () => {
    const body = metaConnect('wacid.D2', '15550000001');
    expect((await post('/webhooks/360dialog/signed', body)).statusCode).toBe(401);
    expect((await post('/webhooks/360dialog/signed', body, { 'x-360dialog-signature': signD360Webhook(body, 'another secret') })).statusCode).toBe(401);
    await new Promise((r) => setTimeout(r, 50));
    expect(eventsFor('wacid.D2')).toEqual([]);
  });

  it('with a signature and a header token both configured, both are required', async () => {
    const body = metaConnect('wacid.D3', '15550000002', '200000000000002');
    const sig = { 'x-360dialog-signature': signD360Webhook(body, SIGNING) };
    expect((await post('/webhooks/360dialog/both', body, sig)).statusCode).toBe(401);
    expect((await post('/webhooks/360dialog/both', body, { authorization: HEADER_TOKEN })).statusCode).toBe(401);
    expect((await post('/webhooks/360dialog/both', body, { ...sig, authorization: HEADER_TOKEN })).statusCode).toBe(200);
    await until(() => eventsFor('wacid.D3').length > 0);
    expect(eventsFor('wacid.D3')[0]!.number).toBe('both');
  });

  it('an event naming another phone_number_id than the number\'s is not taken as its own', async () => {
    const body = metaConnect('wacid.D4', '15559999999', '300000000000003');
    const sig = { 'x-360dialog-signature': signD360Webhook(body, SIGNING), authorization: HEADER_TOKEN };
    expect((await post('/webhooks/360dialog/both', body, sig)).statusCode).toBe(200);
    await until(() => logs.text().includes('events for numbers this path does not serve'));
    expect(eventsFor('wacid.D4')).toEqual([]);
  });

  it('a header token alone is accepted only where allow_header_token_only is set (its own path)', async () => {
    const body = metaConnect('wacid.D5', '15550000003');
    expect((await post('/hooks/d360-token-only', body)).statusCode).toBe(401);
    expect((await post('/hooks/d360-token-only', body, { 'x-hook-token': 'guess' })).statusCode).toBe(401);
    expect((await post('/hooks/d360-token-only', body, { 'x-hook-token': HEADER_TOKEN })).statusCode).toBe(200);
    await until(() => eventsFor('wacid.D5').length > 0);
  });

  it('several custom headers: every one must be there with its value', async () => {
    const body = metaConnect('wacid.D6', '15550000007');
    expect((await post('/webhooks/360dialog/headers', body, { 'x-hook-token': HEADER_TOKEN })).statusCode).toBe(401);
    expect((await post('/webhooks/360dialog/headers', body, { 'x-tenant': 'tenant-secret-2' })).statusCode).toBe(401);
    expect((await post('/webhooks/360dialog/headers', body, { 'x-hook-token': HEADER_TOKEN, 'x-tenant': 'tenant-secret-X' })).statusCode).toBe(401);
    expect(eventsFor('wacid.D6')).toEqual([]);
    expect((await post('/webhooks/360dialog/headers', body, { 'x-hook-token': HEADER_TOKEN, 'x-tenant': 'tenant-secret-2' })).statusCode).toBe(200);
    await until(() => eventsFor('wacid.D6').length > 0);
  });
});

describe('CAMS and Concepto Móvil events behind a path token', () => {
  it('the right token: 200, the event is dispatched once however often it is delivered', async () => {
    for (let i = 0; i < 3; i++) expect((await post(`/webhooks/cams/${CAMS_TOKEN}`, camsTerminate('cams-call-1'))).statusCode).toBe(200);
    await until(() => eventsFor('cams-call-1').length > 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(eventsFor('cams-call-1')).toHaveLength(1);
    expect(eventsFor('cams-call-1')[0]).toMatchObject({ number: 'cams1', e: { kind: 'call.terminated', phoneNumberId: '15550000004' } });
    expect(await bridge.metrics.registry.getSingleMetricAsString('watrunk_webhook_events_total')).toMatch(/kind="call.terminated",disposition="duplicate"} 2/);
  });

  it('a Meta-shaped delivery on a CAMS token is taken as the token\'s number (Meta\'s phone_number_id is not configured)', async () => {
    expect((await post(`/webhooks/cams/${CAMS_TOKEN}`, metaConnect('cams-meta-1', '15550000004'))).statusCode).toBe(200);
    await until(() => eventsFor('cams-meta-1').length > 0);
    expect(eventsFor('cams-meta-1')[0]).toMatchObject({ number: 'cams1', e: { kind: 'call.offered', phoneNumberId: '15550000004' } });
  });

  it('a wrong token is answered exactly like an unknown route, and the token never reaches a log line', async () => {
    const wrong = await post('/webhooks/cams/cams-token-abcdefghijklmnoX', camsTerminate('cams-call-2'));
    const unknown = await post('/nothing/here', camsTerminate('cams-call-2'));
    expect(wrong.statusCode).toBe(404);
    expect(Object.keys(wrong.json()).sort()).toEqual(Object.keys(unknown.json()).sort());
    expect(wrong.json().error).toBe(unknown.json().error);
    // The right token with the wrong provider is wrong too.
    expect((await post(`/webhooks/conceptomovil/${CAMS_TOKEN}`, {})).statusCode).toBe(404);
    // A refusal after the token matched (415) is logged without the path's token.
    const refused = await bridge.app.inject({ method: 'POST', url: `/webhooks/cams/${CAMS_TOKEN}`, payload: 'x', headers: { 'content-type': 'text/plain' } });
    expect(refused.statusCode).toBe(415);
    await new Promise((r) => setTimeout(r, 20));
    expect(logs.text()).toContain('/webhooks/cams/[redacted]');
    expect(logs.text()).not.toContain(CAMS_TOKEN);
    expect(logs.text()).not.toContain('cams-token-abcdefghijklmnoX');
    expect(eventsFor('cams-call-2')).toEqual([]);
  });

  it('a source outside events_allow_from gets 404 even with the right token', async () => {
    const res = await post(`/webhooks/cams/${FENCED_TOKEN}`, camsTerminate('cams-call-3', '15550000005'));
    expect(res.statusCode).toBe(404);
    expect(await bridge.metrics.registry.getSingleMetricAsString('watrunk_provider_event_deliveries_total')).toMatch(/provider="cams",outcome="source_refused"} 1/);
  });

  it('an unknown shape is answered 200 and logged once per shape at warn, with its top-level keys only', async () => {
    const shape = { SomethingNew: 'secret-value-1', Other: 1 };
    for (let i = 0; i < 3; i++) expect((await post(`/webhooks/cams/${CAMS_TOKEN}`, shape)).statusCode).toBe(200);
    expect((await post(`/webhooks/conceptomovil/${CM_TOKEN}`, { hello: 'secret-value-2' })).statusCode).toBe(200);
    const warns = logs.text().split('\n').filter((l) => l.includes('unknown shape'));
    expect(warns).toHaveLength(2);
    expect(warns[0]).toMatch(/"level":"warn".*"keys":\["Other","SomethingNew"\]/);
    expect(warns[1]).toMatch(/"provider":"conceptomovil".*"keys":\["hello"\]/);
    expect(logs.text()).not.toContain('secret-value');
  });

  it('Concepto Móvil flat events reach the dispatcher, keyed by the business number', async () => {
    const res = await post(`/webhooks/conceptomovil/${CM_TOKEN}`, {
      call_id: 'cm-call-1', from: '+447700900123', to: '+5215500000001', event: 'connect', sdp: OFFER, timestamp: now(),
    });
    expect(res.statusCode).toBe(200);
    await until(() => eventsFor('cm-call-1').length > 0);
    expect(eventsFor('cm-call-1')[0]).toMatchObject({ number: 'cm1', e: { kind: 'call.offered', direction: 'USER_INITIATED', user: { number: '447700900123' } } });
  });

  it('malformed JSON is 400', async () => {
    expect((await post(`/webhooks/conceptomovil/${CM_TOKEN}`, '{not json')).statusCode).toBe(400);
  });
});
