import { afterEach, describe, expect, it } from 'vitest';
import { GraphClient } from '../../src/adapters/meta/graph-client.js';
import { parseJsonObject, parseSuccess } from '../../src/adapters/meta/graph-responses.js';
import { MetaCalls } from '../../src/adapters/meta/meta-calls.js';
import { Metrics } from '../../src/metrics.js';
import { ProviderError } from '../../src/calls/ports/whatsapp-errors.js';
import {
  CALL_ID, SDP_ANSWER, SDP_OFFER, TOKEN, captureLogger, closedPort, graphError, rejectionOf, startHarness,
  type Harness,
} from '../support/meta-graph-stub.js';

let h: Harness;
afterEach(async () => { await h?.close(); });

function getSettings(hh: Harness) {
  return hh.graph.send(hh.target, { operation: 'get_settings', method: 'GET', edge: 'settings', parse: parseJsonObject });
}

function terminate(hh: Harness) {
  return hh.graph.send(hh.target, {
    operation: 'terminate', method: 'POST', edge: 'calls',
    body: { messaging_product: 'whatsapp', call_id: CALL_ID, action: 'terminate' }, parse: parseSuccess,
  });
}

describe('GraphClient requests', () => {
  it('sends the bearer token, JSON content type on POST, and /<version>/<phone_number_id>/<edge> paths', async () => {
    h = await startHarness();
    h.stub.reply({ body: { success: true } }, { body: { calling: { status: 'ENABLED' } } });
    await terminate(h);
    await getSettings(h);
    const [post, get] = h.stub.requests;
    expect(post!.method).toBe('POST');
    expect(post!.path).toBe('/v24.0/123456789012345/calls');
    expect(post!.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    expect(post!.headers['content-type']).toBe('application/json');
    expect(get!.method).toBe('GET');
    expect(get!.path).toBe('/v24.0/123456789012345/settings');
    expect(get!.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    expect(get!.rawBody).toBe('');
  });

  it('keeps a path prefix of the base URL (a simulator mounted under /graph)', async () => {
    h = await startHarness();
    const prefixed = new GraphClient({ baseUrl: `${h.stub.url}/graph/`, logger: h.log.logger, metrics: h.metrics });
    try {
      await prefixed.send(h.target, { operation: 'get_settings', method: 'GET', edge: 'settings', parse: parseJsonObject });
      expect(h.stub.requests[0]!.path).toBe('/graph/v24.0/123456789012345/settings');
    } finally {
      await prefixed.close();
    }
  });

  it('reuses one keep-alive connection for sequential requests, across numbers on the same base URL', async () => {
    h = await startHarness();
    const calls = new MetaCalls(h.graph, h.target);
    const other = new MetaCalls(h.graph, { ...h.target, phoneNumberId: '999' });
    for (let i = 0; i < 5; i++) await calls.terminate(`${CALL_ID}${i}`);
    for (let i = 0; i < 3; i++) await other.reject(`${CALL_ID}${i}`);
    expect(h.stub.requests).toHaveLength(8);
    expect(h.stub.connections).toBe(1);
  });

  it('close() destroys the pool: connections close and later requests fail as network errors', async () => {
    h = await startHarness();
    await terminate(h);
    expect(h.stub.openConnections).toBe(1);
    await h.graph.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(h.stub.openConnections).toBe(0);
    const err = await rejectionOf(terminate(h));
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).kind).toBe('network');
  });
});

describe('GraphClient error typing', () => {
  it.each([
    { code: 138006, status: 401, message: 'No approved call permission found', details: 'User has not granted permission' },
    { code: 131055, status: 400, message: 'Method not allowed', details: 'Calling API not available on SIP-enabled numbers' },
    { code: 138002, status: 429, message: 'Concurrent calls limit', details: 'Too many concurrent calls' },
  ])('maps Graph $code / HTTP $status to ProviderError(api) with every field', async ({ code, status, message, details }) => {
    h = await startHarness();
    h.stub.reply({ status, body: graphError(code, message, { error_data: { messaging_product: 'whatsapp', details } }) });
    const err = await rejectionOf(new MetaCalls(h.graph, h.target).connect({ to: '447700900123', sdpOffer: SDP_OFFER }));
    expect(err).toBeInstanceOf(ProviderError);
    const pe = err as ProviderError;
    expect(pe.kind).toBe('api');
    expect(pe.code).toBe(code);
    expect(pe.httpStatus).toBe(status);
    expect(pe.details).toBe(details);
    expect(pe.traceId).toBe(`trace-${code}`);
    expect(pe.fields.type).toBe('OAuthException');
    expect(pe.fields.operation).toBe('connect');
    expect(pe.message).toContain(String(code));
    expect(pe.message).toContain(message);
  });

  it('takes fbtrace_id from the x-fb-trace-id header and accepts string error_data and string codes', async () => {
    h = await startHarness();
    h.stub.reply({
      status: 400,
      headers: { 'x-fb-trace-id': 'hdr-trace' },
      body: { error: { message: 'Invalid parameter', code: '100', error_data: 'SDP: missing a=fingerprint' } },
    });
    const pe = await rejectionOf(getSettings(h)) as ProviderError;
    expect(pe.kind).toBe('api');
    expect(pe.code).toBe(100);
    expect(pe.details).toBe('SDP: missing a=fingerprint');
    expect(pe.traceId).toBe('hdr-trace');
  });

  it('maps a non-JSON error body (a proxy page) to api with the HTTP status and no code', async () => {
    h = await startHarness();
    h.stub.otherwise({ status: 502, body: '<html>Bad Gateway</html>', headers: { 'content-type': 'text/html' } });
    const pe = await rejectionOf(new MetaCalls(h.graph, h.target).connect({ to: '1', sdpOffer: SDP_OFFER })) as ProviderError;
    expect(pe.kind).toBe('api');
    expect(pe.httpStatus).toBe(502);
    expect(pe.code).toBeUndefined();
    expect(pe.details).toContain('Bad Gateway');
  });

  it('maps a non-JSON 2xx body and a 2xx body of the wrong shape to protocol', async () => {
    h = await startHarness();
    h.stub.reply({ status: 200, body: 'OK' }, { status: 200, body: { messaging_product: 'whatsapp' } });
    const notJson = await rejectionOf(terminate(h)) as ProviderError;
    expect(notJson.kind).toBe('protocol');
    expect(notJson.message).toContain('not JSON');
    const wrongShape = await rejectionOf(terminate(h)) as ProviderError;
    expect(wrongShape.kind).toBe('protocol');
    expect(wrongShape.message).toContain('success');
    expect(wrongShape.httpStatus).toBe(200);
    expect(h.stub.requests).toHaveLength(2); // protocol errors are never retried
  });

  it('gives up after timeout_ms on a server that never answers: kind timeout', async () => {
    h = await startHarness({ timeoutMs: 150 });
    h.stub.otherwise({ hang: true });
    const started = performance.now();
    const pe = await rejectionOf(new MetaCalls(h.graph, h.target).connect({ to: '1', sdpOffer: SDP_OFFER })) as ProviderError;
    const elapsed = performance.now() - started;
    expect(pe).toBeInstanceOf(ProviderError);
    expect(pe.kind).toBe('timeout');
    expect(pe.fields.operation).toBe('connect');
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1_500);
  });

  it('maps connection refused to kind network', async () => {
    const port = await closedPort();
    const metrics = new Metrics();
    const log = captureLogger();
    const graph = new GraphClient({ baseUrl: `http://127.0.0.1:${port}`, logger: log.logger, metrics, retryDelayMs: 1 });
    h = { close: () => graph.close() } as Harness;
    const pe = await rejectionOf(graph.send(
      { phoneNumberId: '1', graphVersion: 'v24.0', accessToken: TOKEN, timeoutMs: 1_000 },
      { operation: 'connect', method: 'POST', edge: 'calls', body: {}, parse: parseSuccess },
    )) as ProviderError;
    expect(pe).toBeInstanceOf(ProviderError);
    expect(pe.kind).toBe('network');
    expect(pe.message).toContain('ECONNREFUSED');
    expect(pe.message).not.toContain(TOKEN);
  });
});

describe('GraphClient metrics and logs', () => {
  async function count(metrics: Metrics, labels: { operation: string; outcome: string }): Promise<number> {
    const { values } = await metrics.providerRequests.get();
    return values.find((v) => v.labels.operation === labels.operation && v.labels.outcome === labels.outcome)?.value ?? 0;
  }

  it('counts every attempt by operation and outcome and observes latency', async () => {
    h = await startHarness({ timeoutMs: 150 });
    h.stub.reply(
      { body: { success: true } },
      { status: 400, body: graphError(100, 'bad') },
      { body: 'not json' },
      { hang: true },
    );
    const calls = new MetaCalls(h.graph, h.target);
    await calls.terminate(CALL_ID);
    await rejectionOf(calls.terminate(CALL_ID));
    await rejectionOf(calls.terminate(CALL_ID));
    await rejectionOf(calls.connect({ to: '1', sdpOffer: SDP_OFFER }));
    expect(await count(h.metrics, { operation: 'terminate', outcome: 'ok' })).toBe(1);
    expect(await count(h.metrics, { operation: 'terminate', outcome: 'api_error' })).toBe(1);
    expect(await count(h.metrics, { operation: 'terminate', outcome: 'protocol' })).toBe(1);
    expect(await count(h.metrics, { operation: 'connect', outcome: 'timeout' })).toBe(1);
    const latency = await h.metrics.providerLatency.get();
    const terminateCount = latency.values.find((v) => v.metricName?.endsWith('_count') && v.labels['operation'] === 'terminate');
    expect(terminateCount?.value).toBe(3);
  });

  it('logs one debug line per request with operation, status, duration and fbtrace_id; nothing above debug; no token, no SDP', async () => {
    h = await startHarness();
    h.stub.reply(
      { body: { messaging_product: 'whatsapp', calls: [{ id: CALL_ID }] }, headers: { 'x-fb-trace-id': 'ok-trace' } },
      { status: 401, body: graphError(138006, 'No approved call permission found') },
    );
    const calls = new MetaCalls(h.graph, h.target);
    await calls.connect({ to: '447700900123', sdpOffer: SDP_OFFER });
    await rejectionOf(calls.accept(CALL_ID, SDP_ANSWER));
    const lines = h.log.lines.filter((l) => l['msg'] === 'graph request');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'debug', operation: 'connect', status: 200, outcome: 'ok', fbtraceId: 'ok-trace' });
    expect(lines[1]).toMatchObject({ level: 'debug', operation: 'accept', status: 401, outcome: 'api_error', fbtraceId: 'trace-138006' });
    expect(typeof lines[0]!['durationMs']).toBe('number');
    expect(h.log.lines.every((l) => l['level'] === 'debug')).toBe(true);
    const text = h.log.text();
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('opus/48000');
    expect(text).not.toContain('a=setup:active');
  });
});

describe('the access token never leaks', () => {
  it('is scrubbed from errors even when the server echoes it back', async () => {
    h = await startHarness();
    const echo = (field: 'json' | 'text') => ({
      from: (req: { headers: Record<string, string | string[] | undefined> }) => {
        const auth = String(req.headers['authorization']);
        return field === 'json'
          ? { status: 400, body: graphError(190, `Invalid OAuth token: ${auth}`, { error_data: { details: `token ${auth}` } }) }
          : { status: 503, body: `upstream rejected ${auth}` };
      },
    });
    h.stub.reply(echo('json'), echo('text'), echo('text'));
    const errors = [
      await rejectionOf(getSettings(h)),
      await rejectionOf(getSettings(h)), // 503, retried once, 503 again
    ];
    expect(h.stub.requests).toHaveLength(3);
    for (const err of errors) {
      const pe = err as ProviderError;
      expect(pe.message).not.toContain(TOKEN);
      expect(JSON.stringify(pe.toLog())).not.toContain(TOKEN);
      expect(String(pe.stack)).not.toContain(TOKEN);
    }
    expect((errors[0] as ProviderError).message).toContain('[redacted]');
    expect((errors[0] as ProviderError).details).toBe('token Bearer [redacted]');
    expect(h.log.text()).not.toContain(TOKEN);
    expect(h.log.lines.length).toBeGreaterThanOrEqual(3);
  });
});
