import { afterEach, describe, expect, it } from 'vitest';
import { D360Client } from '../../src/adapters/d360/d360-client.js';
import { D360Settings } from '../../src/adapters/d360/d360-settings.js';
import { d360ApiError, d360ErrorIn2xxBody } from '../../src/adapters/d360/d360-errors.js';
import { mapProviderError } from '../../src/calls/failure-mapping.js';
import { ProviderError } from '../../src/calls/ports/whatsapp-errors.js';
import { Metrics } from '../../src/metrics.js';
import { GraphStub, captureLogger, closedPort, rejectionOf } from '../support/meta-graph-stub.js';

const KEY = 'd360-key-for-error-tests-Pp0';

describe('360dialog error mapping', () => {
  it('keeps Meta\'s code, details and fbtrace_id when 360dialog relays Meta\'s envelope', () => {
    const e = d360ApiError('connect', 401, JSON.stringify({
      error: { message: 'No approved call permission found', type: 'OAuthException', code: 138006, error_data: { details: 'no permission' }, fbtrace_id: 'AbC' },
    }), undefined, KEY);
    expect(e.toLog()).toMatchObject({ kind: 'api', httpStatus: 401, code: 138006, details: 'no permission', traceId: 'AbC', operation: 'connect' });
    expect(mapProviderError(e)).toMatchObject({ status: 403, cause: 'no_permission' });
  });

  it('reads 360dialog\'s own envelope in both spellings; the HTTP status wins over the body\'s http_code', () => {
    const camel = d360ApiError('connect', 401, JSON.stringify({ meta: { httpCode: 404, developerMessage: 'Invalid api_key or token expired', success: false } }), undefined, KEY);
    expect(camel.httpStatus).toBe(401);
    expect(camel.code).toBeUndefined();
    expect(camel.message).toContain('Invalid api_key or token expired');
    expect(camel.details).toBe('body http_code 404');
    // 401/403 = the key is wrong or blocked: a loud configuration problem, as for Meta.
    expect(mapProviderError(camel)).toMatchObject({ status: 503, cause: 'auth', loud: true });
    const blocked = d360ApiError('get_settings', 403, JSON.stringify({ meta: { httpCode: 403, developerMessage: 'This URL *** is blocked', success: false } }), undefined, KEY);
    expect(mapProviderError(blocked)).toMatchObject({ cause: 'auth', loud: true });
    const snake = d360ApiError('accept', 555, JSON.stringify({ meta: { success: false, http_code: 555, developer_message: 'Internal server error' } }), 'req-1', KEY);
    expect(snake.toLog()).toMatchObject({ httpStatus: 555, traceId: 'req-1' });
    expect(mapProviderError(snake)).toMatchObject({ cause: 'provider_5xx' });
  });

  it('keeps a short, scrubbed snippet of a body it does not know (an HTML 503 page)', () => {
    const e = d360ApiError('terminate', 503, `<html><head><title>503 Service Temporarily Unavailable</title></head>\n<body>${KEY}</body></html>`, undefined, KEY);
    expect(e.httpStatus).toBe(503);
    expect(e.details).toContain('503 Service Temporarily Unavailable');
    expect(e.details).not.toContain(KEY);
  });

  it('finds an error inside a 2xx answer', () => {
    expect(d360ErrorIn2xxBody('connect', { meta: { success: false, http_code: 400, developer_message: 'API disabled' } }, KEY)?.toLog())
      .toMatchObject({ kind: 'api', httpStatus: 400 });
    expect(d360ErrorIn2xxBody('connect', { error: { code: 131055, message: 'SIP mode' } }, KEY)?.code).toBe(131055);
    expect(d360ErrorIn2xxBody('connect', { success: true }, KEY)).toBeUndefined();
    expect(d360ErrorIn2xxBody('connect', { meta: { success: true } }, KEY)).toBeUndefined();
  });

  it('scrubs the API key from every message', () => {
    const e = d360ApiError('connect', 400, JSON.stringify({ error: { message: `bad key ${KEY}`, code: 100, error_data: { details: KEY } } }), undefined, KEY);
    expect(JSON.stringify(e.toLog())).not.toContain(KEY);
  });
});

describe('360dialog client failures', () => {
  let stub: GraphStub | undefined;
  let client: D360Client | undefined;
  afterEach(async () => { await client?.close(); await stub?.close(); stub = undefined; client = undefined; });

  it('a 2xx answer with meta.success false is an api error, not retried, counted as api_error', async () => {
    stub = await GraphStub.start();
    const metrics = new Metrics();
    client = new D360Client({ baseUrl: stub.url, logger: captureLogger().logger, metrics, retryDelayMs: 5 });
    stub.reply({ status: 200, body: { meta: { success: false, http_code: 400, developer_message: 'limit' } } });
    const err = await rejectionOf(new D360Settings(client, { apiKey: KEY, timeoutMs: 1000 }).updateSettings({ status: 'ENABLED' }));
    expect((err as ProviderError).toLog()).toMatchObject({ kind: 'api', httpStatus: 400, operation: 'update_settings' });
    expect(stub.requests).toHaveLength(1);
    expect(await metrics.registry.getSingleMetricAsString('watrunk_provider_requests_total')).toContain('operation="update_settings",outcome="api_error"');
  });

  it('a hanging answer is a timeout; a closed port a network error (get_settings retried once)', async () => {
    stub = await GraphStub.start();
    client = new D360Client({ baseUrl: stub.url, logger: captureLogger().logger, metrics: new Metrics(), retryDelayMs: 5 });
    stub.reply({ hang: true });
    const t = await rejectionOf(new D360Settings(client, { apiKey: KEY, timeoutMs: 150 }).updateSettings({}));
    expect((t as ProviderError).kind).toBe('timeout');
    const port = await closedPort();
    const down = new D360Client({ baseUrl: `http://127.0.0.1:${port}`, logger: captureLogger().logger, metrics: new Metrics(), retryDelayMs: 5 });
    try {
      const n = await rejectionOf(new D360Settings(down, { apiKey: KEY, timeoutMs: 1000 }).getSettings());
      expect((n as ProviderError).kind).toBe('network');
      expect(n.message).toContain('360dialog get_settings');
    } finally {
      await down.close();
    }
  });
});
