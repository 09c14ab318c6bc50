import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../../src/bridge.js';
import { registerPermissionsCommand } from '../../src/cli/permissions-command.js';
import { registerSettingsCommand } from '../../src/cli/settings-command.js';
import { registerSipCommand } from '../../src/cli/sip-command.js';
import { adminOpenApi } from '../../src/control/admin/admin-openapi.js';
import { signWebhookBody } from '../../src/simulator/index.js';
import { freeTcpPort } from '../support/ports.js';
import { APP_SECRET, captureLogger, controlConfig, DISPLAY, PNID, startControlSim, TOKEN, until, type ControlSim } from '../support/control-fixtures.js';

/**
 * `watrunk start` with the control plane: the start-up SIP mode check and restrictions in /readyz,
 * account notices from signed webhooks, and the admin HTTP API (bearer token, OpenAPI document).
 */

const ADMIN_TOKEN = 'admin-token-0123456789abcdef';
const SERVER = { hostname: 'sip.example.com', port: 5061 };
let s: ControlSim;
let bridge: RunningBridge;
const logs = captureLogger('trace');
let stateDir: string;

beforeAll(async () => {
  const port = await freeTcpPort();
  // Meta has SIP ENABLED, the config says mode api: the mismatch the start-up check must catch.
  s = await startControlSim({ calling: { status: 'ENABLED', sip: { status: 'ENABLED', servers: [SERVER] } }, webhookUrl: `http://127.0.0.1:${port}/webhooks/whatsapp` });
  stateDir = mkdtempSync(join(tmpdir(), 'watrunk-admin-'));
  const config = controlConfig(s.url, {}, {
    http: { host: '127.0.0.1', port },
    internal_http: { host: '127.0.0.1', port: await freeTcpPort() },
    admin: { token_env: 'ADMIN', credentials_state_file: join(stateDir, 'creds.json') },
  });
  bridge = await startBridge({
    file: 'test', config,
    secrets: { verifyToken: 'vt', appSecret: APP_SECRET, accessTokens: new Map([['sales', TOKEN]]), trunkPasswords: new Map(), adminToken: ADMIN_TOKEN },
  }, { logger: logs.logger });
});

afterAll(async () => {
  await bridge?.stop();
  await s?.close();
});

const admin = (method: 'GET' | 'POST', url: string, payload?: unknown, token = ADMIN_TOKEN) =>
  bridge.internalApp.inject({ method, url, ...(token && { headers: { authorization: `Bearer ${token}` } }), ...(payload !== undefined && { payload: payload as object }) });
const readyz = async () => (await bridge.internalApp.inject({ method: 'GET', url: '/readyz' })).json() as { status: string; checks: Record<string, { ok: boolean; detail: string }> };

describe('start-up SIP mode check and /readyz', () => {
  it('warns loudly when the configured mode disagrees with Meta\'s sip.status, and shows it in /readyz', async () => {
    await until(async () => (await readyz()).checks['sip_mode']?.detail !== 'not checked yet');
    const r = await readyz();
    expect(r.checks['sip_mode']).toEqual({ ok: true, detail: expect.stringMatching(/^MISMATCH: sales: configured mode is api but Meta has sip.status ENABLED: every Graph \/calls request will fail with 131055/) });
    expect(r.checks['whatsapp_restrictions']).toEqual({ ok: true, detail: 'no calling restrictions reported by Meta' });
    expect(logs.text()).toMatch(/"level":"error".*SIP MODE MISMATCH/);
    expect(await bridge.metrics.registry.getSingleMetricAsString('watrunk_sip_mode_mismatch')).toContain('watrunk_sip_mode_mismatch{number="sales"} 1');
  });

  it('an account_update restriction webhook is logged, counted, and shown in /readyz and settings get', async () => {
    const expiration = Math.floor(Date.now() / 1000) + 7 * 24 * 3600;
    const body = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [{ id: '112735964992110', time: Math.floor(Date.now() / 1000), changes: [{ field: 'account_update', value: {
        phone_number: DISPLAY, event: 'ACCOUNT_RESTRICTION', restriction_info: [{ restriction_type: 'RESTRICTED_BUSINESS_INITIATED_CALLING', expiration }],
      } }] }],
    });
    const res = await bridge.app.inject({ method: 'POST', url: '/webhooks/whatsapp', payload: body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signWebhookBody(body, APP_SECRET) } });
    expect(res.statusCode).toBe(200);
    await until(async () => (await readyz()).checks['whatsapp_restrictions']!.detail.includes('RESTRICTED_BUSINESS_INITIATED_CALLING'));
    expect((await readyz()).checks['whatsapp_restrictions']!.detail).toBe(`sales: RESTRICTED_BUSINESS_INITIATED_CALLING until ${new Date(expiration * 1000).toISOString()}`);
    expect(logs.text()).toMatch(/"level":"error".*"restriction":"RESTRICTED_BUSINESS_INITIATED_CALLING".*Meta restricts calling/);
    expect(await bridge.metrics.registry.getSingleMetricAsString('watrunk_account_notices_total')).toContain('event="ACCOUNT_RESTRICTION"} 1');
    const view = (await admin('GET', '/admin/numbers/sales/settings')).json();
    expect(view.restrictions).toEqual([{ number: 'sales', type: 'RESTRICTED_BUSINESS_INITIATED_CALLING', expiresAt: expiration, source: 'account_update' }]);
  });
});

describe('admin HTTP API', () => {
  it('needs the bearer token (401 otherwise); the OpenAPI document is public', async () => {
    expect((await admin('GET', '/admin/numbers/sales/settings', undefined, '')).statusCode).toBe(401);
    const wrong = await admin('GET', '/admin/numbers/sales/settings', undefined, 'not-the-token');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['www-authenticate']).toBe('Bearer realm="watrunk-admin"');
    const doc = await bridge.internalApp.inject({ method: 'GET', url: '/admin/openapi.json' });
    expect(doc.statusCode).toBe(200);
    expect(doc.json().openapi).toBe('3.1.0');
  });

  it('every documented operation exists, and unknown numbers are 404', async () => {
    const paths = adminOpenApi('/admin')['paths'] as Record<string, Record<string, unknown>>;
    for (const [path, ops] of Object.entries(paths)) {
      for (const method of Object.keys(ops)) {
        const url = path.replace('{number}', 'nobody').replace('{user}', '447700900123');
        const res = await admin(method.toUpperCase() as 'GET' | 'POST', url, method === 'post' ? {} : undefined);
        const expected = url.includes('nobody') ? 404 : 200;
        expect([url, res.statusCode]).toEqual([url, expected]);
      }
    }
  });

  it('settings diff/apply, sip disable and status, with the same results as the CLI', async () => {
    const diff = (await admin('GET', '/admin/settings/diff')).json();
    expect(diff).toEqual([{ number: 'sales', declared: false, changes: [] }]);
    expect((await admin('POST', '/admin/numbers/sales/settings/apply', { dry_run: true })).json()).toMatchObject({ number: 'sales', dryRun: true, ok: true });
    expect((await admin('POST', '/admin/numbers/sales/settings/apply', { dry_run: 'yes' })).statusCode).toBe(400);

    const enable = await admin('POST', '/admin/numbers/sales/sip/enable', { hostname: 'sip.example.com' });
    expect(enable.statusCode).toBe(409);
    expect(enable.json().refused).toMatch(/mode: api/);

    const disable = (await admin('POST', '/admin/numbers/sales/sip/disable', {})).json();
    expect(disable).toMatchObject({ applied: true, changes: ['sip.status: ENABLED → DISABLED'] });
    expect((await admin('GET', '/admin/numbers/sales/sip')).json()).toMatchObject({ status: 'DISABLED', mode: { state: 'match' } });
    expect((await readyz()).checks['sip_mode']!.detail).toBe("1 number(s) match Meta's sip.status");
  });

  it('credentials: masked unless reveal, no-store, never in the logs', async () => {
    const masked = await admin('POST', '/admin/numbers/sales/sip/credentials', {});
    expect(masked.headers['cache-control']).toBe('no-store');
    const cred = masked.json().credentials[0];
    expect(cred.password).toMatch(/^\*{8} \(sha256:[0-9a-f]{12}\)$/);
    const revealed = (await admin('POST', '/admin/numbers/sales/sip/credentials', { reveal: true })).json().credentials[0];
    expect(revealed).toMatchObject({ revealed: true, changedSinceLastFetch: false, firstFetch: false });
    expect(revealed.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(logs.text()).not.toContain(revealed.password);
    expect(logs.text()).not.toContain(ADMIN_TOKEN);
    expect(logs.text()).not.toContain(TOKEN);
    expect(readFileSync(join(stateDir, 'creds.json'), 'utf8')).not.toContain(revealed.password);
  });

  it('permissions check and request', async () => {
    const check = (await admin('GET', '/admin/numbers/sales/permissions/447700900123')).json();
    expect(check).toMatchObject({ number: 'sales', user: '447700900123', granted: true, status: 'temporary' });
    const req = (await admin('POST', `/admin/numbers/${PNID}/permissions/447700900123/request`, {})).json();
    expect(req).toMatchObject({ before: { granted: true } });
    expect(req.outcome).toBeUndefined();
  });
});

describe('CLI registration', () => {
  it('settings, sip and permissions subcommands exist, each with --config and help naming the keys it reads', () => {
    const program = new Command().name('watrunk');
    registerSettingsCommand(program);
    registerSipCommand(program);
    registerPermissionsCommand(program);
    const expected: Record<string, string[]> = {
      settings: ['get', 'diff', 'apply'], sip: ['status', 'enable', 'disable', 'credentials'], permissions: ['check', 'request'],
    };
    for (const [group, subs] of Object.entries(expected)) {
      const cmd = program.commands.find((c) => c.name() === group)!;
      expect(cmd.commands.map((c) => c.name())).toEqual(subs);
      for (const sub of cmd.commands) {
        let help = '';
        sub.configureOutput({ writeOut: (t) => { help += t; } });
        sub.outputHelp();
        expect(help, `${group} ${sub.name()}`).toContain('--config <file>');
        expect(help, `${group} ${sub.name()}`).toContain('Config keys read');
      }
    }
  });
});
