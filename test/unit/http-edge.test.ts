import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { rawExchange, rejections, sleep, startEdgeBridge, VERIFY_TOKEN, ADMIN_TOKEN, type EdgeBridge } from '../support/http-fixtures.js';

/**
 * The public webhook listener as an unauthenticated client on the Internet sees it: time limits
 * on headers and body, early 413/415, per-address connection and request limits, security
 * headers, and one warn line (no stack) plus a counter per refused request.
 */

let edge: EdgeBridge | undefined;
afterEach(async () => { await edge?.stop(); edge = undefined; });

const post = (contentLength: number, extraHeaders = 'Content-Type: application/json\r\n') =>
  `POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\n${extraHeaders}Content-Length: ${contentLength}\r\n\r\n`;

/** Lines the HTTP edge wrote about refused requests. */
const refusals = (e: EdgeBridge) => e.lines().filter((l) => l['component'] === 'http' && typeof l['reason'] === 'string');

function expectNoStacks(e: EdgeBridge): void {
  expect(e.text()).not.toMatch(/"stack"|\\n\s+at /);
  expect(e.lines().filter((l) => l['component'] === 'http' && (l.level === 'error' || l.level === 'fatal'))).toEqual([]);
}

describe('time limits (slow clients cannot hold memory)', () => {
  it('a client that sends all but one byte of the body and holds is answered 408 and dropped', async () => {
    edge = await startEdgeBridge({ http: { request_timeout_ms: 400, headers_timeout_ms: 200 } });
    const r = await rawExchange(edge.publicPort, post(4096) + 'x'.repeat(4095), { giveUpMs: 4_000 });
    expect(r.closedAfterMs).toBeDefined();
    expect(r.closedAfterMs!).toBeLessThan(2_000);
    expect(r.status).toBe(408);
    await sleep(50);
    expect(refusals(edge)).toEqual([expect.objectContaining({ level: 'warn', status: 408, reason: 'request_timeout', listener: 'public' })]);
    expect(await rejections(edge.bridge, { listener: 'public', status: '408', reason: 'request_timeout' })).toBe(1);
    expectNoStacks(edge);
  });

  it('a client that never finishes its headers is dropped after headers_timeout_ms', async () => {
    edge = await startEdgeBridge({ http: { request_timeout_ms: 2_000, headers_timeout_ms: 200 } });
    const r = await rawExchange(edge.publicPort, 'POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\n', { giveUpMs: 4_000 });
    expect(r.closedAfterMs).toBeDefined();
    expect(r.closedAfterMs!).toBeLessThan(1_500);
  });

  it('an idle keep-alive connection is closed after keep_alive_timeout_ms', async () => {
    edge = await startEdgeBridge({ http: { keep_alive_timeout_ms: 200 } });
    const r = await rawExchange(edge.publicPort, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', { giveUpMs: 3_000 });
    expect(r.status).toBe(200);
    expect(r.closedAfterMs).toBeDefined();
    // Node 20 waits keepAliveTimeout plus a 1 s allowance; the default (5 s) would take 6 s.
    expect(r.closedAfterMs!).toBeLessThan(3_000);
  });
});

describe('refused before the body is read', () => {
  it('Content-Length over webhook.max_body_bytes: 413 at once, connection closed, no body sent', async () => {
    edge = await startEdgeBridge();
    const r = await rawExchange(edge.publicPort, post(1_048_575), { giveUpMs: 2_000 });
    expect(r.status).toBe(413);
    expect(r.closedAfterMs).toBeDefined();
    expect(await rejections(edge.bridge, { status: '413', reason: 'body_too_large' })).toBe(1);
  });

  it.each([
    ['no Content-Type', ''],
    ['text/plain', 'Content-Type: text/plain\r\n'],
    ['form data', 'Content-Type: application/x-www-form-urlencoded\r\n'],
  ])('%s: 415, one warn line without a stack, counted', async (_name, ct) => {
    edge = await startEdgeBridge();
    const r = await rawExchange(edge.publicPort, post(2, ct) + '{}', { giveUpMs: 2_000 });
    expect(r.status).toBe(415);
    await sleep(50);
    expect(refusals(edge)).toEqual([expect.objectContaining({ level: 'warn', status: 415, reason: 'unsupported_media_type', path: '/webhooks/whatsapp' })]);
    expect(await rejections(edge.bridge, { listener: 'public', status: '415', reason: 'unsupported_media_type' })).toBe(1);
    expectNoStacks(edge);
  });

  it('an upload the client aborts half-way: one warn line (aborted), no stack', async () => {
    edge = await startEdgeBridge();
    await rawExchange(edge.publicPort, post(4000) + 'x'.repeat(1000), { abortAfterMs: 100 });
    await sleep(200);
    expect(refusals(edge)).toEqual([expect.objectContaining({ level: 'warn', reason: 'aborted' })]);
    expectNoStacks(edge);
  });

  it('unsigned deliveries: each answered 401 and counted; one warn line a minute per address, with the webhook\'s details', async () => {
    edge = await startEdgeBridge();
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`http://127.0.0.1:${edge.publicPort}/webhooks/whatsapp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"entry":[]}' });
      expect(r.status).toBe(401);
    }
    expect(await rejections(edge.bridge, { listener: 'public', status: '401', reason: 'bad_signature' })).toBe(4);
    expect(refusals(edge)).toEqual([expect.objectContaining({
      level: 'warn', status: 401, reason: 'bad_signature', hasSignature: false, bytes: 12, msg: expect.stringMatching(/^webhook signature missing or wrong/),
    })]);
    expectNoStacks(edge);
  });

  it('the verify token in a refused GET\'s query string is never logged', async () => {
    edge = await startEdgeBridge();
    const r = await rawExchange(edge.publicPort, 'GET /webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=guess-123456&hub.challenge=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(r.status).toBe(403);
    expect(edge.text()).not.toContain('guess-123456');
  });
});

describe('security headers', () => {
  it('nosniff on every response; no-store on webhook and admin responses, 404s and refusals included', async () => {
    edge = await startEdgeBridge();
    const pub = `http://127.0.0.1:${edge.publicPort}`;
    const internal = `http://127.0.0.1:${edge.internalPort}`;
    const responses = await Promise.all([
      fetch(`${pub}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=42`),
      fetch(`${pub}/webhooks/whatsapp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
      fetch(`${pub}/nothing-here`),
      fetch(`${pub}/healthz`),
      fetch(`${internal}/admin/numbers/sales/settings`),
      fetch(`${internal}/admin/openapi.json`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }),
      fetch(`${internal}/metrics`),
      fetch(`${internal}/readyz`),
    ]);
    expect(responses.map((r) => r.status).slice(0, 7)).toEqual([200, 401, 404, 200, 401, 200, 200]);
    for (const r of responses) {
      expect([r.url, r.headers.get('x-content-type-options')]).toEqual([r.url, 'nosniff']);
      expect([r.url, r.headers.get('cache-control')]).toEqual([r.url, 'no-store']);
    }
  });
});

describe('per-address limits on the public listener', () => {
  function open(port: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(s));
      s.on('error', reject);
    });
  }
  const closed = (s: Socket) => new Promise<boolean>((resolve) => {
    if (s.destroyed) { resolve(true); return; }
    const t = setTimeout(() => resolve(false), 1_000);
    s.on('close', () => { clearTimeout(t); resolve(true); });
  });

  it('connections beyond max_connections_per_ip are closed at once, without reaching the HTTP parser', async () => {
    edge = await startEdgeBridge({ http: { max_connections_per_ip: 3 } });
    const held = await Promise.all([open(edge.publicPort), open(edge.publicPort), open(edge.publicPort)]);
    const extra = await rawExchange(edge.publicPort, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', { giveUpMs: 2_000 });
    expect(extra.response).toBe('');
    expect(extra.closedAfterMs).toBeDefined();
    for (const s of held) expect(s.destroyed).toBe(false);
    held[0]!.destroy();
    await closed(held[0]!);
    // The server sees the close a moment later; then a new connection is accepted again.
    let again = 0;
    for (const deadline = Date.now() + 3_000; again !== 200 && Date.now() < deadline; await sleep(50)) {
      again = (await rawExchange(edge.publicPort, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status ?? 0;
    }
    expect(again).toBe(200);
    expect(await rejections(edge.bridge, { listener: 'public', reason: 'too_many_connections' })).toBeGreaterThanOrEqual(1);
    expect(refusals(edge)).toEqual([expect.objectContaining({ level: 'warn', reason: 'too_many_connections', remote: '127.0.0.1' })]);
    for (const s of held) s.destroy();
  });

  it('requests beyond the per-address rate are answered 429 with Retry-After; logged once, all counted', async () => {
    edge = await startEdgeBridge({ http: { requests_per_ip_per_s: 0.1, request_burst_per_ip: 5 } });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 10; i++) {
      const r = await fetch(`http://127.0.0.1:${edge.publicPort}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=${i}`);
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers.get('retry-after');
      await r.arrayBuffer();
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.slice(5)).toEqual([429, 429, 429, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(await rejections(edge.bridge, { listener: 'public', status: '429', reason: 'rate_limited' })).toBe(5);
    expect(refusals(edge).filter((l) => l['reason'] === 'rate_limited')).toHaveLength(1);
    // The internal listener is not limited.
    for (let i = 0; i < 10; i++) expect((await fetch(`http://127.0.0.1:${edge.internalPort}/healthz`)).status).toBe(200);
  });

  it('behind a trusted reverse proxy, the limit is per X-Forwarded-For client, not per proxy', async () => {
    edge = await startEdgeBridge({ http: { requests_per_ip_per_s: 0.1, request_burst_per_ip: 2, trust_proxy: ['127.0.0.1'] } });
    const get = async (client: string) => {
      const r = await fetch(`http://127.0.0.1:${edge!.publicPort}/healthz`, { headers: { 'x-forwarded-for': client } });
      await r.arrayBuffer();
      return r.status;
    };
    expect([await get('198.51.100.1'), await get('198.51.100.1'), await get('198.51.100.1')]).toEqual([200, 200, 429]);
    expect([await get('198.51.100.2'), await get('198.51.100.2')]).toEqual([200, 200]);
    expect(refusals(edge)).toEqual([expect.objectContaining({ remote: '198.51.100.1', reason: 'rate_limited' })]);
  });
});
