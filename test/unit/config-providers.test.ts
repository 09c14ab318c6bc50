/**
 * numbers[].provider and its keys (src/config/provider-schemas.ts): every problem stops start-up
 * with a message naming the key; what a provider cannot do (permissions, SIP mode) is refused.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ConfigError, resolveSecrets, validateConfig } from '../../src/config/load.js';
import { configProblems } from '../support/config-problems.js';

const D360 = { name: 'd', provider: '360dialog', display_number: '15550000001', d360: { api_key_env: 'D_KEY', webhook: { signature_secret_env: 'D_SIG' } } };
const CAMS = {
  name: 'c', provider: 'cams', display_number: '15550000002',
  cams: { access_key_id_env: 'AK', access_key_secret_env: 'SK', cust_space_id: 'cams-123', events_path_token_env: 'C_EVENTS' },
};
const CM = {
  name: 'm', provider: 'conceptomovil', display_number: '5215500000001',
  conceptomovil: { base_url: 'https://tenant.example.com', api_key_env: 'M_KEY', api_token_env: 'M_TOKEN', events_path_token_env: 'M_EVENTS' },
};
const META = { name: 'meta', phone_number_id: '105615555715855', display_number: '15551112222', access_token_env: 'T' };

const problems = configProblems;

const trunk = (numbers: string[], permission_policy?: unknown) => ({ name: 'pbx', sources: ['127.0.0.1'], numbers, ...(permission_policy !== undefined && { permission_policy }) });

describe('numbers[].provider', () => {
  it('accepts each provider with its block, filling the defaults', () => {
    const cfg = validateConfig({ numbers: [META, D360, CAMS, CM] });
    const [meta, d, c, m] = cfg.numbers;
    expect(meta).toMatchObject({ provider: 'meta', base_url: 'https://graph.facebook.com' });
    expect(d!.d360).toEqual({
      api_key_env: 'D_KEY', base_url: 'https://waba-v2.360dialog.io',
      webhook: { signature_secret_env: 'D_SIG', signature_header: 'x-360dialog-signature', allow_header_token_only: false },
    });
    expect(c!.cams).toMatchObject({ endpoint: 'https://cams.ap-southeast-1.aliyuncs.com', events_allow_from: [] });
    expect(m!.conceptomovil).toMatchObject({ token_ttl_ms: 3_600_000, paths: {} });
    expect(cfg.webhook.provider_events_prefix).toBe('/webhooks');
  });

  it('names the missing block, a foreign block and a Meta key on another provider', () => {
    expect(problems({ numbers: [{ ...CAMS, cams: undefined }] })).toEqual([expect.stringMatching(/^numbers\[0\]\.cams: required for provider: cams/)]);
    expect(problems({ numbers: [{ ...D360, cams: CAMS.cams }] })).toEqual(['numbers[0].cams: only for provider: cams (this number\'s provider is 360dialog)']);
    expect(problems({ numbers: [{ ...CM, access_token_env: 'T' }] })).toEqual([expect.stringMatching(/^numbers\[0\]\.access_token_env: a Meta key: provider conceptomovil takes its credentials from the conceptomovil block/)]);
    expect(problems({ numbers: [{ ...META, phone_number_id: undefined }] })).toEqual(['numbers[0].phone_number_id: required for provider: meta']);
    expect(problems({ numbers: [{ ...META, provider: 'twilio' }] })).toEqual([expect.stringMatching(/^numbers\[0\]\.provider: /)]);
  });

  it('names bad keys inside a block', () => {
    expect(problems({ numbers: [{ ...CM, conceptomovil: { ...CM.conceptomovil, base_url: undefined } }] })[0]).toMatch(/^numbers\[0\]\.conceptomovil\.base_url: /);
    expect(problems({ numbers: [{ ...CAMS, cams: { ...CAMS.cams, cust_space_id: undefined } }] })[0]).toMatch(/^numbers\[0\]\.cams\.cust_space_id: /);
    expect(problems({ numbers: [{ ...CAMS, cams: { ...CAMS.cams, events_allow_from: ['not-an-ip'] } }] })[0]).toMatch(/^numbers\[0\]\.cams\.events_allow_from\[0\]: an IP address or CIDR block/);
    expect(problems({ numbers: [{ ...D360, d360: { ...D360.d360, apikey_env: 'X' } }] })).toEqual(['numbers[0].d360: unknown key(s) "apikey_env"']);
  });

  it('360dialog webhooks must be authenticated; a header token alone only with allow_header_token_only', () => {
    expect(problems({ numbers: [{ ...D360, d360: { api_key_env: 'K' } }] })).toEqual([
      'numbers[0].d360.webhook.signature_secret_env: configure signature_secret_env (x-360dialog-signature) and/or header_token: unauthenticated deliveries are refused',
    ]);
    const tokenOnly = { api_key_env: 'K', webhook: { header_token: { name: 'Authorization', value_env: 'H' } } };
    expect(problems({ numbers: [{ ...D360, d360: tokenOnly }] })[0]).toMatch(/^numbers\[0\]\.d360\.webhook\.allow_header_token_only: only header_token is configured/);
    expect(problems({ numbers: [{ ...D360, d360: { ...tokenOnly, webhook: { ...tokenOnly.webhook, allow_header_token_only: true } } }] })).toEqual([]);
    // Several custom headers: a list (the single object above is a list of one).
    const list = { api_key_env: 'K', webhook: { header_token: [{ name: 'Authorization', value_env: 'H' }, { name: 'X-Tenant', value_env: 'H2' }], allow_header_token_only: true } };
    expect(problems({ numbers: [{ ...D360, d360: list }] })).toEqual([]);
    expect(problems({ numbers: [{ ...D360, d360: { ...list, webhook: { ...list.webhook, header_token: [] } } }] })[0]).toMatch(/^numbers\[0\]\.d360\.webhook\.header_token: /);
    expect(problems({ numbers: [{ ...D360, d360: { ...list, webhook: { ...list.webhook, header_token: [{ name: 'Authorization', value_env: 'H' }, { name: 'authorization', value_env: 'H2' }] } } }] }))
      .toEqual(['numbers[0].d360.webhook.header_token[1].name: header authorization is listed twice']);
    expect(problems({ numbers: [{ ...D360, d360: { api_key_env: 'K', webhook: { signature_secret_env: 'S', header_token: { name: 'X-360dialog-Signature', value_env: 'H' } } } }] }))
      .toEqual(['numbers[0].d360.webhook.header_token[0].name: header X-360dialog-Signature carries the signature (signature_header): it cannot also be a static header']);
    // The single-object form is a list of one, and its problems are named precisely.
    const single = { ...tokenOnly, webhook: { ...tokenOnly.webhook, allow_header_token_only: true } };
    expect(validateConfig({ numbers: [{ ...D360, d360: single }] }).numbers[0]!.d360!.webhook.header_token).toEqual([{ name: 'Authorization', value_env: 'H' }]);
    expect(problems({ numbers: [{ ...D360, d360: { ...tokenOnly, webhook: { header_token: { name: 'Authorization' }, allow_header_token_only: true } } }] })[0])
      .toMatch(/^numbers\[0\]\.d360\.webhook\.header_token\[0\]\.value_env: /);
    // In SIP mode Meta dials the PBX directly: no call webhooks to authenticate.
    expect(problems({ numbers: [{ ...D360, mode: 'sip', d360: { api_key_env: 'K' } }] })).toEqual([]);
  });

  it('SIP mode only where the provider has it (Meta, 360dialog)', () => {
    expect(problems({ numbers: [{ ...CAMS, mode: 'sip' }] })).toEqual([
      'numbers[0].mode: sip is not available with provider cams: Alibaba Cloud CAMS offers no SIP signalling (docs/providers.md#alibaba-cloud-cams); use mode: api',
    ]);
    expect(problems({ numbers: [{ ...CM, calling: { sip: { status: 'DISABLED' } } }] })).toEqual([
      'numbers[0].calling.sip: Concepto Móvil offers no SIP signalling (docs/providers.md#concepto-movil): remove the sip block',
    ]);
    expect(problems({ numbers: [{ ...D360, mode: 'sip' }] })).toEqual([]);
  });

  it('a permission policy other than off on a trunk with a CAMS or Concepto Móvil number names the key', () => {
    const withDrachtio = { drachtio: {}, rtpengine: { engines: [{ host: '127.0.0.1' }] } };
    expect(problems({ ...withDrachtio, numbers: [META, CAMS], trunks: [trunk(['meta', 'c'], 'check')] })).toEqual([
      'trunks[0].permission_policy: check needs a call permissions API, which Alibaba Cloud CAMS (number "c", provider cams) does not offer (docs/providers.md#alibaba-cloud-cams): use permission_policy: off on trunks with this number',
    ]);
    expect(problems({ ...withDrachtio, numbers: [CM], trunks: [trunk(['m'], { mode: 'request' })] })).toEqual([expect.stringMatching(/^trunks\[0\]\.permission_policy: request needs a call permissions API, which Concepto Móvil/)]);
    expect(problems({ ...withDrachtio, numbers: [CM, CAMS], trunks: [trunk(['m', 'c'], 'off')] })).toEqual([]);
    expect(problems({ ...withDrachtio, numbers: [CM, CAMS], trunks: [trunk(['m', 'c'])] })).toEqual([]);
    expect(problems({ ...withDrachtio, numbers: [D360], trunks: [trunk(['d'], 'check')] })).toEqual([]);
  });

  it('numbers without phone_number_id are keyed by display_number: duplicates are refused', () => {
    expect(problems({ numbers: [D360, { ...CAMS, display_number: D360.display_number }] })).toEqual(['numbers[1].display_number: duplicate of numbers[0]']);
  });

  it('webhook paths may not collide', () => {
    expect(problems({ numbers: [{ ...D360, d360: { ...D360.d360, webhook: { ...D360.d360.webhook, path: '/webhooks/whatsapp' } } }] })).toEqual([
      "numbers[0].d360.webhook.path: /webhooks/whatsapp is webhook.path (Meta's webhook): give each 360dialog number its own path",
    ]);
    expect(problems({ numbers: [D360, { ...D360, name: 'd2', display_number: '15550000009', d360: { ...D360.d360, webhook: { ...D360.d360.webhook, path: '/webhooks/360dialog/d' } } }] }))
      .toEqual(["numbers[1].d360.webhook.path: /webhooks/360dialog/d is numbers[0]'s 360dialog webhook path: give each 360dialog number its own path"]);
    expect(problems({ webhook: { path: '/webhooks/cams/x' }, numbers: [META] })[0]).toMatch(/^webhook\.path: under \/webhooks\/cams\/ or \/webhooks\/conceptomovil\//);
  });
});

describe('provider secrets', () => {
  const env = {
    D_KEY: 'd360-key', D_SIG: 'sig', AK: 'ak', SK: 'sk', C_EVENTS: 'cams-events-token-123456',
    M_KEY: '1', M_TOKEN: 'tok', M_EVENTS: 'cm-events-token-1234567',
  };
  it('are read from the environment; Meta\'s webhook secrets are not needed without a Meta number', () => {
    const secrets = resolveSecrets(validateConfig({ numbers: [D360, CAMS, CM] }), env);
    expect(secrets.providers!.get('d')).toEqual({ provider: '360dialog', apiKey: 'd360-key', signatureSecrets: ['sig'], headerTokens: [] });
    expect(secrets.providers!.get('c')).toEqual({ provider: 'cams', accessKeyId: 'ak', accessKeySecret: 'sk', eventsToken: 'cams-events-token-123456' });
    expect(secrets.providers!.get('m')).toMatchObject({ provider: 'conceptomovil', apiToken: 'tok' });
    expect(secrets.accessTokens.size).toBe(0);
  });

  it('360dialog header tokens: one or a list, each value read from its variable', () => {
    const single = { ...D360, d360: { api_key_env: 'D_KEY', webhook: { signature_secret_env: 'D_SIG', header_token: { name: 'Authorization', value_env: 'D_H1' } } } };
    const listed = { ...single, name: 'd2', display_number: '15550000008', d360: { ...single.d360, webhook: { signature_secret_env: 'D_SIG', header_token: [{ name: 'Authorization', value_env: 'D_H1' }, { name: 'X-Tenant', value_env: 'D_H2' }] } } };
    const cfg = validateConfig({ numbers: [single, listed] });
    const secrets = resolveSecrets(cfg, { ...env, D_H1: 'h1', D_H2: 'h2' });
    expect(secrets.providers!.get('d')).toMatchObject({ headerTokens: [{ name: 'Authorization', value: 'h1' }] });
    expect(secrets.providers!.get('d2')).toMatchObject({ headerTokens: [{ name: 'Authorization', value: 'h1' }, { name: 'X-Tenant', value: 'h2' }] });
    let problems: string[] = [];
    try {
      resolveSecrets(cfg, { ...env, D_H1: 'h1' });
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toEqual(['numbers[1].d360.webhook.header_token[1].value_env: environment variable D_H2 is not set']);
  });

  it('every unset variable and a short or unsafe events token is named', () => {
    const cfg = validateConfig({ numbers: [D360, CAMS, CM] });
    expect(() => resolveSecrets(cfg, { ...env, D_KEY: '', C_EVENTS: 'short', M_EVENTS: 'has a space in it ........' })).toThrow(ConfigError);
    try {
      resolveSecrets(cfg, { ...env, D_KEY: '', C_EVENTS: 'short', M_EVENTS: 'has a space in it ........' });
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        'numbers[0].d360.api_key_env: environment variable D_KEY is not set',
        'numbers[1].cams.events_path_token_env: the token in C_EVENTS must be 16 to 100 characters of A-Z a-z 0-9 . _ ~ - (it is part of a URL path)',
        'numbers[2].conceptomovil.events_path_token_env: the token in M_EVENTS must be 16 to 100 characters of A-Z a-z 0-9 . _ ~ - (it is part of a URL path)',
      ]);
    }
  });
});

describe('config/watrunk.example.yaml', () => {
  it('its commented provider examples are valid numbers[] entries', () => {
    const text = readFileSync('config/watrunk.example.yaml', 'utf8');
    const block = /# --- provider examples: start[^\n]*\n([\s\S]*?)\n\s*# --- provider examples: end/.exec(text)?.[1];
    expect(block, 'the provider examples block').toBeDefined();
    const yaml = block!.split('\n').map((l) => l.replace(/^(\s*)# ?/, '$1')).join('\n');
    const numbers = parseYaml(yaml) as Array<{ provider: string }>;
    expect(numbers.map((n) => n.provider)).toEqual(['360dialog', 'cams', 'conceptomovil']);
    expect(problems({ numbers })).toEqual([]);
  });
});
