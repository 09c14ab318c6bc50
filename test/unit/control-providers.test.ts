/**
 * The calling control plane on numbers of the other providers (src/control, src/providers), against
 * the simulator's dialects: 360dialog has settings, SIP and permissions like Meta; CAMS settings are
 * read-only; Concepto Móvil settings are write-only without `sip`; neither has permissions.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import type { ProviderSecrets } from '../../src/config/provider-secrets.js';
import { ControlPlane } from '../../src/control/control-plane.js';
import { Metrics } from '../../src/metrics.js';
import { createSimulator, parseSimulatorConfig, type Simulator } from '../../src/simulator/index.js';

const HOURS = {
  status: 'ENABLED', timezone_id: 'Europe/London',
  weekly_operating_hours: [{ day_of_week: 'MONDAY', open_time: '0900', close_time: '1700' }],
};
const LIVE_CALLING = { status: 'ENABLED', call_icon_visibility: 'DEFAULT', callback_permission_status: 'ENABLED', call_hours: HOURS };

let sim: Simulator;
let plane: ControlPlane;

beforeAll(async () => {
  sim = createSimulator(parseSimulatorConfig({
    http: { host: '127.0.0.1', port: 0 },
    numbers: [
      { dialect: '360dialog', phone_number_id: '100000000000001', display_number: '15550000001', api_key: 'd360-key', webhook_url: 'http://127.0.0.1:9/x' },
      {
        dialect: 'cams', phone_number_id: '100000000000002', display_number: '15550000002', access_key_id: 'AKID', access_key_secret: 'AKSECRET',
        cust_space_id: 'cams-space', webhook_url: 'http://127.0.0.1:9/cams', calling: LIVE_CALLING,
      },
      {
        dialect: 'conceptomovil', phone_number_id: '100000000000003', display_number: '5215500000003', waba_id: '200000000000003',
        api_key: '42', api_token: 'cm-token', webhook_url: 'http://127.0.0.1:9/cm',
      },
    ],
    users: [{ match: '447700900123', permission: 'temporary' }, { match: '447700900999', permission: 'none', permission_reply: 'none' }],
    webhooks: { max_attempts: 1, timeout_ms: 200 },
  }), { logger: pino({ level: 'silent' }) });
  const { url } = await sim.listen();
  const config = validateConfig({
    numbers: [
      { name: 'd', provider: '360dialog', display_number: '15550000001', d360: { api_key_env: 'X', base_url: url, webhook: { signature_secret_env: 'Y' } } },
      {
        name: 'c', provider: 'cams', display_number: '15550000002', calling: { status: 'ENABLED', call_hours: { ...HOURS, timezone_id: 'Europe/Paris' } },
        cams: { endpoint: url, access_key_id_env: 'A', access_key_secret_env: 'B', cust_space_id: 'cams-space', events_path_token_env: 'E' },
      },
      {
        name: 'm', provider: 'conceptomovil', display_number: '5215500000003', calling: { status: 'ENABLED', callback_permission_status: 'ENABLED' },
        conceptomovil: { base_url: url, api_key_env: 'K', api_token_env: 'T', waba_id: '200000000000003', events_path_token_env: 'E' },
      },
    ],
  });
  const providerSecrets = new Map<string, ProviderSecrets>([
    ['d', { provider: '360dialog', apiKey: 'd360-key', signatureSecrets: [], headerTokens: [] }],
    ['c', { provider: 'cams', accessKeyId: 'AKID', accessKeySecret: 'AKSECRET', eventsToken: '' }],
    ['m', { provider: 'conceptomovil', apiKey: '42', apiToken: 'cm-token', eventsToken: '' }],
  ]);
  plane = new ControlPlane({ config, accessTokens: new Map(), providerSecrets, logger: pino({ level: 'silent' }), metrics: new Metrics(), retryDelayMs: 5 });
});

afterAll(async () => {
  await plane?.close();
  await sim?.close();
});

describe('360dialog: settings, SIP and permissions as with Meta', () => {
  it('settings get and apply, sip enable and status', async () => {
    const view = await plane.settingsGet('d');
    expect(view).toMatchObject({ number: 'd', provider: '360dialog', phoneNumberId: '15550000001', calling: { status: 'DISABLED' } });
    const plan = await plane.sipEnableOn('d', { hostname: 'sip.example.com', force: true });
    expect(plan.applied).toBe(true);
    expect(await plane.sipStatusOf('d')).toMatchObject({ status: 'ENABLED' });
    expect((await plane.sipDisableOn('d', {})).applied).toBe(true);
  });

  it('permissions check and request go through 360dialog\'s paths', async () => {
    expect(await plane.permissionsCheck('d', '447700900123')).toMatchObject({ granted: true, status: 'temporary' });
    const r = await plane.permissionsRequest('d', '447700900999', {});
    expect(r.outcome).toMatchObject({ sent: true, via: 'interactive' });
  });
});

describe('CAMS: settings read-only, no permissions, no SIP mode', () => {
  it('settings get reads CallingConfigure in Meta\'s shape', async () => {
    const view = await plane.settingsGet('c');
    expect(view.calling).toMatchObject({ status: 'ENABLED', callback_permission_status: 'ENABLED', call_hours: { timezone_id: 'Europe/London' } });
  });

  it('diff shows what differs; apply refuses, saying CAMS has no update API, and sends nothing', async () => {
    const [diff] = await plane.settingsDiff('c');
    expect(diff!.changes.map((c) => c.key)).toEqual(['call_hours']);
    const [applied] = await plane.settingsApply({ number: 'c', dryRun: false });
    expect(applied).toMatchObject({ ok: false, refused: [expect.stringMatching(/^Alibaba Cloud CAMS has no API to change calling settings: change them in the provider's console/)] });
    expect(applied!.changes.every((c) => !c.applied)).toBe(true);
    expect((await plane.settingsGet('c')).calling).toMatchObject({ call_hours: { timezone_id: 'Europe/London' } });
  });

  it('permissions are refused with a clear reason, nothing is sent', async () => {
    await expect(plane.permissionsCheck('c', '447700900123')).rejects.toThrow(/Alibaba Cloud CAMS offers no call permissions API/);
  });

  it('the sip commands are refused, naming the provider', async () => {
    await expect(plane.sipStatusOf('c')).rejects.toThrow('Alibaba Cloud CAMS offers no SIP signalling (docs/providers.md#alibaba-cloud-cams): number c has no sip block to manage');
    await expect(plane.sipEnableOn('m', { hostname: 'sip.example.com', force: true })).rejects.toThrow(/Concepto Móvil offers no SIP signalling/);
  });

  it('the SIP mode check says there is none', async () => {
    const reports = await plane.checkSipModes();
    expect(reports.find((r) => r.number === 'c')).toMatchObject({ state: 'match', detail: 'Alibaba Cloud CAMS has no SIP mode: api only' });
    expect(reports.find((r) => r.number === 'm')).toMatchObject({ state: 'match', detail: 'Concepto Móvil has no SIP mode: api only' });
    expect(reports.find((r) => r.number === 'd')).toMatchObject({ state: 'match' });
  });
});

describe('Concepto Móvil: settings write-only, without sip', () => {
  it('settings get is refused with the provider\'s reason', async () => {
    await expect(plane.settingsGet('m')).rejects.toThrow(/calling settings cannot be read/);
  });

  it('diff cannot read the live settings: every declared key is to be sent', async () => {
    const [diff] = await plane.settingsDiff('m');
    expect(diff).toMatchObject({ declared: true, liveUnknown: expect.stringMatching(/^Concepto Móvil offers no API to read calling settings/) });
    expect(diff!.changes.map((c) => c.key)).toEqual(['status', 'callback_permission_status']);
  });

  it('apply sends the declared settings (unwrapped) and says they cannot be read back', async () => {
    const [applied] = await plane.settingsApply({ number: 'm', dryRun: false });
    expect(applied).toMatchObject({ ok: true, remaining: [], note: expect.stringMatching(/cannot be read back/) });
    expect(applied!.changes.map((c) => [c.key, c.applied])).toEqual([['status', true], ['callback_permission_status', true]]);
  });
});
