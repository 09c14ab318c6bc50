import { afterEach, describe, expect, it } from 'vitest';
import { RETRY_POLICY, shouldRetry } from '../../src/adapters/meta/graph-retry.js';
import { MetaCalls } from '../../src/adapters/meta/meta-calls.js';
import { MetaPermissions } from '../../src/adapters/meta/meta-permissions.js';
import { MetaSettings } from '../../src/adapters/meta/meta-settings.js';
import { ProviderError } from '../../src/calls/ports/whatsapp-errors.js';
import { CALL_ID, SDP_ANSWER, SDP_OFFER, graphError, rejectionOf, startHarness, type Harness } from '../support/meta-graph-stub.js';

let h: Harness;
afterEach(async () => { await h?.close(); });

const PERMISSION_OK = { messaging_product: 'whatsapp', permission: { status: 'temporary' }, actions: [] };
const ERR_500 = { status: 500, body: graphError(138004, 'Connection error') };
const ERR_400 = { status: 400, body: graphError(100, 'Invalid parameter') };

type LiveCallAction = 'pre_accept' | 'accept' | 'reject' | 'terminate';
function liveCallAction(calls: MetaCalls, action: LiveCallAction): Promise<void> {
  switch (action) {
    case 'pre_accept': return calls.preAccept(CALL_ID, SDP_ANSWER);
    case 'accept': return calls.accept(CALL_ID, SDP_ANSWER, 'leg-1');
    case 'reject': return calls.reject(CALL_ID);
    case 'terminate': return calls.terminate(CALL_ID);
  }
}
const LIVE: LiveCallAction[] = ['pre_accept', 'accept', 'reject', 'terminate'];

describe('connect is never retried (a retry can ring the user twice)', () => {
  it.each([
    ['HTTP 500', ERR_500, 'api'],
    ['a dropped connection', { destroy: true }, 'network'],
    ['a timeout', { hang: true }, 'timeout'],
  ])('%s → exactly one request reaches the server', async (_name, reply, kind) => {
    h = await startHarness({ timeoutMs: 150 });
    h.stub.otherwise(reply);
    const err = await rejectionOf(new MetaCalls(h.graph, h.target).connect({ to: '447700900123', sdpOffer: SDP_OFFER }));
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).kind).toBe(kind);
    expect(h.stub.requests).toHaveLength(1);
  });
});

describe('pre_accept, accept, reject, terminate: one fast retry on network error, timeout or 5xx', () => {
  it.each(LIVE)('%s: 500 then 200 → succeeds with two identical requests', async (action) => {
    h = await startHarness();
    h.stub.reply(ERR_500, { body: { success: true } });
    await liveCallAction(new MetaCalls(h.graph, h.target), action);
    expect(h.stub.requests).toHaveLength(2);
    expect(h.stub.requests[1]!.rawBody).toBe(h.stub.requests[0]!.rawBody);
    expect(h.stub.requests[0]!.body).toMatchObject({ action, call_id: CALL_ID });
  });

  it.each(LIVE)('%s: 400 → fails without a retry', async (action) => {
    h = await startHarness();
    h.stub.reply(ERR_400, { body: { success: true } });
    const err = await rejectionOf(liveCallAction(new MetaCalls(h.graph, h.target), action)) as ProviderError;
    expect(err.kind).toBe('api');
    expect(err.httpStatus).toBe(400);
    expect(h.stub.requests).toHaveLength(1);
  });

  it('accept: a timeout then success → two requests', async () => {
    h = await startHarness({ timeoutMs: 150 });
    h.stub.reply({ hang: true }, { body: { success: true } });
    await new MetaCalls(h.graph, h.target).accept(CALL_ID, SDP_ANSWER);
    expect(h.stub.requests).toHaveLength(2);
  });

  it('terminate: a dropped connection then success → two requests', async () => {
    h = await startHarness();
    h.stub.reply({ destroy: true }, { body: { success: true } });
    await new MetaCalls(h.graph, h.target).terminate(CALL_ID);
    expect(h.stub.requests).toHaveLength(2);
  });

  it('retries at most once: 500, 500 → the second error, two requests', async () => {
    h = await startHarness();
    h.stub.reply(ERR_500, { status: 503, body: graphError(2, 'Service temporarily unavailable') });
    const err = await rejectionOf(new MetaCalls(h.graph, h.target).terminate(CALL_ID)) as ProviderError;
    expect(err.httpStatus).toBe(503);
    expect(h.stub.requests).toHaveLength(2);
  });

  it('waits the configured delay before the retry', async () => {
    h = await startHarness({ retryDelayMs: 120 });
    h.stub.reply(ERR_500, { body: { success: true } });
    await new MetaCalls(h.graph, h.target).reject(CALL_ID);
    const gap = h.stub.requests[1]!.at - h.stub.requests[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(110);
    expect(gap).toBeLessThan(1_000);
  });
});

describe('reads and settings updates: one retry on network error or 5xx only', () => {
  it('GET call_permissions: 503 then 200 → two requests', async () => {
    h = await startHarness();
    h.stub.reply({ status: 503, body: 'unavailable' }, { body: PERMISSION_OK });
    const p = await new MetaPermissions(h.graph, h.target).getCallPermission('447700900123');
    expect(p.status).toBe('temporary');
    expect(h.stub.requests).toHaveLength(2);
  });

  it('GET call_permissions: 429 (613) → no retry', async () => {
    h = await startHarness();
    h.stub.reply({ status: 429, body: graphError(613, 'Rate limit') }, { body: PERMISSION_OK });
    const err = await rejectionOf(new MetaPermissions(h.graph, h.target).getCallPermission('447700900123')) as ProviderError;
    expect(err.code).toBe(613);
    expect(h.stub.requests).toHaveLength(1);
  });

  it('GET call_permissions: a timeout is not retried', async () => {
    h = await startHarness({ timeoutMs: 150 });
    h.stub.reply({ hang: true }, { body: PERMISSION_OK });
    const err = await rejectionOf(new MetaPermissions(h.graph, h.target).getCallPermission('447700900123')) as ProviderError;
    expect(err.kind).toBe('timeout');
    expect(h.stub.requests).toHaveLength(1);
  });

  it('GET settings: a dropped connection then 200 → two requests', async () => {
    h = await startHarness();
    h.stub.reply({ destroy: true }, { body: { calling: { status: 'ENABLED' } } });
    const s = await new MetaSettings(h.graph, h.target).getSettings();
    expect(s).toEqual({ calling: { status: 'ENABLED' } });
    expect(h.stub.requests).toHaveLength(2);
  });

  it('POST settings: 502 then 200 → two identical requests (idempotent)', async () => {
    h = await startHarness();
    h.stub.reply({ status: 502, body: 'bad gateway' }, { body: { success: true } });
    await new MetaSettings(h.graph, h.target).updateSettings({ status: 'ENABLED' });
    expect(h.stub.requests).toHaveLength(2);
    expect(h.stub.requests[1]!.rawBody).toBe(h.stub.requests[0]!.rawBody);
  });

  it('POST settings: 400 → no retry', async () => {
    h = await startHarness();
    h.stub.reply({ status: 400, body: graphError(138015, 'Calling cannot be enabled') }, { body: { success: true } });
    const err = await rejectionOf(new MetaSettings(h.graph, h.target).updateSettings({ status: 'ENABLED' })) as ProviderError;
    expect(err.code).toBe(138015);
    expect(h.stub.requests).toHaveLength(1);
  });
});

describe('POST messages (a billed permission request) is never retried', () => {
  it.each([
    ['HTTP 500', ERR_500],
    ['a dropped connection', { destroy: true }],
  ])('%s → exactly one request', async (_name, reply) => {
    h = await startHarness();
    h.stub.reply(reply, { body: { messages: [{ id: 'wamid.X' }] } });
    const err = await rejectionOf(new MetaPermissions(h.graph, h.target).sendPermissionRequest('447700900123', 'May we call?'));
    expect(err).toBeInstanceOf(ProviderError);
    expect(h.stub.requests).toHaveLength(1);
  });
});

describe('the policy table', () => {
  it('never retries protocol errors, and only 5xx among API errors', () => {
    const protocol = new ProviderError('x', 'protocol', { httpStatus: 200 });
    const notFound = new ProviderError('x', 'api', { httpStatus: 404 });
    const server = new ProviderError('x', 'api', { httpStatus: 500 });
    for (const op of Object.keys(RETRY_POLICY) as (keyof typeof RETRY_POLICY)[]) {
      expect(shouldRetry(op, protocol, 1)).toBe(false);
      expect(shouldRetry(op, notFound, 1)).toBe(false);
      expect(shouldRetry(op, server, 2)).toBe(false);
    }
    expect(shouldRetry('terminate', server, 1)).toBe(true);
    expect(shouldRetry('connect', server, 1)).toBe(false);
    expect(shouldRetry('send_permission_request', server, 1)).toBe(false);
  });
});
