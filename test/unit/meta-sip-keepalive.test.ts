/**
 * The OPTIONS keep-alive toward Meta's edge (src/adapters/meta-sip/meta-sip-keepalive.ts): any
 * answer counts as alive, silence is logged once and counted, and nothing is sent while
 * drachtio-server is not connected.
 */
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { MetaSipKeepalive } from '../../src/adapters/meta-sip/meta-sip-keepalive.js';
import type { SrfLike } from '../../src/adapters/drachtio/srf-types.js';

function fakeSrf(answer: number | undefined) {
  const request = vi.fn((uri: string, opts: { method: string; headers?: Record<string, string>; proxy?: string }, cb: (err: unknown, req: EventEmitter) => void) => {
    const req = new EventEmitter();
    cb(null, req);
    if (answer !== undefined) setImmediate(() => req.emit('response', { status: answer, get: () => undefined }));
    return { uri, opts };
  });
  return { srf: { request } as unknown as SrfLike, request };
}

const base = { uri: 'sip:wa.meta.vc;transport=tls', proxy: 'sip:wa.meta.vc:5061;transport=tls', from: '<sip:+15551112222@sip.example.com>', intervalS: 30, logger: pino({ level: 'silent' }) };

describe('MetaSipKeepalive', () => {
  it('sends OPTIONS to sip:wa.meta.vc through the edge, From the business number; any answer is alive', async () => {
    const { srf, request } = fakeSrf(404);
    const k = new MetaSipKeepalive({ ...base, srf, connected: () => true });
    expect(await k.ping()).toBe(404);
    expect(request).toHaveBeenCalledWith('sip:wa.meta.vc;transport=tls', { method: 'OPTIONS', proxy: base.proxy, headers: { From: base.from } }, expect.any(Function));
    expect(k.state()).toMatchObject({ lastStatus: 404, failures: 0 });
  });

  it('no answer in time counts a failure; the next answer clears it', async () => {
    const silent = fakeSrf(undefined);
    const k = new MetaSipKeepalive({ ...base, srf: silent.srf, connected: () => true, timeoutMs: 20 });
    expect(await k.ping()).toBeUndefined();
    expect(await k.ping()).toBeUndefined();
    expect(k.state().failures).toBe(2);
    const answering = fakeSrf(200);
    (silent.srf as unknown as { request: unknown }).request = answering.request;
    expect(await k.ping()).toBe(200);
    expect(k.state().failures).toBe(0);
  });

  it('sends nothing while drachtio-server is not connected', async () => {
    const { srf, request } = fakeSrf(200);
    const k = new MetaSipKeepalive({ ...base, srf, connected: () => false });
    expect(await k.ping()).toBeUndefined();
    expect(request).not.toHaveBeenCalled();
  });
});
