import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runControlCommand } from '../../src/cli/run-control-command.js';
import { settingsApplyCommand, settingsDiffCommand, settingsGetCommand } from '../../src/cli/settings-command.js';
import type { ControlContext } from '../../src/cli/control-context.js';
import type { ConfigFile } from '../../src/config/schema.js';
import type { ControlPlane } from '../../src/control/control-plane.js';
import { applySettings } from '../../src/control/settings/settings-sync.js';
import { CALL_HOURS_ERRORS } from '../../src/calling-settings/call-hours.js';
import { bufferIo, captureLogger, controlConfig, DISPLAY, PNID, TOKEN, planFor, recordUpdates, startControlSim, type ControlSim } from '../support/control-fixtures.js';

/** `watrunk settings get|diff|apply` against the simulator (docs/whatsapp-calling.md#settings). */

const year = new Date().getUTCFullYear() + 1;
const holidays = [{ date: `${year}-12-25`, start_time: '0000', end_time: '2359' }, { date: `${year}-12-26`, start_time: '0000', end_time: '1200' }];
const weekly = [{ day_of_week: 'MONDAY', open_time: '0900', close_time: '1730' }];
const callHours = (extra: Record<string, unknown> = {}) => ({ status: 'ENABLED', timezone_id: 'Europe/London', weekly_operating_hours: weekly, ...extra });
const desired = (extra: Record<string, unknown> = {}) => ({
  status: 'ENABLED', callback_permission_status: 'ENABLED', srtp_key_exchange_protocol: 'DTLS',
  call_hours: callHours({ holiday_schedule: holidays }), audio: { additional_codecs: ['PCMA'] }, ...extra,
});

let s: ControlSim;
const open: ControlPlane[] = [];
const logs = captureLogger('info');

function plane(calling: Record<string, unknown> | undefined): { plane: ControlPlane; config: ConfigFile; ctx: ControlContext } {
  const config = controlConfig(s.url, calling ? { calling } : {});
  const p = planFor(config, logs.logger);
  open.push(p);
  return { plane: p, config, ctx: { file: 'test', config, plane: p, close: async () => undefined } };
}
async function live(): Promise<Record<string, any>> {
  return (await plane(undefined).plane.number('sales').settings.getSettings())['calling'] as Record<string, any>;
}

beforeEach(async () => { s = await startControlSim(); });
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
  await s.close();
});

describe('settings diff and apply against the simulator', () => {
  it('diff shows, per number, what differs, as focused updates in order', async () => {
    const [d] = await plane(desired()).plane.settingsDiff();
    expect(d!.declared).toBe(true);
    // srtp DTLS is Meta's default (omitted from GET): no difference
    expect(d!.changes.map((c) => c.key)).toEqual(['status', 'callback_permission_status', 'call_hours', 'audio']);
    expect((await plane(undefined).plane.settingsDiff())[0]).toEqual({ number: 'sales', declared: false, changes: [] });
  });

  it('apply sends one feature group per request, and applying twice changes nothing the second time', async () => {
    const { plane: p } = plane(desired());
    const sent = recordUpdates(p.number('sales'));
    const [first] = await p.settingsApply({ dryRun: false });
    expect(first).toMatchObject({ ok: true, remaining: [] });
    expect(sent.map((u) => Object.keys(u))).toEqual([['status'], ['callback_permission_status'], ['call_hours'], ['audio']]);
    expect(await live()).toMatchObject({ status: 'ENABLED', callback_permission_status: 'ENABLED', call_hours: callHours({ holiday_schedule: holidays }), audio: { additional_codecs: ['PCMA'] } });

    const [second] = await p.settingsApply({ dryRun: false });
    expect(second).toMatchObject({ ok: true, changes: [], remaining: [] });
    expect(sent).toHaveLength(4);
  });

  it('holidays are kept when only the weekly hours change (call_hours is replaced as a whole)', async () => {
    await plane(desired()).plane.settingsApply({ dryRun: false });
    const later = [{ day_of_week: 'MONDAY', open_time: '0800', close_time: '1600' }, { day_of_week: 'FRIDAY', open_time: '0800', close_time: '1200' }];
    const { plane: p } = plane(desired({ call_hours: callHours({ weekly_operating_hours: later, holiday_schedule: holidays }) }));
    const sent = recordUpdates(p.number('sales'));
    const [r] = await p.settingsApply({ dryRun: false });
    expect(r!.ok).toBe(true);
    expect(sent).toEqual([{ call_hours: callHours({ weekly_operating_hours: later, holiday_schedule: holidays }) }]);
    expect((await live())['call_hours']).toEqual(callHours({ weekly_operating_hours: later, holiday_schedule: holidays }));
  });

  it('omitting holiday_schedule deletes the holidays, and the diff says so first', async () => {
    await plane(desired()).plane.settingsApply({ dryRun: false });
    const { plane: p } = plane(desired({ call_hours: callHours() }));
    const [d] = await p.settingsDiff();
    expect(d!.changes).toHaveLength(1);
    expect(d!.changes[0]!.notes).toEqual([expect.stringMatching(/^deletes 2 holiday\(s\) on Meta/)]);
    await p.settingsApply({ dryRun: false });
    expect((await live())['call_hours']).toEqual(callHours());
  });

  it('--dry-run sends nothing', async () => {
    const { plane: p } = plane(desired());
    const sent = recordUpdates(p.number('sales'));
    const [r] = await p.settingsApply({ dryRun: true });
    expect(r).toMatchObject({ dryRun: true, ok: true });
    expect(r!.changes).toHaveLength(4);
    expect(sent).toEqual([]);
    expect((await live())['status']).toBe('DISABLED');
  });

  it('re-checks Meta\'s rules at apply time: a holiday that has become past stops everything', async () => {
    const { plane: p } = plane(desired());
    const n = p.number('sales');
    const sent = recordUpdates(n);
    const r = await applySettings(n, { dryRun: false }, { logger: logs.logger, clock: () => Date.UTC(year + 1, 0, 1) });
    expect(r.ok).toBe(false);
    expect(r.refused).toEqual([`calling.call_hours: ${CALL_HOURS_ERRORS.pastHoliday}`]);
    expect(sent).toEqual([]);
  });

  it('a failed update stops the later ones and is reported', async () => {
    const { plane: p, ctx } = plane(desired());
    const n = p.number('sales');
    const inner = n.settings;
    const sent: string[] = [];
    n.settings = {
      getSettings: (o) => inner.getSettings(o),
      updateSettings: async (c) => {
        sent.push(Object.keys(c)[0]!);
        if ('callback_permission_status' in c) throw new Error('Graph update_settings failed: HTTP 400, code 100: boom');
        await inner.updateSettings(c);
      },
    };
    const b = bufferIo();
    expect(await settingsApplyCommand(ctx, undefined, {}, b.io)).toBe(1);
    expect(sent).toEqual(['status', 'callback_permission_status']);
    expect(b.out.join('\n')).toContain('! callback_permission_status: DISABLED → ENABLED  FAILED: Graph update_settings failed');
    expect(b.out.join('\n')).toContain('- call_hours:');
  });
});

describe('settings CLI output', () => {
  it('get (the number given by its display number) prints the live block as YAML, restrictions and the SIP mode', async () => {
    const b = bufferIo();
    expect(await settingsGetCommand(plane(undefined).ctx, DISPLAY, {}, b.io)).toBe(0);
    const text = b.out.join('\n');
    expect(text).toContain('sales (phone_number_id 105615555715855, mode api)');
    expect(text).toContain('  status: DISABLED');
    expect(text).toContain('restrictions: none reported');
    expect(text).toContain('sip mode: match — mode api matches sip.status DISABLED');
  });

  it('diff prints the changes with notes; --exit-code gives 3 when something differs, 0 after apply', async () => {
    const { ctx } = plane(desired());
    const b = bufferIo();
    expect(await settingsDiffCommand(ctx, 'sales', { exitCode: true }, b.io)).toBe(3);
    expect(b.out[0]).toBe('sales: 4 focused update(s) to send');
    expect(b.out).toContain('  ~ status: DISABLED → ENABLED');
    const a = bufferIo();
    expect(await settingsApplyCommand(ctx, 'sales', {}, a.io)).toBe(0);
    expect(a.out[0]).toBe('sales: sent 4 focused update(s)');
    expect(a.out).toContain('  + status: DISABLED → ENABLED');
    const again = bufferIo();
    expect(await settingsDiffCommand(ctx, undefined, { exitCode: true }, again.io)).toBe(0);
    expect(again.out).toEqual(['sales: in sync with Meta']);
  });
});

describe('running a command from a config file (as `watrunk settings diff --config <file>`)', () => {
  const write = (doc: unknown) => {
    const file = join(mkdtempSync(join(tmpdir(), 'watrunk-cli-')), 'watrunk.yaml');
    writeFileSync(file, stringify(doc));
    return file;
  };
  const doc = () => ({ numbers: [{ name: 'sales', phone_number_id: PNID, display_number: DISPLAY, access_token_env: 'SALES_TOKEN', base_url: s.url, calling: { status: 'ENABLED' } }] });

  it('reads only the access tokens from the environment, and prints the diff', async () => {
    const b = bufferIo();
    const code = await runControlCommand(write(doc()), (ctx, io) => settingsDiffCommand(ctx, 'sales', {}, io), { env: { SALES_TOKEN: TOKEN }, io: b.io, logger: logs.logger });
    expect(code).toBe(0);
    expect(b.out).toEqual(['sales: 1 focused update(s) to send', '  ~ status: DISABLED → ENABLED']);
  });

  it('exit 2 naming the key for a missing token, an invalid block or an unknown number; exit 1 for a Graph error', async () => {
    const file = write(doc());
    const run = async (f: string, env: NodeJS.ProcessEnv, number = 'sales') => {
      const b = bufferIo();
      const code = await runControlCommand(f, (ctx, io) => settingsGetCommand(ctx, number, {}, io), { env, io: b.io, logger: logs.logger, number });
      return { code, err: b.err.join('\n') };
    };
    expect(await run(file, {})).toEqual({ code: 2, err: expect.stringContaining('numbers[0].access_token_env: environment variable SALES_TOKEN is not set') });
    const bad = doc();
    (bad.numbers[0]!.calling as Record<string, unknown>)['status'] = 'ON';
    expect(await run(write(bad), { SALES_TOKEN: TOKEN })).toEqual({ code: 2, err: expect.stringContaining('numbers[0].calling.status: Param status must be one of {ENABLED, DISABLED}') });
    expect(await run(file, { SALES_TOKEN: TOKEN }, 'nobody')).toEqual({ code: 2, err: expect.stringContaining('no business number "nobody"') });
    const refused = await run(file, { SALES_TOKEN: 'wrong-token' });
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('(code 190)');
    expect(refused.err).not.toContain('wrong-token');
  });
});
