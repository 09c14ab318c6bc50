import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseMetaWebhook } from '../../src/adapters/meta/webhook-parser.js';
import { loadConfig } from '../../src/config/load.js';
import { registerAdminApi } from '../../src/control/admin/admin-api.js';
import { adminOpenApi } from '../../src/control/admin/admin-openapi.js';
import { ControlPlane } from '../../src/control/control-plane.js';
import { RestrictionsBoard, restrictionsFromSettings } from '../../src/control/settings/restrictions-board.js';
import { NumberDirectory } from '../../src/calls/number-directory.js';
import { Metrics } from '../../src/metrics.js';
import type { AccountNotice, PermissionReplied } from '../../src/calls/ports/whatsapp-events.js';
import { captureLogger, controlConfig } from '../support/control-fixtures.js';

/** Restrictions and account notices (docs/whatsapp-calling.md#account-notices); the admin routes against their OpenAPI document. */

const fixture = (name: string) => JSON.parse(readFileSync(`test/fixtures/meta/webhooks/${name}`, 'utf8'));
const NOW = Date.UTC(2026, 0, 1);
const numbers = new NumberDirectory([{ name: 'sales', phone_number_id: '105615555715855', display_number: '15551112222' }]);

describe('RestrictionsBoard', () => {
  it('reads GET /settings restrictions in both spellings (restrictions_list, restriction_list)', () => {
    const item = { type: 'RESTRICTED_USER_INITIATED_CALLING', reason: 'low pickup', expiration: 1767772800 };
    expect(restrictionsFromSettings({ restrictions: { restrictions_list: [item] } })).toEqual([{ type: item.type, reason: 'low pickup', expiresAt: 1767772800 }]);
    expect(restrictionsFromSettings({ restrictions: { restriction_list: [item] } })).toHaveLength(1);
    expect(restrictionsFromSettings({})).toEqual([]);
  });

  it('a settings read replaces what an earlier read said; expired restrictions drop out', () => {
    let now = NOW;
    const logs = captureLogger('info');
    const board = new RestrictionsBoard({ numbers, logger: logs.logger, clock: () => now });
    board.noteSettings('sales', { restrictions: { restrictions_list: [{ type: 'RESTRICTED_USER_INITIATED_CALLING', expiration: NOW / 1000 + 60 }] } });
    expect(board.active('sales')).toHaveLength(1);
    expect(board.readiness()).toEqual({ ok: true, detail: `sales: RESTRICTED_USER_INITIATED_CALLING until ${new Date(NOW + 60_000).toISOString()}` });
    now += 61_000;
    expect(board.active()).toEqual([]);
    board.noteSettings('sales', { restrictions: { restrictions_list: [{ type: 'RESTRICTED_BUSINESS_INITIATED_CALLING' }] } });
    board.noteSettings('sales', {});
    expect(board.active()).toEqual([]);
    expect(logs.text()).toContain('Meta restricts calling on this business number');
  });

  it('account_update (restriction, violation) and account_settings_update fixtures are logged and remembered', () => {
    const logs = captureLogger('info');
    const metrics = new Metrics();
    const plane = new ControlPlane({ config: controlConfig('http://127.0.0.1:9'), accessTokens: new Map(), logger: logs.logger, metrics, clock: () => NOW });
    for (const f of ['account-update-restriction.json', 'account-settings-update.json']) {
      for (const e of parseMetaWebhook(fixture(f)).events) plane.handleEvent(e, undefined);
    }
    expect(plane.board.active('sales')).toEqual([{ number: 'sales', type: 'RESTRICTED_BUSINESS_INITIATED_CALLING', expiresAt: 1767772800, source: 'account_update' }]);
    expect(logs.text()).toMatch(/"level":"error".*RESTRICTED_BUSINESS_INITIATED_CALLING/);
    expect(logs.text()).toContain('calling settings changed on Meta (account_settings_update)');
    // the snapshot carries sip.status DISABLED: mode api matches
    expect(plane.sipModes.get('sales')).toMatchObject({ state: 'match', live: 'DISABLED' });

    const violation: AccountNotice = {
      kind: 'account.notice', phoneNumberId: '', accountId: '1', timestamp: NOW / 1000, event: 'ACCOUNT_VIOLATION',
      raw: { phone_number: '15551112222', event: 'ACCOUNT_VIOLATION', violation_info: { violation_type: 'LOW_BUSINESS_INITIATED_CALLING_QUALITY' }, remediation: 'call fewer users' },
    };
    plane.handleEvent(violation, undefined);
    expect(plane.board.violations('sales')).toEqual([{ number: 'sales', type: 'LOW_BUSINESS_INITIATED_CALLING_QUALITY', at: NOW / 1000, remediation: 'call fewer users' }]);
    expect(logs.text()).toMatch(/"level":"warn".*LOW_BUSINESS_INITIATED_CALLING_QUALITY/);
    void plane.close();
  });

  it('permission reply fixtures reach the number\'s cache through handleEvent', () => {
    const plane = new ControlPlane({ config: controlConfig('http://127.0.0.1:9'), accessTokens: new Map(), logger: pino({ level: 'silent' }), metrics: new Metrics() });
    const replies = ['permission-reply-accept-permanent.json', 'permission-reply-automatic-reject.json']
      .map((f) => parseMetaWebhook(fixture(f)).events[0] as PermissionReplied);
    plane.handleEvent(replies[0]!, 'sales');
    expect(plane.number('sales').cache.peek(replies[0]!.user.number)?.status).toBe('permanent');
    plane.handleEvent(replies[1]!, undefined); // routed by phone_number_id when the name is not given
    expect(plane.number('sales').cache.peek(replies[1]!.user.number)?.status).toBe('no_permission');
    void plane.close();
  });
});

describe('admin routes and their OpenAPI document', () => {
  it('every registered route is documented, and every documented one registered', async () => {
    const app = Fastify();
    const routes: string[] = [];
    app.addHook('onRoute', (r) => {
      for (const m of [r.method].flat()) if (m !== 'HEAD') routes.push(`${m} ${r.url.replace(/:(\w+)/g, '{$1}')}`);
    });
    const plane = new ControlPlane({ config: controlConfig('http://127.0.0.1:9'), accessTokens: new Map(), logger: pino({ level: 'silent' }), metrics: new Metrics() });
    await registerAdminApi(app, { plane, token: 'x'.repeat(20), prefix: '/ops/admin', credentialsStateFile: 'unused-credentials.json' });
    await app.ready();
    const documented = Object.entries(adminOpenApi('/ops/admin')['paths'] as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(routes.sort()).toEqual(documented.sort());
    await app.close();
    await plane.close();
  });
});

describe('config/watrunk.example.yaml', () => {
  it('documents numbers[].calling, permission_policy and admin, and is valid', () => {
    const text = readFileSync('config/watrunk.example.yaml', 'utf8');
    for (const key of ['calling:', 'call_hours:', 'holiday_schedule', 'permission_policy:', 'on_lookup_error', 'admin:', 'token_env', 'credentials_state_file']) expect(text).toContain(key);
    const loaded = loadConfig('config/watrunk.example.yaml', new Proxy({}, { get: () => 'x'.repeat(32) }) as NodeJS.ProcessEnv);
    expect(loaded.config.numbers[0]!.calling).toMatchObject({ status: 'ENABLED', call_hours: { timezone_id: 'Europe/London' } });
  });
});
