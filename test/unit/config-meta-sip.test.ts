/**
 * numbers[].meta_sip (src/config/meta-sip-schema.ts, wired in src/config/schema.ts): defaults,
 * what is resolved from the number's `calling` block, the cross-checks that name their key, what
 * `watrunk start` additionally needs, and the media flavour toward WhatsApp.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, resolveSecrets, validateConfig } from '../../src/config/load.js';
import { metaSipIssues, metaSipSchema, metaSipStartProblems, resolveMetaSip, whatsappMediaOf } from '../../src/config/meta-sip-schema.js';
import { configProblems } from '../support/config-problems.js';

const META = { name: 'sales', phone_number_id: '105615555715855', display_number: '15551112222', access_token_env: 'T' };
const SERVER = { hostname: 'sip.example.com', port: 5061 };
const sipNumber = (extra: Record<string, unknown> = {}) => ({ ...META, mode: 'sip', ...extra });

const problems = configProblems;

describe('meta_sip defaults', () => {
  it('Meta\'s facts are defaults; hostname comes from calling.sip.servers[0].hostname', () => {
    const cfg = validateConfig({ numbers: [sipNumber({ meta_sip: {}, calling: { sip: { servers: [SERVER] } } })] });
    const n = cfg.numbers[0]!;
    const defaults = {
      domain: 'wa.meta.vc', edge_uri: 'sip:wa.meta.vc:5061;transport=tls', allowed_sources: [], require_tls: true,
      keepalive_s: 30, password_ttl_s: 3600,
    };
    expect(n.meta_sip).toMatchObject(defaults);
    // Nothing the deployment decides is invented.
    expect(n.meta_sip).not.toHaveProperty('hostname');
    expect(n.meta_sip).not.toHaveProperty('srtp');
    expect(n.meta_sip).not.toHaveProperty('realm');
    expect(n.meta_sip).not.toHaveProperty('password_env');
    expect(resolveMetaSip(n)).toMatchObject({ ...defaults, hostname: 'sip.example.com', srtp: 'dtls', realm: 'sip.example.com' });
  });

  it('no meta_sip block at all: the same defaults', () => {
    const cfg = validateConfig({ numbers: [sipNumber({ calling: { sip: { servers: [SERVER] } } })] });
    expect(cfg.numbers[0]!.meta_sip).toBeUndefined();
    expect(resolveMetaSip(cfg.numbers[0]!)).toMatchObject({ domain: 'wa.meta.vc', keepalive_s: 30, require_tls: true, hostname: 'sip.example.com', srtp: 'dtls' });
  });

  it('an explicit hostname and realm win; no hostname anywhere resolves to undefined', () => {
    expect(resolveMetaSip({ meta_sip: metaSipSchema.parse({ hostname: 'edge.example.org', realm: 'r1' }) })).toMatchObject({ hostname: 'edge.example.org', realm: 'r1' });
    expect(resolveMetaSip({ meta_sip: metaSipSchema.parse({}) })).toBeUndefined();
    expect(resolveMetaSip({ calling: { sip: { servers: [] } } })).toBeUndefined();
  });

  it('srtp from calling.srtp_key_exchange_protocol (SDES → sdes, DTLS → dtls), meta_sip.srtp when set', () => {
    const sdes = validateConfig({ numbers: [sipNumber({ calling: { srtp_key_exchange_protocol: 'SDES', sip: { servers: [SERVER] } } })] });
    expect(resolveMetaSip(sdes.numbers[0]!)?.srtp).toBe('sdes');
    const dtls = validateConfig({ numbers: [sipNumber({ calling: { srtp_key_exchange_protocol: 'DTLS', sip: { servers: [SERVER] } } })] });
    expect(resolveMetaSip(dtls.numbers[0]!)?.srtp).toBe('dtls');
    const explicit = validateConfig({ numbers: [sipNumber({ meta_sip: { srtp: 'sdes' }, calling: { sip: { servers: [SERVER] } } })] });
    expect(resolveMetaSip(explicit.numbers[0]!)?.srtp).toBe('sdes');
  });

  it('a whole YAML file through loadConfig, with meta_sip.password_env resolved as a secret', () => {
    const dir = mkdtempSync(join(tmpdir(), 'watrunk-meta-sip-'));
    const file = join(dir, 'watrunk.yaml');
    writeFileSync(file, [
      'numbers:',
      '  - name: sales',
      '    phone_number_id: "105615555715855"',
      '    display_number: "15551112222"',
      '    access_token_env: T',
      '    mode: sip',
      '    meta_sip:',
      '      hostname: sip.example.com',
      '      allowed_sources: ["157.240.0.0/16", "2a03:2880::/32"]',
      '      keepalive_s: 0',
      '      password_env: META_SIP_PW',
      '    calling:',
      '      srtp_key_exchange_protocol: SDES',
      '      sip:',
      '        status: ENABLED',
      '        servers:',
      '          - hostname: sip.example.com',
      '            port: 5061',
      '',
    ].join('\n'));
    const env = { T: 'tok', WATRUNK_VERIFY_TOKEN: 'v', WATRUNK_APP_SECRET: 's', META_SIP_PW: 'from-env' };
    const loaded = loadConfig(file, env);
    const n = loaded.config.numbers[0]!;
    expect(n.meta_sip).toMatchObject({ hostname: 'sip.example.com', allowed_sources: ['157.240.0.0/16', '2a03:2880::/32'], keepalive_s: 0 });
    expect(resolveMetaSip(n)?.srtp).toBe('sdes');
    expect(loaded.secrets.metaSipPasswords?.get('sales')).toBe('from-env');
    const secretProblems = (e: NodeJS.ProcessEnv) => {
      try {
        resolveSecrets(loaded.config, e);
      } catch (err) {
        return (err as ConfigError).problems;
      }
      return [];
    };
    expect(secretProblems({ T: 'tok', WATRUNK_VERIFY_TOKEN: 'v', WATRUNK_APP_SECRET: 's' })).toEqual([
      'numbers[0].meta_sip.password_env: environment variable META_SIP_PW is not set',
    ]);
    expect(secretProblems(env)).toEqual([]);
  });
});

describe('meta_sip problems name their key', () => {
  it('meta_sip on a number in mode api is refused', () => {
    expect(problems({ numbers: [{ ...META, meta_sip: { hostname: 'sip.example.com' } }] })).toEqual([
      'numbers[0].meta_sip: only used with mode: sip (this number is in mode api)',
    ]);
    expect(problems({ numbers: [META, { ...META, name: 'b', phone_number_id: '105615555715866', display_number: '15550000009', mode: 'api', meta_sip: {} }] })).toEqual([
      'numbers[1].meta_sip: only used with mode: sip (this number is in mode api)',
    ]);
  });

  it('a hostname that is neither the server entry\'s nor a parent domain of it is refused', () => {
    const got = problems({ numbers: [sipNumber({ meta_sip: { hostname: 'other.example.com' }, calling: { sip: { servers: [SERVER] } } })] });
    expect(got).toHaveLength(1);
    expect(got[0]).toMatch(/^numbers\[0\]\.meta_sip\.hostname: must be calling\.sip\.servers\[0\]\.hostname \(sip\.example\.com\) or a parent domain of it/);
    // "example.com" is a parent of sip.example.com; "ample.com" is not (a suffix, not a domain).
    expect(problems({ numbers: [sipNumber({ meta_sip: { hostname: 'example.com' }, calling: { sip: { servers: [SERVER] } } })] })).toEqual([]);
    expect(problems({ numbers: [sipNumber({ meta_sip: { hostname: 'ample.com' }, calling: { sip: { servers: [SERVER] } } })] })[0]).toMatch(/^numbers\[0\]\.meta_sip\.hostname: /);
    expect(problems({ numbers: [sipNumber({ meta_sip: { hostname: 'sip.example.com' }, calling: { sip: { servers: [SERVER] } } })] })).toEqual([]);
  });

  it('meta_sip.srtp contradicting calling.srtp_key_exchange_protocol is refused', () => {
    const got = problems({ numbers: [sipNumber({ meta_sip: { srtp: 'dtls' }, calling: { srtp_key_exchange_protocol: 'SDES', sip: { servers: [SERVER] } } })] });
    expect(got).toHaveLength(1);
    expect(got[0]).toMatch(/^numbers\[0\]\.meta_sip\.srtp: contradicts calling\.srtp_key_exchange_protocol \(SDES\)/);
    expect(problems({ numbers: [sipNumber({ meta_sip: { srtp: 'sdes' }, calling: { srtp_key_exchange_protocol: 'SDES', sip: { servers: [SERVER] } } })] })).toEqual([]);
  });

  it('bad values inside meta_sip name the key', () => {
    const p = (meta_sip: Record<string, unknown>) => problems({ numbers: [sipNumber({ meta_sip: { hostname: 'sip.example.com', ...meta_sip } })] });
    expect(p({ edge_uri: 'wa.meta.vc:5061' })[0]).toMatch(/^numbers\[0\]\.meta_sip\.edge_uri: /);
    expect(p({ allowed_sources: ['157.240.0.0/99'] })[0]).toMatch(/^numbers\[0\]\.meta_sip\.allowed_sources\[0\]: /);
    expect(p({ keepalive_s: -1 })[0]).toMatch(/^numbers\[0\]\.meta_sip\.keepalive_s: /);
    expect(p({ password_ttl_s: 10 })[0]).toMatch(/^numbers\[0\]\.meta_sip\.password_ttl_s: /);
    expect(p({ srtp: 'zrtp' })[0]).toMatch(/^numbers\[0\]\.meta_sip\.srtp: /);
    expect(p({ password_env: 'not a name' })[0]).toMatch(/^numbers\[0\]\.meta_sip\.password_env: /);
    expect(p({ hostname: 'localhost' })[0]).toMatch(/^numbers\[0\]\.meta_sip\.hostname: a DNS host name/);
    expect(p({ passwrd_env: 'X' })).toEqual(['numbers[0].meta_sip: unknown key(s) "passwrd_env"']);
  });

  it('an IP address as meta_sip.hostname is refused (Meta refuses IP addresses)', () => {
    expect(problems({ numbers: [sipNumber({ meta_sip: { hostname: '192.0.2.10' } })] })).toEqual([expect.stringMatching(/^numbers\[0\]\.meta_sip\.hostname: /)]);
  });

  it('a number in mode sip without any hostname passes the schema (control commands work); start refuses it', () => {
    const cfg = validateConfig({ numbers: [sipNumber()] });
    expect(metaSipIssues(cfg.numbers[0]!)).toEqual([]);
    expect(metaSipStartProblems(cfg)[0]).toMatch(/^numbers\[0\]\.meta_sip\.hostname: required in mode sip \(or calling\.sip\.servers\[0\]\.hostname\)/);
  });
});

describe('metaSipStartProblems', () => {
  it('lists a missing hostname, drachtio and rtpengine per number in mode sip, with key names', () => {
    const cfg = validateConfig({ numbers: [META, { ...META, name: 'edge', phone_number_id: '105615555715866', display_number: '15550000009', mode: 'sip' }] });
    expect(metaSipStartProblems(cfg)).toEqual([
      expect.stringMatching(/^numbers\[1\]\.meta_sip\.hostname: required in mode sip/),
      expect.stringMatching(/^drachtio: required by numbers\[1\] \(edge\) in mode sip/),
      expect.stringMatching(/^rtpengine: required by numbers\[1\] \(edge\) in mode sip/),
    ]);
  });

  it('nothing when everything is there, and nothing for numbers in mode api', () => {
    const cfg = validateConfig({
      numbers: [sipNumber({ calling: { sip: { servers: [SERVER] } } })],
      drachtio: {}, rtpengine: { engines: [{ host: '127.0.0.1' }] },
    });
    expect(metaSipStartProblems(cfg)).toEqual([]);
    expect(metaSipStartProblems(validateConfig({ numbers: [META] }))).toEqual([]);
  });

  it('only what is missing', () => {
    const cfg = validateConfig({ numbers: [sipNumber({ meta_sip: { hostname: 'sip.example.com' } })], drachtio: {} });
    expect(metaSipStartProblems(cfg)).toEqual([expect.stringMatching(/^rtpengine: required by numbers\[0\] \(sales\)/)]);
  });
});

describe('whatsappMediaOf', () => {
  const n = (mode: 'api' | 'sip', extra: Record<string, unknown> = {}) => ({ mode, ...extra });
  it('api mode is WebRTC, whatever the calling block says', () => {
    expect(whatsappMediaOf(n('api'))).toBe('webrtc');
    expect(whatsappMediaOf(n('api', { calling: { srtp_key_exchange_protocol: 'SDES', sip: { servers: [SERVER] } } }))).toBe('webrtc');
  });

  it('sip mode: SDES when srtp resolves to sdes, WebRTC otherwise', () => {
    expect(whatsappMediaOf(n('sip', { calling: { sip: { servers: [SERVER] } } }))).toBe('webrtc');
    expect(whatsappMediaOf(n('sip', { calling: { srtp_key_exchange_protocol: 'SDES', sip: { servers: [SERVER] } } }))).toBe('sdes');
    expect(whatsappMediaOf(n('sip', { meta_sip: metaSipSchema.parse({ hostname: 'sip.example.com', srtp: 'sdes' }) }))).toBe('sdes');
    expect(whatsappMediaOf(n('sip', { meta_sip: metaSipSchema.parse({ hostname: 'sip.example.com', srtp: 'dtls' }) }))).toBe('webrtc');
  });
});
