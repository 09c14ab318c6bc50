import { afterEach, describe, expect, it } from 'vitest';
import { D360Client } from '../../src/adapters/d360/d360-client.js';
import { D360Settings } from '../../src/adapters/d360/d360-settings.js';
import { d360ApiError, d360ErrorIn2xxBody } from '../../src/adapters/d360/d360-errors.js';
import { mapProviderError } from '../../src/calls/failure-mapping.js';
import { ProviderError } from '../../src/calls/ports/whatsapp-errors.js';
import { Metrics } from '../../src/metrics.js';
import { GraphStub, captureLogger, closedPort, rejectionOf } from '../support/meta-graph-stub.js';
import { readmeRow } from '../support/faults/readme-error-table.js';

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

describe('360dialog\'s own HTTP 400s about the account (https://docs.360dialog.com/docs/support/api-error-message-list)', () => {
  const DISABLED = 'Your WhatsApp for Business API has been disabled';
  const UNPAID = 'Could not send message due to lack of payment. Messaging can resume once overdue invoices towards 360dialog are settled. Please reach out to our integration partner.';
  const RATE_LIMIT = 'You have exceeded the endpoint rate limit.';
  const own = (message: string, status = 400) => d360ApiError('connect', status, JSON.stringify({ meta: { success: false, http_code: status, developer_message: message } }), undefined, KEY);
  const authRow = readmeRow('360dialog HTTP 400 "…API has been disabled", "…lack of payment…"');
  const rateRow = readmeRow('360dialog HTTP 400 "…endpoint rate limit"');

  it.each([
    ['API disabled', DISABLED, '360dialog api_disabled'],
    ['unpaid', UNPAID, '360dialog unpaid'],
  ])('%s: a loud configuration problem, never a rejected request', (_name, message, type) => {
    const e = own(message);
    expect(e.toLog()).toMatchObject({ kind: 'api', httpStatus: 400, category: 'config', type });
    const f = mapProviderError(e);
    expect(f).toMatchObject({ status: authRow.status, reason: authRow.reason, loud: true, cause: 'auth' });
    expect(f.warning).toBe(`the WhatsApp provider refused watrunk's credentials or configuration: ${type}`);
    expect(f.retryAfter).toBeUndefined();
  });

  it('the endpoint rate limit: Rate Limited with Retry-After, as Meta\'s 613', () => {
    const e = own(RATE_LIMIT);
    expect(e.fields).toMatchObject({ category: 'rate_limited', type: '360dialog rate_limit' });
    const meta613 = readmeRow(613);
    expect(rateRow).toEqual({ ...meta613, key: rateRow.key });
    expect(mapProviderError(e)).toMatchObject({ status: meta613.status, reason: meta613.reason, retryAfter: meta613.retryAfter, cause: 'rate_limited' });
  });

  it('is found whatever the case and shape: camelCase envelope, legacy errors list, Meta\'s shape without a code, plain text, a 2xx body', () => {
    const category = (e: ProviderError | undefined) => e?.fields.category;
    expect(category(d360ApiError('connect', 400, JSON.stringify({ meta: { success: false, httpCode: 400, developerMessage: DISABLED.toUpperCase() } }), undefined, KEY))).toBe('config');
    expect(category(d360ApiError('accept', 400, JSON.stringify({ errors: [{ code: 'API_DISABLED', title: 'Bad request' }] }), undefined, KEY))).toBe('config');
    expect(category(d360ApiError('accept', 400, JSON.stringify({ errors: [{ code: 1000, title: 'Payment required', details: 'overdue invoices' }] }), undefined, KEY))).toBe('config');
    expect(category(d360ApiError('connect', 400, JSON.stringify({ error: { message: 'you have exceeded the endpoint RATE LIMIT' } }), undefined, KEY))).toBe('rate_limited');
    expect(category(d360ApiError('terminate', 400, RATE_LIMIT, undefined, KEY))).toBe('rate_limited');
    expect(category(d360ErrorIn2xxBody('connect', { meta: { success: false, http_code: 400, developer_message: 'API disabled' } }, KEY))).toBe('config');
  });

  it('leaves alone what is not one of them: other 400s, 5xx, and Meta\'s codes', () => {
    const other = own('Param to must be a valid phone number');
    expect(other.fields.category).toBeUndefined();
    expect(mapProviderError(other)).toMatchObject({ status: 500, reason: 'WhatsApp Error' });
    // A 5xx is 360dialog's failure whatever its text: retried where allowed, 503 Unavailable.
    expect(mapProviderError(own(RATE_LIMIT, 503))).toMatchObject({ status: 503, reason: 'WhatsApp Unavailable', cause: 'provider_5xx' });
    // Meta's code wins: 131044 is Meta's own payment row, 613 Meta's rate limit.
    const relayed = d360ApiError('connect', 400, JSON.stringify({ error: { code: 131044, message: 'Business eligibility payment issue: lack of payment' } }), undefined, KEY);
    expect(relayed.fields.category).toBeUndefined();
    expect(mapProviderError(relayed)).toMatchObject({ reason: 'WhatsApp Payment Issue', cause: 'payment' });
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
