import { createHmac, timingSafeEqual } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildInternalApp, buildPublicApp } from '../../src/http/app.js';
import { Readiness } from '../../src/http/readiness.js';
import { Metrics } from '../../src/metrics.js';
import { registerWebhookIngress, type DeliveryVerifier } from '../../src/webhooks/ingress.js';

// Observed, not replaced: the GET verification must compare tokens with crypto.timingSafeEqual.
vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof import('node:crypto')>();
  return { ...crypto, timingSafeEqual: vi.fn(crypto.timingSafeEqual) };
});

const SECRET = 'test-app-secret';
const sign = (raw: string | Buffer) => `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`;
/** Independent of the Meta adapter's verifier, so this test checks the ingress alone. */
const verifier: DeliveryVerifier = { verify: (raw, sig) => sig === sign(raw) };

async function ingress(maxBodyBytes = 4096) {
  const metrics = new Metrics();
  const app = buildPublicApp({ logger: pino({ level: 'silent' }), metrics, maxBodyBytes });
  const delivered: unknown[] = [];
  await registerWebhookIngress(app, {
    path: '/wh', verifyToken: 'vt-123', verifier, signatureHeader: 'x-hub-signature-256', maxBodyBytes,
    onDelivery: (b) => { delivered.push(b); }, logger: pino({ level: 'silent' }), metrics,
  });
  await app.ready();
  return { app, delivered, metrics };
}

let app: Awaited<ReturnType<typeof ingress>>['app'] | undefined;
afterEach(async () => { await app?.close(); app = undefined; });

describe('webhook verification (GET)', () => {
  it('answers the raw challenge for subscribe + the right token', async () => {
    ({ app } = await ingress());
    const r = await app.inject({ method: 'GET', url: '/wh?hub.mode=subscribe&hub.verify_token=vt-123&hub.challenge=1158201444' });
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe('1158201444');
  });
  it.each([
    ['wrong token', '/wh?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1'],
    ['wrong mode', '/wh?hub.mode=unsubscribe&hub.verify_token=vt-123&hub.challenge=1'],
    ['no token', '/wh?hub.mode=subscribe&hub.challenge=1'],
  ])('%s → 403', async (_n, url) => {
    ({ app } = await ingress());
    expect((await app.inject({ method: 'GET', url })).statusCode).toBe(403);
  });

  it('compares the token in constant time: SHA-256 of both, crypto.timingSafeEqual, whatever the length tried', async () => {
    ({ app } = await ingress());
    const spy = vi.mocked(timingSafeEqual);
    for (const tried of ['vt-123', 'x', 'vt-1234567890-much-longer-than-the-real-one']) {
      spy.mockClear();
      const r = await app.inject({ method: 'GET', url: `/wh?hub.mode=subscribe&hub.verify_token=${tried}&hub.challenge=5` });
      expect(r.statusCode).toBe(tried === 'vt-123' ? 200 : 403);
      expect(spy).toHaveBeenCalledTimes(1);
      const [a, b] = spy.mock.calls[0]! as unknown as [Buffer, Buffer];
      expect([a.length, b.length]).toEqual([32, 32]);
    }
  });
});

describe('webhook delivery (POST)', () => {
  const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [] });

  it('a signed delivery is answered 200 and handed over after the answer', async () => {
    let delivered: unknown[];
    ({ app, delivered } = await ingress());
    const r = await app.inject({ method: 'POST', url: '/wh', payload: body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) } });
    expect(r.statusCode).toBe(200);
    await new Promise((res) => setImmediate(res));
    expect(delivered).toEqual([JSON.parse(body)]);
  });

  it('verifies the raw bytes, not re-serialised JSON (spacing and unicode escapes kept)', async () => {
    let delivered: unknown[];
    ({ app, delivered } = await ingress());
    const raw = '{"object":  "whatsapp_business_account", "name":"Jos\\u00e9", "entry":[]}';
    const r = await app.inject({ method: 'POST', url: '/wh', payload: raw, headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(raw) } });
    expect(r.statusCode).toBe(200);
    await new Promise((res) => setImmediate(res));
    expect(delivered).toHaveLength(1);
  });

  it.each([
    ['missing signature', undefined],
    ['wrong signature', 'sha256=' + '0'.repeat(64)],
    ['signature of another body', sign('{}')],
  ])('%s → 401 and nothing processed', async (_n, sig) => {
    let delivered: unknown[];
    let metrics: Metrics;
    ({ app, delivered, metrics } = await ingress());
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (sig) headers['x-hub-signature-256'] = sig;
    const r = await app.inject({ method: 'POST', url: '/wh', payload: body, headers });
    expect(r.statusCode).toBe(401);
    await new Promise((res) => setImmediate(res));
    expect(delivered).toEqual([]);
    expect((await metrics.webhookDeliveries.get()).values.find((v) => v.labels.outcome === 'bad_signature')?.value).toBe(1);
  });

  it('malformed JSON with a valid signature → 400', async () => {
    let delivered: unknown[];
    ({ app, delivered } = await ingress());
    const raw = '{"object": "whatsapp_business_account", ';
    const r = await app.inject({ method: 'POST', url: '/wh', payload: raw, headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(raw) } });
    expect(r.statusCode).toBe(400);
    expect(delivered).toEqual([]);
  });

  it('a body over the limit → 413, before the signature is even looked at', async () => {
    let metrics: Metrics;
    ({ app, metrics } = await ingress(1024));
    const raw = JSON.stringify({ pad: 'x'.repeat(5000) });
    const r = await app.inject({ method: 'POST', url: '/wh', payload: raw, headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(raw) } });
    expect(r.statusCode).toBe(413);
    expect((await metrics.webhookDeliveries.get()).values.find((v) => v.labels.outcome === 'too_large')?.value).toBe(1);
  });

  it('a handler that throws does not affect the 200 already sent', async () => {
    const metrics = new Metrics();
    app = buildPublicApp({ logger: pino({ level: 'silent' }), metrics, maxBodyBytes: 4096 });
    await registerWebhookIngress(app, {
      path: '/wh', verifyToken: 'v', verifier, signatureHeader: 'x-hub-signature-256', maxBodyBytes: 4096,
      onDelivery: () => { throw new Error('handler bug'); }, logger: pino({ level: 'silent' }), metrics,
    });
    const r = await app.inject({ method: 'POST', url: '/wh', payload: body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': sign(body) } });
    expect(r.statusCode).toBe(200);
  });
});

describe('health, readiness, metrics', () => {
  it('/healthz is 200, /readyz reflects checks, /metrics is Prometheus text', async () => {
    const readiness = new Readiness();
    let up = false;
    readiness.register('drachtio', () => ({ ok: up, detail: up ? 'connected' : 'down' }));
    app = buildInternalApp({ logger: pino({ level: 'silent' }), metrics: new Metrics(), readiness });
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    const down = await app.inject('/readyz');
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ status: 'not_ready', checks: { drachtio: { ok: false, detail: 'down' } } });
    up = true;
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    const m = await app.inject('/metrics');
    expect(m.headers['content-type']).toContain('text/plain');
    expect(m.body).toContain('watrunk_webhook_deliveries_total');
  });
});
