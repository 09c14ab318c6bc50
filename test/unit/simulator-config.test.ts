import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { createLogger } from '../../src/logging.js';
import { parseSimulatorConfig } from '../../src/simulator/config.js';
import { derivedBsuid, IdFactory } from '../../src/simulator/ids.js';
import { loadSimulatorConfig, runSimulatorFromFile, simulatorConfigSchema } from '../../src/simulator/index.js';
import { UserDirectory } from '../../src/simulator/user-rules.js';
import { FakeMediaFactory } from '../support/simulator-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'watrunk-sim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const number = { phone_number_id: '105615555715855', display_number: '15551112222', access_token: 't', webhook_url: 'http://127.0.0.1:1/webhook', app_secret: 's' };

const problemsOf = (doc: unknown): string[] => {
  try {
    parseSimulatorConfig(doc);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  return [];
};

describe('simulator config', () => {
  it('fills documented defaults from a minimal config', () => {
    const c = simulatorConfigSchema.parse({ numbers: [number] });
    expect(c.http).toEqual({ host: '127.0.0.1', port: 8090 });
    expect(c.graph_version).toBe('v24.0');
    expect(c.require_calling_enabled).toBe(false);
    expect(c.limits.max_concurrent_calls).toBe(1000);
    expect(c.timing.accept_window_ms).toBe(60_000);
    expect(c.media).toEqual({ mode: 'signalling-only', tone_hz: 440, listen_hz: [1000] });
    expect(c.default_user).toMatchObject({ behaviour: 'answer', permission: 'temporary', permission_reply: 'accept' });
    expect(c.faults).toMatchObject({ duplicate_rate: 0, reorder_rate: 0, drop_rate: 0, delay_ms: 0 });
  });

  it('names the bad key in every problem', () => {
    expect(problemsOf({ numbers: [{ ...number, webhook_url: 'not a url' }] })[0]).toMatch(/^numbers\[0\]\.webhook_url: /);
    expect(problemsOf({ numbers: [number], users: [{ match: '44*', behaviour: 'dance' }] })[0]).toMatch(/^users\[0\]\.behaviour: /);
    expect(problemsOf({ numbers: [number], users: [{ match: 'abc' }] })[0]).toMatch(/^users\[0\]\.match: /);
    expect(problemsOf({ numbers: [number], faults: { explode: 1 } })[0]).toMatch(/^faults: unknown key\(s\) "explode"/);
    expect(problemsOf({ numbers: [number], faults: { drop_rate: 2 } })[0]).toMatch(/^faults\.drop_rate: /);
    expect(problemsOf({ numbers: [number], graph_version: '24' })[0]).toMatch(/^graph_version: /);
    expect(problemsOf({ numbers: [] })[0]).toMatch(/^numbers: at least one/);
    expect(problemsOf({ numbers: [number, number] })[0]).toMatch(/^numbers\[1\]\.phone_number_id: duplicate/);
  });

  it('needs exactly one of access_token_env / access_token and of app_secret_env / app_secret', () => {
    const { access_token: _a, ...noToken } = number;
    expect(problemsOf({ numbers: [noToken] })).toEqual(['numbers[0].access_token_env: set exactly one of access_token_env or access_token']);
    expect(problemsOf({ numbers: [{ ...number, app_secret_env: 'X' }] })).toEqual(['numbers[0].app_secret_env: set exactly one of app_secret_env or app_secret']);
  });

  it('loads YAML, reads secrets from the environment and names a missing variable', () => {
    const file = join(dir, 'sim.yaml');
    writeFileSync(file, [
      'numbers:',
      '  - phone_number_id: "1"',
      '    display_number: "15551112222"',
      '    access_token_env: SIM_TOKEN',
      '    webhook_url: http://127.0.0.1:9/webhook',
      '    app_secret_env: SIM_SECRET',
    ].join('\n'));
    expect(loadSimulatorConfig(file, { SIM_TOKEN: 'a', SIM_SECRET: 'b' }).numbers[0]!.access_token_env).toBe('SIM_TOKEN');
    expect(() => loadSimulatorConfig(file, { SIM_TOKEN: 'a' })).toThrow(/numbers\[0\]\.app_secret_env: environment variable SIM_SECRET is not set/);
    writeFileSync(join(dir, 'bad.yaml'), 'numbers: [');
    expect(() => loadSimulatorConfig(join(dir, 'bad.yaml'), {})).toThrow(/not valid YAML/);
    expect(() => loadSimulatorConfig(join(dir, 'missing.yaml'), {})).toThrow(/cannot read the file/);
  });

  it('the documented example config/simulator.yaml is valid', () => {
    const c = loadSimulatorConfig('config/simulator.yaml', { WATRUNK_META_TOKEN: 'x', WATRUNK_APP_SECRET: 'y' });
    expect(c.http.port).toBe(8090);
    expect(c.users.length).toBeGreaterThan(0);
  });

  it('runSimulatorFromFile loads, creates and listens', async () => {
    const sim = await runSimulatorFromFile('config/simulator.yaml', {
      logger: createLogger('silent'), media: new FakeMediaFactory(), port: 0,
      env: { WATRUNK_META_TOKEN: 'x', WATRUNK_APP_SECRET: 'y' },
    });
    try {
      expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await request(`${sim.url}/_sim/calls`);
      expect(res.statusCode).toBe(200);
      expect(await res.body.json()).toEqual({ calls: [] });
      const unknown = await request(`${sim.url}/_sim/nothing`);
      expect(unknown.statusCode).toBe(404);
      await unknown.body.dump();
    } finally {
      await sim.close();
    }
  });
});

describe('simulator users and ids', () => {
  const config = simulatorConfigSchema.parse({
    numbers: [number],
    users: [
      { match: '447700900123', behaviour: 'reject', name: 'Ann', user_id: 'GB.11111111111111111111' },
      { match: '4477*', behaviour: 'busy', user_id: 'GB.22222222222222222222' },
      { match: 'US.33333333333333333333', behaviour: 'no_answer' },
    ],
    default_user: { behaviour: 'answer' },
  });
  const users = new UserDirectory(config);

  it('matches exact, then prefix, then BSUID rules, first match wins, else the default', () => {
    expect(users.resolve('447700900123')).toMatchObject({ rule: { behaviour: 'reject' }, name: 'Ann', userId: 'GB.11111111111111111111', key: '447700900123' });
    const prefixed = users.resolve('447700999999');
    expect(prefixed.rule.behaviour).toBe('busy');
    expect(prefixed.userId).not.toBe('GB.22222222222222222222'); // a prefix rule's user_id is not shared
    expect(users.resolve('US.33333333333333333333')).toMatchObject({ rule: { behaviour: 'no_answer' }, number: '', key: 'US.33333333333333333333' });
    expect(users.resolve('GB.11111111111111111111')).toMatchObject({ number: '447700900123', rule: { behaviour: 'reject' } });
    expect(users.resolve('15550001111').rule.behaviour).toBe('answer');
  });

  it('derives stable BSUIDs and Meta-shaped ids', () => {
    expect(derivedBsuid('15550001111', 1)).toBe(derivedBsuid('15550001111', 1));
    expect(derivedBsuid('15550001111', 1)).toMatch(/^US\.[0-9]{20}$/);
    expect(derivedBsuid('15550001111', 2)).not.toBe(derivedBsuid('15550001111', 1));
    const ids = new IdFactory(1);
    const wacid = ids.wacid('16503133974', '12245554489');
    expect(wacid).toMatch(/^wacid\.HBgLMTY1MDMxMzM5NzQVAgAS/); // same prefix layout as Meta's sample ids
    expect(wacid.length).toBeGreaterThan(60);
    expect(ids.wamid('16503879439')).toMatch(/^wamid\.HBgLMTY1MDM4Nzk0MzkVAgAR/);
    expect(ids.fbtraceId()).toMatch(/^[A-Za-z0-9]{23}$/);
  });
});
