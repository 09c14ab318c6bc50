import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StartupError } from '../../src/config/load.js';
import { freeTcpPort } from '../support/ports.js';
import { ADMIN_TOKEN, startEdgeBridge, VERIFY_TOKEN, type EdgeBridge } from '../support/http-fixtures.js';

/**
 * Two listeners: the public one (config `http`) carries only the webhook and /healthz, so exposing
 * it to Meta exposes nothing else; the internal one (config `internal_http`, loopback by default)
 * carries /healthz, /readyz, /metrics and the admin API.
 */

describe('public and internal listeners', () => {
  let edge: EdgeBridge;
  beforeAll(async () => { edge = await startEdgeBridge(); });
  afterAll(async () => { await edge?.stop(); });

  const get = async (port: number, path: string, headers: Record<string, string> = {}) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
    await r.arrayBuffer();
    return r.status;
  };
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

  it('the public listener answers the webhook and /healthz, and nothing of the internal one', async () => {
    expect(await get(edge.publicPort, `/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=7`)).toBe(200);
    expect(await get(edge.publicPort, '/healthz')).toBe(200);
    for (const path of ['/metrics', '/readyz', '/admin/openapi.json', '/admin/numbers/sales/settings', '/admin/settings/diff']) {
      expect([path, await get(edge.publicPort, path, admin)]).toEqual([path, 404]);
    }
  });

  it('the internal listener answers /healthz, /readyz, /metrics and the admin API, and not the webhook', async () => {
    expect(await get(edge.internalPort, '/healthz')).toBe(200);
    expect([200, 503]).toContain(await get(edge.internalPort, '/readyz'));
    expect(await get(edge.internalPort, '/metrics')).toBe(200);
    expect(await get(edge.internalPort, '/admin/openapi.json')).toBe(200);
    expect(await get(edge.internalPort, '/admin/numbers/sales/settings')).toBe(401);
    expect(await get(edge.internalPort, `/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=7`)).toBe(404);
  });

  it('the bridge reports both addresses', () => {
    expect(edge.bridge.url).toBe(`http://127.0.0.1:${edge.publicPort}`);
    expect(edge.bridge.internalUrl).toBe(`http://127.0.0.1:${edge.internalPort}`);
  });

  it('/metrics counts refused requests by listener, status and reason', async () => {
    await get(edge.publicPort, '/metrics');
    const text = await (await fetch(`http://127.0.0.1:${edge.internalPort}/metrics`)).text();
    expect(text).toMatch(/watrunk_http_rejections_total\{listener="public",status="404",reason="not_found"\} [1-9]/);
  });
});

describe('a port that is already taken: one line naming the key, and nothing left listening', () => {
  let squatter: Server;
  let taken: number;
  beforeAll(async () => {
    taken = await freeTcpPort();
    squatter = createServer();
    await new Promise<void>((r) => squatter.listen(taken, '127.0.0.1', () => r()));
  });
  afterAll(async () => { await new Promise((r) => squatter.close(r)); });

  async function failure(opts: Parameters<typeof startEdgeBridge>[0]): Promise<unknown> {
    try {
      const e = await startEdgeBridge(opts);
      await e.stop();
    } catch (err) {
      return err;
    }
    return undefined;
  }

  it('http.port in use', async () => {
    const err = await failure({ http: { port: taken } });
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toBe(`http.port: 127.0.0.1:${taken} is already in use`);
  });

  it('internal_http.port in use; the public listener that did start is closed again', async () => {
    const publicPort = await freeTcpPort();
    const err = await failure({ http: { port: publicPort }, internalHttp: { port: taken } });
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toBe(`internal_http.port: 127.0.0.1:${taken} is already in use`);
    const probe = createServer();
    await new Promise<void>((resolve, reject) => { probe.once('error', reject); probe.listen(publicPort, '127.0.0.1', () => resolve()); });
    await new Promise((r) => probe.close(r));
  });

  it('http.host that is not an address of this machine', async () => {
    const err = await failure({ http: { host: '192.0.2.1' } });
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toBe('http.host: 192.0.2.1 is not an address of this machine');
  });
});
