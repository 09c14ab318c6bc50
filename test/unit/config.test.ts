import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, describeStartupFailure, loadConfig, resolveSecrets, StartupError, validateConfig } from '../../src/config/load.js';
import { configProblems } from '../support/config-problems.js';

const number = { name: 'sales', phone_number_id: '105615555715855', display_number: '15551112222', access_token_env: 'TOK' };

const problems = configProblems;

describe('config validation', () => {
  it('accepts a minimal config and fills documented defaults', () => {
    const cfg = validateConfig({ numbers: [number] });
    expect(cfg.numbers[0]).toMatchObject({ provider: 'meta', graph_version: 'v24.0', base_url: 'https://graph.facebook.com', mode: 'api', max_concurrent_calls: 1000 });
    expect(cfg.webhook.path).toBe('/webhooks/whatsapp');
    expect(cfg.calls.no_answer_timeout_s).toBe(60);
  });

  it.each([
    [{ numbers: [{ ...number, phone_number_id: 105615555715855 }] }, 'numbers[0].phone_number_id'],
    [{ numbers: [{ ...number, graph_version: '24' }] }, 'numbers[0].graph_version'],
    [{ numbers: [{ ...number, mode: 'websocket' }] }, 'numbers[0].mode'],
    [{ numbers: [{ ...number, base_url: 'not a url' }] }, 'numbers[0].base_url'],
    [{ numbers: [] }, 'numbers'],
    [{ numbers: [number], http: { port: 70000 } }, 'http.port'],
    [{ numbers: [number], webhok: {} }, 'unknown key(s) "webhok"'],
    [{ numbers: [number, { ...number, name: 'other' }] }, 'numbers[1].phone_number_id: duplicate'],
    [{ numbers: [number], drachtio: {}, rtpengine: { engines: [{ host: '127.0.0.1' }] }, trunks: [{ name: 't', sources: ['10.0.0.0/33'], numbers: ['sales'] }] }, 'trunks[0].sources[0]'],
    [{ numbers: [number], drachtio: {}, rtpengine: { engines: [{ host: '127.0.0.1' }] }, trunks: [{ name: 't', numbers: ['sales'] }] }, 'trunks[0].sources: a trunk needs'],
    [{ numbers: [number], drachtio: {}, rtpengine: { engines: [{ host: '127.0.0.1' }] }, trunks: [{ name: 't', sources: ['127.0.0.1'], numbers: ['nope'] }] }, 'trunks[0].numbers[0]: no business number named "nope"'],
    [{ numbers: [number], trunks: [{ name: 't', sources: ['127.0.0.1'], numbers: ['sales'] }] }, 'drachtio: required when trunks are configured'],
  ])('names the bad key: %j → %s', (doc, expected) => {
    expect(problems(doc).join('\n')).toContain(expected);
  });

  it('reports every missing secret with the key that names its variable', () => {
    const cfg = validateConfig({ numbers: [number] });
    try {
      resolveSecrets(cfg, {});
      expect.unreachable();
    } catch (err) {
      const text = (err as ConfigError).problems.join('\n');
      expect(text).toContain('webhook.verify_token_env: environment variable WATRUNK_VERIFY_TOKEN is not set');
      expect(text).toContain('webhook.app_secret_env: environment variable WATRUNK_APP_SECRET is not set');
      expect(text).toContain('numbers[0].access_token_env: environment variable TOK is not set');
    }
  });

  it('loads YAML from a file; YAML syntax errors and unreadable files are ConfigErrors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'watrunk-cfg-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'numbers:\n  - name: sales\n    phone_number_id: "1"\n    display_number: "15551112222"\n    access_token_env: TOK\n');
    const loaded = loadConfig(good, { TOK: 't', WATRUNK_VERIFY_TOKEN: 'v', WATRUNK_APP_SECRET: 's' });
    expect(loaded.secrets.accessTokens.get('sales')).toBe('t');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'numbers: [\n');
    expect(() => loadConfig(bad, {})).toThrow(/not valid YAML/);
    expect(() => loadConfig(join(dir, 'missing.yaml'), {})).toThrow(/cannot read the file/);
  });

  it('the shipped config files are valid', () => {
    for (const f of ['config/watrunk.yaml', 'config/watrunk.example.yaml', 'docker/watrunk.compose.yaml']) {
      expect(() => loadConfig(f, new Proxy({}, { get: () => 'x'.repeat(32) }) as NodeJS.ProcessEnv), f).not.toThrow();
    }
  });
});

describe('listeners and routes: collisions and addresses named by key', () => {
  it('has a public listener (http) and an internal one (internal_http) on loopback by default', () => {
    const cfg = validateConfig({ numbers: [number] });
    expect(cfg.http).toMatchObject({ host: '0.0.0.0', port: 8080 });
    expect(cfg.internal_http).toMatchObject({ host: '127.0.0.1', port: 8081 });
  });

  it.each([
    [{ webhook: { path: '/healthz' } }, 'webhook.path: /healthz is a built-in route'],
    [{ webhook: { path: '/metrics' } }, 'webhook.path: /metrics is a built-in route'],
    [{ webhook: { path: '/hooks wa' } }, 'webhook.path'],
    [{ webhook: { path: '/admin/wa' }, admin: {} }, 'admin.path_prefix: /admin collides with webhook.path /admin/wa'],
    [{ webhook: { path: '/ops' }, admin: { path_prefix: '/ops' } }, 'admin.path_prefix: /ops collides with webhook.path /ops'],
    [{ admin: { path_prefix: '/readyz' } }, 'admin.path_prefix: /readyz is a built-in route'],
    [{ http: { host: 'not-a-host!' } }, 'http.host: an IP address or host name'],
    [{ internal_http: { host: '' } }, 'internal_http.host: must not be blank'],
    [{ http: { host: '127.0.0.1', port: 9000 }, internal_http: { host: '127.0.0.1', port: 9000 } }, 'internal_http.port: 9000 is also http.port'],
    [{ http: { headers_timeout_ms: 20_000, request_timeout_ms: 10_000 } }, 'http.headers_timeout_ms: at most http.request_timeout_ms'],
  ])('%j → %s', (extra, expected) => {
    expect(problems({ numbers: [number], ...extra }).join('\n')).toContain(expected);
  });

  it('config/watrunk.example.yaml lists every http and internal_http key', async () => {
    const { parse } = await import('yaml');
    const { readFileSync } = await import('node:fs');
    const doc = parse(readFileSync('config/watrunk.example.yaml', 'utf8')) as Record<string, Record<string, unknown>>;
    const defaults = validateConfig({ numbers: [number] });
    expect(Object.keys(doc['http']!).sort()).toEqual(Object.keys(defaults.http).sort());
    expect(Object.keys(doc['internal_http']!).sort()).toEqual(Object.keys(defaults.internal_http).sort());
    expect(validateConfig({ numbers: [number], http: doc['http'], internal_http: doc['internal_http'] })).toMatchObject({ http: defaults.http, internal_http: defaults.internal_http });
  });

  it('the same port on two different addresses is not a collision', () => {
    expect(problems({ numbers: [number], http: { host: '127.0.0.1', port: 9000 }, internal_http: { host: '127.0.0.2', port: 9000 } })).toEqual([]);
  });
});

describe('blank values', () => {
  const sip = { drachtio: {}, trunks: [{ name: 't', sources: ['127.0.0.1'], numbers: ['sales'] }] };
  it.each([
    [{ ...sip, rtpengine: { engines: [{ host: '' }] } }, 'rtpengine.engines[0].host: must not be blank'],
    [{ ...sip, rtpengine: { engines: [{ host: '   ' }] } }, 'rtpengine.engines[0].host: must not be blank'],
    [{ ...sip, drachtio: { host: ' \t' }, rtpengine: { engines: [{ host: '127.0.0.1' }] } }, 'drachtio.host: must not be blank'],
    [{ numbers: [{ ...number, inbound: { target: 'sip:{to}@pbx', auth: { username: '  ', password_env: 'P' } } }] }, 'numbers[0].inbound.auth.username: must not be blank'],
    [{ numbers: [{ ...number, inbound: { target: 'sip:{to}@pbx', rules: [{ match: { cta_payload: ' ' }, target: 'sip:x@pbx' }] } }] }, 'numbers[0].inbound.rules[0].match.cta_payload: must not be blank'],
    [{ admin: { credentials_state_file: '  ' } }, 'admin.credentials_state_file: must not be blank'],
  ])('%j → %s', (doc, expected) => {
    expect(problems({ numbers: [number], ...doc }).join('\n')).toContain(expected);
  });

  it('a secret that is only whitespace is reported like a missing one, by key, without its value', () => {
    const cfg = validateConfig({ numbers: [number], admin: {} });
    const env = { TOK: '   ', WATRUNK_VERIFY_TOKEN: '\t', WATRUNK_APP_SECRET: 's', WATRUNK_ADMIN_TOKEN: ' '.repeat(20) };
    try {
      resolveSecrets(cfg, env);
      expect.unreachable();
    } catch (err) {
      const text = (err as ConfigError).problems.join('\n');
      expect(text).toContain('numbers[0].access_token_env: environment variable TOK is blank');
      expect(text).toContain('webhook.verify_token_env: environment variable WATRUNK_VERIFY_TOKEN is blank');
      expect(text).toContain('admin.token_env: environment variable WATRUNK_ADMIN_TOKEN is blank');
    }
  });
});

describe('start-up failure messages (what `watrunk start` prints)', () => {
  it('one line per problem, each naming its key, never a stack', () => {
    let configError: unknown;
    try { validateConfig({ numbers: [number], webhook: { path: '/healthz' }, http: { host: 'not-a-host!' } }, 'w.yaml'); } catch (err) { configError = err; }
    const config = describeStartupFailure(configError);
    expect(config.exitCode).toBe(2);
    expect(config.lines[0]).toBe('watrunk: invalid configuration in w.yaml:');
    expect(config.lines.slice(1)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^  - http\.host: an IP address or host name/),
      expect.stringMatching(/^  - webhook\.path: \/healthz is a built-in route/),
    ]));
    expect(config.lines).toHaveLength(3);

    const inUse = describeStartupFailure(new StartupError('internal_http.port', '127.0.0.1:8081 is already in use'));
    expect(inUse).toEqual({ exitCode: 1, lines: ['watrunk: cannot start: internal_http.port: 127.0.0.1:8081 is already in use'] });

    const yaml = describeStartupFailure(new ConfigError(['not valid YAML: Flow sequence\nat line 2\n\n  ^'], 'x.yaml'));
    expect(yaml.lines).toEqual(['watrunk: invalid configuration in x.yaml:', '  - not valid YAML: Flow sequence at line 2 ^']);
    for (const line of [...config.lines, ...yaml.lines]) expect(line).not.toMatch(/\n|    at /);
  });
});

describe('docker-compose.yml (no Docker engine here: checked as data)', () => {
  it('runs drachtio-server, rtpengine, the simulator and watrunk on the host network', async () => {
    const { parse } = await import('yaml');
    const { readFileSync } = await import('node:fs');
    const doc = parse(readFileSync('docker-compose.yml', 'utf8')) as { services: Record<string, { image?: string; network_mode?: string; command?: unknown }> };
    expect(Object.keys(doc.services).sort()).toEqual(['drachtio', 'rtpengine', 'simulator', 'watrunk']);
    expect(doc.services['drachtio']!.image).toMatch(/^drachtio\/drachtio-server:/);
    for (const svc of Object.values(doc.services)) expect(svc.network_mode).toBe('host');
    expect(JSON.stringify(doc.services['rtpengine']!.command)).toContain('--listen-ng=127.0.0.1:22222');
  });
});
