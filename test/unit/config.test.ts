import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, resolveSecrets, validateConfig } from '../../src/config/load.js';

const number = { name: 'sales', phone_number_id: '105615555715855', display_number: '15551112222', access_token_env: 'TOK' };

function problems(doc: unknown): string[] {
  try {
    validateConfig(doc);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

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
