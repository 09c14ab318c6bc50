import { afterEach, describe, expect, it } from 'vitest';
import { GraphClient } from '../../src/adapters/meta/graph-client.js';
import { createMetaNumber } from '../../src/adapters/meta/meta-number.js';
import { MetaSettings } from '../../src/adapters/meta/meta-settings.js';
import { numberSchema, type NumberConfig } from '../../src/config/schema.js';
import { Metrics } from '../../src/metrics.js';
import { ProviderError } from '../../src/calls/ports/whatsapp-errors.js';
import { GraphStub, TOKEN, captureLogger, rejectionOf, startHarness, type Harness } from '../support/meta-graph-stub.js';

const SETTINGS = {
  calling: {
    status: 'ENABLED', call_icon_visibility: 'DEFAULT',
    sip: { status: 'ENABLED', servers: [{ hostname: 'sip.example.com', port: 5061, sip_user_password: 'sip-secret-pw' }] },
  },
  id: '123456789012345',
};

describe('settings', () => {
  let h: Harness;
  afterEach(async () => { await h?.close(); });

  it('GET /settings returns the whole document', async () => {
    h = await startHarness();
    h.stub.reply({ body: SETTINGS });
    const doc = await new MetaSettings(h.graph, h.target).getSettings();
    expect(doc).toStrictEqual(SETTINGS);
    const req = h.stub.requests[0]!;
    expect(req.method).toBe('GET');
    expect(req.path).toBe('/v24.0/123456789012345/settings');
    expect([...req.query.keys()]).toEqual([]);
  });

  it('includeSipCredentials is a GET with ?include_sip_credentials=true, and the password is never logged', async () => {
    h = await startHarness();
    h.stub.reply({ body: SETTINGS });
    await new MetaSettings(h.graph, h.target).getSettings({ includeSipCredentials: true });
    const req = h.stub.requests[0]!;
    expect(req.method).toBe('GET');
    expect(req.query.get('include_sip_credentials')).toBe('true');
    expect(h.log.text()).not.toContain('sip-secret-pw');
    expect(h.log.text()).toContain('get_settings');
  });

  it('a 2xx that is not a JSON object is a protocol error', async () => {
    h = await startHarness();
    h.stub.reply({ body: [1, 2] });
    const err = await rejectionOf(new MetaSettings(h.graph, h.target).getSettings()) as ProviderError;
    expect(err.kind).toBe('protocol');
  });

  it('updateSettings POSTs {"calling": ...} and expects success:true', async () => {
    h = await startHarness();
    h.stub.reply({ body: { success: true } }, { body: { success: false } });
    const calling = { status: 'ENABLED', callback_permission_status: 'ENABLED', audio: { additional_codecs: [] } };
    const settings = new MetaSettings(h.graph, h.target);
    await settings.updateSettings(calling);
    const req = h.stub.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v24.0/123456789012345/settings');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.body).toStrictEqual({ calling });
    expect((await rejectionOf(settings.updateSettings(calling)) as ProviderError).kind).toBe('protocol');
  });
});

describe('createMetaNumber', () => {
  let stub: GraphStub;
  afterEach(async () => { await stub?.close(); });

  function config(overrides: Partial<NumberConfig> = {}): NumberConfig {
    return numberSchema.parse({
      name: 'uk-sales', phone_number_id: '555000111', display_number: '447700900000',
      access_token_env: 'WA_TOKEN', base_url: stub.url, graph_version: 'v23.0', timeout_ms: 150, ...overrides,
    });
  }

  it('wires calls, permissions and settings to the configured base URL, version, number and timeout', async () => {
    stub = await GraphStub.start();
    const log = captureLogger();
    const n = createMetaNumber(config(), TOKEN, { logger: log.logger, metrics: new Metrics(), retryDelayMs: 1 });
    try {
      stub.reply(
        { body: { calls: [{ id: 'wacid.A' }] } },
        { body: { permission: { status: 'permanent' } } },
        { body: { calling: {} } },
        { hang: true },
      );
      expect(await n.calls.connect({ to: '447700900123', sdpOffer: 'v=0\r\n' })).toEqual({ callId: 'wacid.A' });
      expect((await n.permissions.getCallPermission('447700900123')).status).toBe('permanent');
      expect(await n.settings.getSettings()).toEqual({ calling: {} });
      expect(stub.requests.map((r) => r.path)).toEqual([
        '/v23.0/555000111/calls', '/v23.0/555000111/call_permissions', '/v23.0/555000111/settings',
      ]);
      expect(stub.requests.every((r) => r.headers['authorization'] === `Bearer ${TOKEN}`)).toBe(true);
      // timeout_ms from the config bounds each request.
      const err = await rejectionOf(n.calls.connect({ to: '447700900123', sdpOffer: 'v=0\r\n' })) as ProviderError;
      expect(err.kind).toBe('timeout');
      expect(log.text()).not.toContain(TOKEN);
    } finally {
      await n.close();
    }
    // close() closed the number's own client.
    const after = await rejectionOf(n.calls.terminate('wacid.A')) as ProviderError;
    expect(after.kind).toBe('network');
  });

  it('shares a given Graph client across numbers and leaves it open on close()', async () => {
    stub = await GraphStub.start();
    const metrics = new Metrics();
    const { logger } = captureLogger();
    const graph = new GraphClient({ baseUrl: stub.url, logger, metrics });
    try {
      const a = createMetaNumber(config(), TOKEN, { logger, metrics, graphClient: graph });
      const b = createMetaNumber(config({ name: 'uk-support', phone_number_id: '555000222' }), 'other-token', { logger, metrics, graphClient: graph });
      await a.calls.terminate('wacid.A');
      await b.calls.terminate('wacid.B');
      await a.close();
      await b.calls.terminate('wacid.C');
      expect(stub.requests.map((r) => [r.path, r.headers['authorization']])).toEqual([
        ['/v23.0/555000111/calls', `Bearer ${TOKEN}`],
        ['/v23.0/555000222/calls', 'Bearer other-token'],
        ['/v23.0/555000222/calls', 'Bearer other-token'],
      ]);
      expect(stub.connections).toBe(1);
    } finally {
      await graph.close();
    }
  });

  it('refuses a shared client for another base URL', async () => {
    stub = await GraphStub.start();
    const metrics = new Metrics();
    const { logger } = captureLogger();
    const graph = new GraphClient({ baseUrl: 'http://127.0.0.1:1', logger, metrics });
    try {
      expect(() => createMetaNumber(config(), TOKEN, { logger, metrics, graphClient: graph })).toThrow(/shared Graph client/);
    } finally {
      await graph.close();
    }
  });
});
