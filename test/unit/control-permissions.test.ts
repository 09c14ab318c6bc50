import Fastify from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphClient } from '../../src/adapters/meta/graph-client.js';
import { MetaPermissions } from '../../src/adapters/meta/meta-permissions.js';
import { Metrics } from '../../src/metrics.js';
import { CallPermissionCache, PermissionLookupThrottled } from '../../src/permissions/permission-cache.js';
import { PermissionGate } from '../../src/permissions/permission-gate.js';
import { permissionPolicySchema, type PermissionPolicy } from '../../src/config/permission-policy.js';
import type { PermissionRequestSender } from '../../src/permissions/permission-requests.js';
import { ProviderError } from '../../src/calls/ports/whatsapp-errors.js';
import type { PermissionReplied } from '../../src/calls/ports/whatsapp-events.js';
import type { CallPermission, WhatsAppPermissions } from '../../src/calls/ports/whatsapp-provider.js';
import { captureLogger } from '../support/control-fixtures.js';

/** CallPermissionCache and PermissionGate with fake ports and an injected clock (docs/whatsapp-calling.md#permissions). */

const T0 = Date.UTC(2026, 5, 15, 12, 0, 0);
const USER = '447700900123';
const BSUID = 'GB.13491208655302741918';

const perm = (status: string, opts: { expiresAt?: number; canRequest?: boolean; limitExpiresAt?: number } = {}): CallPermission => ({
  status,
  ...(opts.expiresAt !== undefined && { expiresAt: opts.expiresAt }),
  actions: [
    { name: 'send_call_permission_request', canPerform: opts.canRequest ?? true, limits: [{ timePeriod: 'PT24H', maxAllowed: 1, currentUsage: opts.canRequest === false ? 1 : 0, ...(opts.limitExpiresAt !== undefined && { limitExpiresAt: opts.limitExpiresAt }) }] },
    { name: 'start_call', canPerform: status !== 'no_permission', limits: [] },
  ],
});

class FakePermissions implements WhatsAppPermissions {
  readonly lookups: string[] = [];
  answer: (user: string) => CallPermission | Error = () => perm('no_permission');
  delayMs = 0;
  async getCallPermission(user: string): Promise<CallPermission> {
    this.lookups.push(user);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const a = this.answer(user);
    if (a instanceof Error) throw a;
    return a;
  }
  async sendPermissionRequest(): Promise<{ messageId: string }> { throw new Error('use the sender'); }
}

class FakeSender implements PermissionRequestSender {
  readonly sent: Array<{ via: string; user: string; detail?: unknown }> = [];
  interactiveError?: Error;
  async sendInteractive(user: string, bodyText?: string) {
    if (this.interactiveError) throw this.interactiveError;
    this.sent.push({ via: 'interactive', user, detail: bodyText });
    return { messageId: `wamid.${this.sent.length}` };
  }
  async sendTemplate(user: string, template: { name: string; language: string }) {
    this.sent.push({ via: 'template', user, detail: template });
    return { messageId: `wamid.${this.sent.length}` };
  }
}

const graphError = (code: number, httpStatus = 400) => new ProviderError(`Graph op failed: HTTP ${httpStatus}, code ${code}`, 'api', { code, httpStatus, operation: 'get_call_permissions' });
const reply = (over: Partial<PermissionReplied> = {}): PermissionReplied => ({
  kind: 'permission.replied', phoneNumberId: '1', messageId: 'wamid.R', timestamp: T0 / 1000, user: { number: USER, userId: BSUID },
  response: 'accept', permanent: false, source: 'user_action', ...over,
});
const policy = (p: unknown): PermissionPolicy => permissionPolicySchema.parse(p);

function harness(opts: { ttlMs?: number } = {}) {
  let now = T0;
  const clock = () => now;
  const port = new FakePermissions();
  const sender = new FakeSender();
  const logs = captureLogger('info');
  const cache = new CallPermissionCache(port, { numberName: 'sales', clock, ...(opts.ttlMs !== undefined && { ttlMs: opts.ttlMs }) });
  const gate = new PermissionGate({ numbers: new Map([['sales', { cache, requests: sender }]]), logger: logs.logger, clock });
  return { port, sender, cache, gate, logs, advance: (ms: number) => { now += ms; }, nowS: () => now / 1000 };
}

describe('CallPermissionCache', () => {
  it('keeps a temporary permission until its expiration, then asks Meta again', async () => {
    const h = harness();
    h.port.answer = () => perm('temporary', { expiresAt: h.nowS() + 60 });
    expect((await h.cache.lookup(USER)).cached).toBe(false);
    expect((await h.cache.lookup(`+${USER}`)).cached).toBe(true);
    expect(h.port.lookups).toEqual([USER]);
    h.advance(61_000);
    expect(h.cache.peek(USER)).toBeUndefined();
    await h.cache.lookup(USER);
    expect(h.port.lookups).toHaveLength(2);
  });

  it('a permanent permission is kept for the TTL; "no permission" only briefly (30 s)', async () => {
    const h = harness({ ttlMs: 600_000 });
    h.port.answer = (u) => perm(u === USER ? 'permanent' : 'no_permission');
    await h.cache.lookup(USER);
    await h.cache.lookup('447700900999');
    h.advance(31_000);
    expect(h.cache.peek(USER)?.status).toBe('permanent');
    expect(h.cache.peek('447700900999')).toBeUndefined();
    h.advance(600_000);
    expect(h.cache.peek(USER)).toBeUndefined();
  });

  it('looks up BSUIDs as given; a reply naming both number and BSUID updates both', async () => {
    const h = harness();
    await h.cache.lookup(BSUID);
    expect(h.port.lookups).toEqual([BSUID]);
    h.cache.applyReply(reply({ permanent: true }));
    expect(h.cache.peek(BSUID)).toMatchObject({ status: 'permanent', source: 'reply' });
    expect(h.cache.peek(USER)).toMatchObject({ status: 'permanent', source: 'reply' });
  });

  it('replies take effect at once: accept, expiry by itself, permanent, reject, automatic revocation', async () => {
    const h = harness();
    h.cache.applyReply(reply({ expiresAt: h.nowS() + 3600 }));
    expect((await h.gate.check('sales', USER)).granted).toBe(true);
    h.advance(3_601_000);
    expect(h.cache.peek(USER)).toBeUndefined(); // no webhook when a temporary permission expires (docs/whatsapp-calling.md#permission-replies)
    h.cache.applyReply(reply({ permanent: true }));
    expect(h.cache.peek(USER)?.status).toBe('permanent');
    h.cache.applyReply(reply({ response: 'reject', source: 'automatic' }));
    expect(h.cache.peek(USER)?.status).toBe('no_permission');
    expect(h.port.lookups).toEqual([]);
  });

  it('a temporary accept without expiration_timestamp lasts 7 days', () => {
    const h = harness();
    expect(h.cache.applyReply(reply()).expiresAt).toBe(h.nowS() + 7 * 24 * 3600);
  });

  it('stays under Meta\'s 100 look-ups per second per number; concurrent look-ups for one user share one request', async () => {
    const h = harness();
    for (let i = 0; i < 100; i++) await h.cache.lookup(`4477009${String(i).padStart(5, '0')}`);
    await expect(h.cache.lookup('447700999999')).rejects.toBeInstanceOf(PermissionLookupThrottled);
    h.advance(1000);
    await h.cache.lookup('447700999999');
    h.port.delayMs = 20;
    h.advance(1000);
    const [a, b] = await Promise.all([h.cache.lookup('447711111111'), h.cache.lookup('447711111111')]);
    expect(a.permission).toBe(b.permission);
    expect(h.port.lookups.filter((u) => u === '447711111111')).toHaveLength(1);
  });
});

describe('both expiry spellings through the Graph client (a conflict in Meta\'s docs)', () => {
  const app = Fastify();
  let url = '';
  beforeAll(async () => {
    app.get('/v24.0/:id/call_permissions', async (req) => {
      const q = req.query as Record<string, string>;
      const at = 1_900_000_000;
      return q['user_wa_id'] === '1111111111'
        ? { messaging_product: 'whatsapp', permission: { status: 'temporary', expiration_time: at }, actions: [] }
        : { messaging_product: 'whatsapp', permission: { status: 'temporary', expiration: String(at) }, actions: [] };
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => { await app.close(); });

  it('expiration_time and expiration both bound the cache entry', async () => {
    const graph = new GraphClient({ baseUrl: url, logger: pino({ level: 'silent' }), metrics: new Metrics() });
    const port = new MetaPermissions(graph, { phoneNumberId: '1', graphVersion: 'v24.0', accessToken: 't', timeoutMs: 2000 });
    const cache = new CallPermissionCache(port, { numberName: 'x', clock: () => 1_800_000_000_000, ttlMs: 1e12 });
    for (const u of ['1111111111', '2222222222']) {
      expect((await cache.lookup(u)).permission.expiresAt).toBe(1_900_000_000);
      expect((await cache.lookup(u)).cached).toBe(true);
    }
    const later = new CallPermissionCache(port, { numberName: 'x', clock: () => 1_900_000_001_000, ttlMs: 1e12 });
    await later.lookup('1111111111');
    expect(later.peek('1111111111')).toBeUndefined();
    await graph.close();
  });
});

describe('PermissionGate.decide', () => {
  it('off: just call, nothing looked up', async () => {
    const h = harness();
    expect(await h.gate.decide(undefined, 'sales', USER)).toEqual({ allow: true });
    expect(await h.gate.decide(policy('off'), 'sales', USER)).toEqual({ allow: true });
    expect(h.port.lookups).toEqual([]);
  });

  it('check: no permission → 403 with a readable reason, no request sent; a granted one → allow', async () => {
    const h = harness();
    expect(await h.gate.decide(policy('check'), 'sales', USER)).toEqual({
      allow: false, status: 403, reason: 'No WhatsApp Call Permission', requested: false, cause: 'no_permission',
      warning: 'the WhatsApp user has not granted call permission (checked before calling; no call was placed)',
    });
    expect(h.sender.sent).toEqual([]);
    h.port.answer = () => perm('permanent');
    expect(await h.gate.decide(policy('check'), 'sales', '447700900555')).toEqual({ allow: true });
  });

  it('request: sends the interactive request once, answers 403 saying so; the next call is not asked again', async () => {
    const h = harness();
    const p = policy({ mode: 'request', request: { body_text: 'May we call you?' } });
    const d = await h.gate.decide(p, 'sales', USER);
    expect(d).toMatchObject({ allow: false, status: 403, reason: 'WhatsApp Call Permission Requested', requested: true, cause: 'permission_requested' });
    expect(d.allow === false && d.warning).toMatch(/a permission request was sent \(interactive message\); call again once the user accepts/);
    expect(h.sender.sent).toEqual([{ via: 'interactive', user: USER, detail: 'May we call you?' }]);
    expect(h.logs.text()).toContain('call permission requested');

    const again = await h.gate.decide(p, 'sales', USER);
    expect(again).toMatchObject({ allow: false, status: 403, requested: false, cause: 'permission_request_limit' });
    expect(h.sender.sent).toHaveLength(1);
  });

  it('request: Meta allows no request now → 403 naming when the limit frees up, nothing sent', async () => {
    const h = harness();
    h.port.answer = () => perm('no_permission', { canRequest: false, limitExpiresAt: 1_781_600_000 });
    const d = await h.gate.decide(policy('request'), 'sales', USER);
    expect(d).toMatchObject({ allow: false, status: 403, requested: false, cause: 'permission_request_limit' });
    expect(d.allow === false && d.warning).toContain(`next request possible after ${new Date(1_781_600_000_000).toISOString()}`);
    expect(h.sender.sent).toEqual([]);
  });

  it('request: outside the 24 h window (131047) the configured template is sent instead', async () => {
    const h = harness();
    h.sender.interactiveError = graphError(131047);
    const d = await h.gate.decide(policy({ mode: 'request', request: { template: { name: 'perm_v1', language: 'en' } } }), 'sales', USER);
    expect(d).toMatchObject({ requested: true });
    expect(d.allow === false && d.warning).toContain('(template message)');
    expect(h.sender.sent).toEqual([{ via: 'template', user: USER, detail: { name: 'perm_v1', language: 'en' } }]);
  });

  it('request: 138009 from Meta → not requested; 138017 (a permanent permission exists) → allow', async () => {
    const h = harness();
    h.sender.interactiveError = graphError(138009);
    expect(await h.gate.decide(policy('request'), 'sales', USER)).toMatchObject({ allow: false, requested: false, cause: 'permission_request_limit' });
    h.sender.interactiveError = graphError(138017);
    expect(await h.gate.decide(policy('request'), 'sales', '447700900777')).toEqual({ allow: true });
  });

  it('request after a reject webhook asks Meta afresh whether a request may be sent', async () => {
    const h = harness();
    h.cache.applyReply(reply({ response: 'reject' }));
    await h.gate.decide(policy('request'), 'sales', USER);
    expect(h.port.lookups).toEqual([USER]);
    expect(h.sender.sent).toHaveLength(1);
  });

  it('fails safe: a look-up error (613, timeout) allows the call with a warning log; on_lookup_error: reject maps the error', async () => {
    const h = harness();
    h.port.answer = () => graphError(613, 429);
    expect(await h.gate.decide(policy('check'), 'sales', USER)).toEqual({ allow: true, warning: 'call permission could not be checked' });
    expect(h.logs.text()).toContain('call permission look-up failed: placing the call anyway');
    expect(await h.gate.decide(policy({ mode: 'check', on_lookup_error: 'reject' }), 'sales', USER)).toMatchObject({
      allow: false, status: 503, reason: 'WhatsApp Rate Limited', retryAfter: 1, requested: false,
    });
    h.port.answer = () => new ProviderError('Graph get_call_permissions: no answer within 2000 ms', 'timeout', { operation: 'get_call_permissions' });
    expect(await h.gate.decide(policy({ mode: 'request', on_lookup_error: 'reject' }), 'sales', USER)).toMatchObject({ allow: false, status: 504 });
  });
});
