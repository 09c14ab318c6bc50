import { afterEach, describe, expect, it } from 'vitest';
import { createConceptoMovilNumber, type ConceptoMovilNumber } from '../../src/adapters/conceptomovil/conceptomovil-number.js';
import { conceptoMovilApiError, errorInBody } from '../../src/adapters/conceptomovil/conceptomovil-errors.js';
import { mapProviderError } from '../../src/calls/failure-mapping.js';
import { ProviderError } from '../../src/calls/ports/whatsapp-errors.js';
import { Metrics } from '../../src/metrics.js';
import { GraphStub, captureLogger, rejectionOf } from '../support/meta-graph-stub.js';

const TOKEN_PATH = '/whatsapp-bsp-api-endpoint-ws/services/v1/auth/token';

let stub: GraphStub | undefined;
let num: ConceptoMovilNumber | undefined;
afterEach(async () => {
  await num?.close();
  await stub?.close();
  stub = undefined;
  num = undefined;
});

async function start(extra: { wabaId?: string; settingsPhoneNumber?: string; baseSuffix?: string } = {}) {
  stub = await GraphStub.start();
  stub.otherwise({ from: (req) => (req.path.endsWith('/auth/token') ? { body: { token: 'T' } } : { body: {} }) });
  num = createConceptoMovilNumber(
    { name: 'mx', baseUrl: `${stub.url}${extra.baseSuffix ?? ''}`, apiKey: '101', apiToken: 'secret', businessNumber: '5215500000001', timeoutMs: 2_000,
      ...(extra.wabaId !== undefined && { wabaId: extra.wabaId }),
      ...(extra.settingsPhoneNumber !== undefined && { settingsPhoneNumber: extra.settingsPhoneNumber }) },
    { logger: captureLogger().logger, metrics: new Metrics(), retryDelayMs: 5 },
  );
  return { stub, num };
}

// The documented example body, byte for byte in key order.
const CALLING = {
  status: 'ENABLED',
  call_icon_visibility: 'DEFAULT',
  call_hours: {
    status: 'ENABLED', timezone_id: 'America/Manaus',
    weekly_operating_hours: [{ day_of_week: 'MONDAY', open_time: '0400', close_time: '1020' }, { day_of_week: 'TUESDAY', open_time: '0108', close_time: '1020' }],
    holiday_schedule: [{ date: '2026-01-01', start_time: '0000', end_time: '2359' }],
  },
  callback_permission_status: 'ENABLED',
};

describe('Concepto Móvil calling settings', () => {
  it('POSTs the calling fields unwrapped to …/phone-number/{waba}/{phone_number}/call-settings with the bearer token', async () => {
    const { stub, num } = await start({ wabaId: '1234567890' });
    await num.settings.updateSettings(CALLING);
    const post = stub.requests.find((r) => r.path !== TOKEN_PATH)!;
    expect(post.method).toBe('POST');
    expect(post.path).toBe('/whatsapp-bsp-admin-ext-endpoint-ws/services/v1/phone-number/1234567890/5215500000001/call-settings');
    expect(post.headers['authorization']).toBe('Bearer T');
    expect(post.rawBody).toBe(JSON.stringify(CALLING));
  });

  it('uses a configured {phone_number} and keeps a base URL prefix', async () => {
    const { stub, num } = await start({ wabaId: 'W', settingsPhoneNumber: '109876543210', baseSuffix: '/tenant' });
    await num.settings.updateSettings({ status: 'DISABLED' });
    expect(stub.requests.map((r) => r.path)).toEqual([
      `/tenant${TOKEN_PATH}`,
      '/tenant/whatsapp-bsp-admin-ext-endpoint-ws/services/v1/phone-number/W/109876543210/call-settings',
    ]);
  });

  it('refuses a sip block before sending anything', async () => {
    const { stub, num } = await start({ wabaId: 'W' });
    const err = await rejectionOf(num.settings.updateSettings({ status: 'ENABLED', sip: { status: 'ENABLED', servers: [] } }));
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).toLog()).toMatchObject({ kind: 'api', type: 'unsupported', operation: 'update_settings' });
    expect(err.message).toMatch(/no SIP mode.*sip/);
    expect(stub.requests).toHaveLength(0);
  });

  it('refuses to write without a WABA id, and to read at all (no read endpoint)', async () => {
    const { stub, num } = await start();
    await expect(num.settings.updateSettings({ status: 'ENABLED' })).rejects.toThrow(/WhatsApp Business Account id/);
    const read = await rejectionOf(num.settings.getSettings());
    expect((read as ProviderError).toLog()).toMatchObject({ type: 'unsupported', operation: 'get_settings' });
    expect(read.message).toMatch(/no read endpoint/);
    expect(stub.requests).toHaveLength(0);
  });
});

describe('Concepto Móvil error mapping', () => {
  const secrets = ['bearer-XYZ'];

  it('reads Meta\'s envelope with its code', () => {
    const e = conceptoMovilApiError('connect', 400, JSON.stringify({ error: { code: 138006, message: 'No approved call permission found', error_data: { details: 'd' } } }), secrets);
    expect(e.toLog()).toMatchObject({ kind: 'api', httpStatus: 400, code: 138006, details: 'd' });
    expect(mapProviderError(e)).toMatchObject({ status: 403, cause: 'no_permission' });
  });

  it('reads a flat body; an HTTP-status-like code is not taken as a provider code', () => {
    const flat = conceptoMovilApiError('accept', 400, JSON.stringify({ code: 400, message: 'Invalid call_id' }), secrets);
    expect(flat.code).toBeUndefined();
    expect(flat.message).toContain('Invalid call_id');
    const relayed = conceptoMovilApiError('connect', 400, JSON.stringify({ code: 138012, error: 'daily limit' }), secrets);
    expect(relayed.code).toBe(138012);
  });

  it('403 is a loud credentials problem; 5xx without a known body keeps a scrubbed snippet', () => {
    expect(mapProviderError(conceptoMovilApiError('connect', 403, '', secrets))).toMatchObject({ cause: 'auth', loud: true });
    const e = conceptoMovilApiError('terminate', 502, '<html>bad gateway bearer-XYZ</html>', secrets);
    expect(e.details).toContain('bad gateway');
    expect(e.details).not.toContain('bearer-XYZ');
    expect(mapProviderError(e)).toMatchObject({ cause: 'provider_5xx' });
  });

  it('finds errors inside 2xx bodies but not in ordinary ones', () => {
    expect(errorInBody('reject', undefined, { status: 'error', description: 'no such call' }, secrets)?.message).toContain('no such call');
    expect(errorInBody('reject', undefined, { success: false }, secrets)).toBeInstanceOf(ProviderError);
    expect(errorInBody('reject', undefined, { status: 'ok', message: 'done' }, secrets)).toBeUndefined();
    expect(errorInBody('reject', undefined, undefined, secrets)).toBeUndefined();
  });
});
