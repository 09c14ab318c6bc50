import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlSim, TOKEN, type ControlSim } from '../support/control-fixtures.js';
import { ADMIN_TOKEN, startEdgeBridge, type EdgeBridge } from '../support/http-fixtures.js';

/**
 * The admin API's audit trail: every refused credential (401), every settings change and every
 * credential fetch is logged with `audit: true` and the caller's address, and never a secret.
 */

let s: ControlSim;
let edge: EdgeBridge;

beforeAll(async () => {
  s = await startControlSim({ calling: { status: 'ENABLED', sip: { status: 'ENABLED', servers: [{ hostname: 'sip.example.com', port: 5061 }] } } });
  // The simulator's number is the fixtures' PNID; the edge bridge's `sales` number points at it.
  edge = await startEdgeBridge({
    graphUrl: s.url, graphToken: TOKEN,
    extra: { admin: { token_env: 'ADMIN', credentials_state_file: join(mkdtempSync(join(tmpdir(), 'watrunk-audit-')), 'creds.json') } },
  });
});
afterAll(async () => {
  await edge?.stop();
  await s?.close();
});

async function call(method: 'GET' | 'POST', path: string, opts: { token?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) headers['authorization'] = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`http://127.0.0.1:${edge.internalPort}/admin${path}`, {
    method, headers, ...(opts.body !== undefined && { body: JSON.stringify(opts.body) }),
  });
  return { status: r.status, body: await r.text() };
}
const audits = () => edge.lines().filter((l) => l['audit'] === true);
const latestAudit = () => audits().at(-1)!;

describe('admin API audit log', () => {
  it('no bearer token: 401 and one warn audit line with the caller address', async () => {
    const before = audits().length;
    expect((await call('GET', '/numbers/sales/settings')).status).toBe(401);
    expect(audits()).toHaveLength(before + 1);
    expect(latestAudit()).toMatchObject({ level: 'warn', audit: true, remote: '127.0.0.1', method: 'GET', path: '/admin/numbers/sales/settings', status: 401, reason: 'missing_token' });
  });

  it('a wrong token: 401, audited, and the token tried is never logged', async () => {
    const tried = 'not-the-admin-token-but-long-enough';
    expect((await call('POST', '/settings/apply', { token: tried, body: { dry_run: false } })).status).toBe(401);
    expect(latestAudit()).toMatchObject({ level: 'warn', status: 401, reason: 'wrong_token', remote: '127.0.0.1' });
    expect(edge.text()).not.toContain(tried);
    // The 401 is logged once: the audit line is the only line about it.
    expect(edge.lines().filter((l) => l['status'] === 401 && l['path'] === '/admin/settings/apply')).toHaveLength(1);
  });

  it('settings apply and SIP disable: info audit lines naming the action, number and outcome', async () => {
    expect((await call('POST', '/numbers/sales/settings/apply', { token: ADMIN_TOKEN, body: { dry_run: false } })).status).toBe(200);
    expect(latestAudit()).toMatchObject({ level: 'info', action: 'settings.apply', number: 'sales', dryRun: false, remote: '127.0.0.1', outcome: 'ok' });
    expect((await call('POST', '/numbers/sales/sip/disable', { token: ADMIN_TOKEN, body: {} })).status).toBe(200);
    expect(latestAudit()).toMatchObject({ level: 'info', action: 'sip.disable', number: 'sales', outcome: 'applied', changes: ['sip.status: ENABLED → DISABLED'] });
  });

  it('credential reveal: a warn audit line, the password nowhere in the logs; a masked fetch: info', async () => {
    const masked = await call('POST', '/numbers/sales/sip/credentials', { token: ADMIN_TOKEN, body: {} });
    expect(masked.status).toBe(200);
    expect(latestAudit()).toMatchObject({ level: 'info', action: 'sip.credentials', number: 'sales', reveal: false });
    const revealed = await call('POST', '/numbers/sales/sip/credentials', { token: ADMIN_TOKEN, body: { reveal: true } });
    expect(revealed.status).toBe(200);
    const password = (JSON.parse(revealed.body) as { credentials: Array<{ password: string }> }).credentials[0]!.password;
    expect(password).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(latestAudit()).toMatchObject({ level: 'warn', action: 'sip.credentials', number: 'sales', reveal: true, remote: '127.0.0.1' });
    for (const secret of [password, ADMIN_TOKEN, TOKEN]) expect(edge.text()).not.toContain(secret);
  });

  it('a change that fails upstream is audited too, with the failure', async () => {
    expect((await call('POST', '/numbers/nobody/sip/disable', { token: ADMIN_TOKEN, body: {} })).status).toBe(404);
    expect(latestAudit()).toMatchObject({ level: 'info', action: 'sip.disable', number: 'nobody', outcome: 'failed' });
  });
});
