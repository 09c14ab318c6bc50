import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ControlContext } from '../../src/cli/control-context.js';
import { sipCredentialsCommand, sipDisableCommand, sipEnableCommand, sipStatusCommand } from '../../src/cli/sip-command.js';
import type { ControlPlane } from '../../src/control/control-plane.js';
import { fetchSipCredentials, fingerprintOf, MASK } from '../../src/control/sip/sip-credentials.js';
import { bufferIo, captureLogger, controlConfig, planFor, startControlSim, type ControlSim } from '../support/control-fixtures.js';

/** `watrunk sip status|enable|disable|credentials` against the simulator (docs/whatsapp-calling.md#sip-mode). */

const SERVER = { hostname: 'sip.example.com', port: 5061, request_uri_user_params: { tgrp: 'wacall' } };
let s: ControlSim;
const planes: ControlPlane[] = [];

async function setup(mode: 'api' | 'sip', simCalling?: Record<string, unknown>) {
  s = await startControlSim(simCalling ? { calling: simCalling } : {});
  const logs = captureLogger('trace');
  const config = controlConfig(s.url, { mode });
  const plane = planFor(config, logs.logger);
  planes.push(plane);
  const ctx: ControlContext = { file: 'test', config, plane, close: async () => undefined };
  return { plane, ctx, logs };
}
const liveSip = async (plane: ControlPlane) => ((await plane.number('sales').settings.getSettings())['calling'] as Record<string, any>)['sip'];

afterEach(async () => {
  await Promise.all(planes.splice(0).map((p) => p.close()));
  await s?.close();
});

describe('sip status, enable, disable', () => {
  it('status compares Meta\'s sip block with the configured mode', async () => {
    const { ctx } = await setup('api');
    const b = bufferIo();
    expect(await sipStatusCommand(ctx, 'sales', {}, b.io)).toBe(0);
    expect(b.out).toEqual(['sales: sip.status DISABLED (configured mode: api; calling.status DISABLED)', '  servers: none', '  match: mode api matches sip.status DISABLED']);
  });

  it('enable is refused for a number configured in api mode (131055), and nothing is sent', async () => {
    const { plane, ctx } = await setup('api');
    const b = bufferIo();
    expect(await sipEnableCommand(ctx, 'sales', { hostname: 'sip.example.com', uriParam: { tgrp: 'wacall' } }, b.io)).toBe(1);
    expect(b.out).toContain('  ~ sip.status: DISABLED → ENABLED');
    expect(b.out).toContain('  ~ sip.servers: (none) → sip.example.com:5061;tgrp=wacall');
    expect(b.err.join('\n')).toMatch(/refused, nothing sent: number sales is configured with mode: api; enabling SIP switches off the Graph \/calls endpoints \(error 131055\).*--force/);
    expect(await liveSip(plane)).toEqual({ status: 'DISABLED', servers: [] });
  });

  it('enable --force in api mode goes through, with a warning note, and the mode monitor reports the mismatch', async () => {
    const { plane } = await setup('api');
    const plan = await plane.sipEnableOn('sales', { hostname: 'sip.example.com', force: true });
    expect(plan.applied).toBe(true);
    expect(plan.notes.join('\n')).toMatch(/forced: the config still says mode: api/);
    expect((await liveSip(plane)).status).toBe('ENABLED');
    expect(plane.sipModes.get('sales')).toMatchObject({ state: 'mismatch', live: 'ENABLED' });
  });

  it('enable in sip mode shows the change, applies it (dry-run sends nothing); disable restores API mode and keeps the server', async () => {
    const { plane, ctx } = await setup('sip');
    const dry = bufferIo();
    expect(await sipEnableCommand(ctx, 'sales', { hostname: 'sip.example.com', port: 5071, dryRun: true }, dry.io)).toBe(0);
    expect(dry.out).toContain('  dry run: nothing sent');
    expect((await liveSip(plane)).status).toBe('DISABLED');

    const b = bufferIo();
    expect(await sipEnableCommand(ctx, 'sales', { hostname: 'sip.example.com', port: 5071, uriParam: { tgrp: 'wacall' } }, b.io)).toBe(0);
    expect(b.out).toContain('  applied');
    expect(b.out.join('\n')).toMatch(/note: calling.status is DISABLED/);
    expect(await liveSip(plane)).toEqual({ status: 'ENABLED', servers: [{ hostname: 'sip.example.com', port: 5071, request_uri_user_params: { tgrp: 'wacall' }, app_id: '1000000000000001' }] });
    expect((await plane.sipStatusOf('sales')).mode.state).toBe('match');

    const d = bufferIo();
    expect(await sipDisableCommand(ctx, 'sales', {}, d.io)).toBe(0);
    expect(d.out).toContain('  ~ sip.status: ENABLED → DISABLED');
    expect(d.out.join('\n')).toContain('the config says mode: sip');
    expect(await liveSip(plane)).toMatchObject({ status: 'DISABLED', servers: [{ hostname: 'sip.example.com' }] });

    // re-enabling reuses the kept server: no hostname needed
    expect((await plane.sipEnableOn('sales', {})).applied).toBe(true);
  });

  it('enable without a hostname when Meta has no server is refused', async () => {
    const { plane } = await setup('sip');
    expect((await plane.sipEnableOn('sales', {})).refused).toMatch(/give --hostname/);
  });
});

describe('sip credentials', () => {
  it('masked unless --reveal, written with mode 0600, fingerprint remembered (never the password), never logged', async () => {
    const { plane, ctx, logs } = await setup('sip', { sip: { status: 'ENABLED', servers: [SERVER] } });
    const [real] = await fetchSipCredentials(plane.number('sales').settings);
    const password = real!.password;
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);

    const dir = mkdtempSync(join(tmpdir(), 'watrunk-creds-'));
    const stateFile = join(dir, 'state', 'sip-credentials.json');
    const output = join(dir, 'pbx', 'wa-sip.secret');
    writeFileSync(join(dir, 'loose'), 'x', { mode: 0o644 });

    const first = bufferIo();
    expect(await sipCredentialsCommand(ctx, 'sales', { stateFile, output }, first.io)).toBe(0);
    expect(first.out[0]).toBe(`sales: sip.example.com:5061  password ${MASK} (${fingerprintOf(password).slice(0, 19)})  (first fetch)`);
    expect(first.out[1]).toBe(`password written to ${output} (mode 0600)`);
    expect(readFileSync(output, 'utf8')).toBe(`${password}\n`);
    expect(statSync(output).mode & 0o777).toBe(0o600);
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);
    const state = readFileSync(stateFile, 'utf8');
    expect(state).toContain(fingerprintOf(password));
    expect(state).not.toContain(password);

    // an existing file with a looser mode ends up 0600 too
    const loose = join(dir, 'loose');
    await plane.sipCredentialsOf('sales', { stateFile, outputFile: loose });
    expect(statSync(loose).mode & 0o777).toBe(0o600);

    const again = bufferIo();
    await sipCredentialsCommand(ctx, 'sales', { stateFile, json: true }, again.io);
    const report = JSON.parse(again.out.join('\n'));
    expect(report.credentials[0]).toMatchObject({ revealed: false, changedSinceLastFetch: false, firstFetch: false });
    expect(again.out.join('\n')).not.toContain(password);

    const revealed = bufferIo();
    await sipCredentialsCommand(ctx, 'sales', { stateFile, reveal: true }, revealed.io);
    expect(revealed.out[0]).toContain(`password ${password}  (unchanged since the last fetch)`);

    expect(logs.text()).toContain('get_settings'); // the Graph client did log (at debug) ...
    expect(logs.text()).not.toContain(password); // ... but never the password
  });

  it('notices when the password has changed since the last fetch', async () => {
    const { plane, ctx, logs } = await setup('sip', { sip: { status: 'ENABLED', servers: [SERVER] } });
    const stateFile = join(mkdtempSync(join(tmpdir(), 'watrunk-creds-')), 'state.json');
    await plane.sipCredentialsOf('sales', { stateFile });
    // server entries replaced and restored: the simulator derives the password from number + hostname, so it is the same
    await plane.number('sales').settings.updateSettings({ sip: { servers: [{ hostname: 'sbc.example.com' }] } });
    await plane.number('sales').settings.updateSettings({ sip: { servers: [{ hostname: 'sip.example.com' }] } });
    const same = bufferIo();
    await sipCredentialsCommand(ctx, 'sales', { stateFile }, same.io);
    expect(same.err).toEqual([]);

    // a password reset on Meta (docs/whatsapp-calling.md#sip-mode: disable, re-enable, re-fetch) gives the same server a new password
    const n = plane.number('sales');
    const inner = n.settings;
    n.settings = {
      getSettings: async (o) => {
        const doc = await inner.getSettings(o);
        const servers = (doc['calling'] as any).sip.servers as Array<Record<string, unknown>>;
        if (o?.includeSipCredentials) for (const srv of servers) srv['sip_user_password'] = 'a-brand-new-password-0123456789';
        return doc;
      },
      updateSettings: (c) => inner.updateSettings(c),
    };
    const changed = bufferIo();
    await sipCredentialsCommand(ctx, 'sales', { stateFile }, changed.io);
    expect(changed.out[0]).toContain('(CHANGED since the last fetch)');
    expect(changed.err).toEqual(['watrunk: WARNING: the SIP password for sales (sip.example.com) has changed since the last fetch: update the PBX/SBC']);
    expect(logs.text()).not.toContain('a-brand-new-password-0123456789');
  });
});
