import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, resolveSecrets, validateConfig } from '../../src/config/load.js';
import { desiredCallingIssues } from '../../src/config/desired-calling.js';
import { CALL_HOURS_ERRORS } from '../../src/calling-settings/call-hours.js';

/** numbers[].calling, trunks[].permission_policy and admin: validation with Meta's rules (docs/whatsapp-calling.md#settings, #permissions, #sip-mode). */

const number = { name: 'sales', phone_number_id: '105615555715855', display_number: '15551112222', access_token_env: 'TOK' };
const hours = (weekly: unknown[], extra: Record<string, unknown> = {}) => ({
  status: 'ENABLED', timezone_id: 'Europe/London', weekly_operating_hours: weekly, ...extra,
});
const mon = (open: unknown, close: unknown) => ({ day_of_week: 'MONDAY', open_time: open, close_time: close });
const nextYear = new Date().getUTCFullYear() + 1;

function problems(calling: unknown, extra: Record<string, unknown> = {}): string[] {
  try {
    validateConfig({ numbers: [{ ...number, ...extra, calling }] });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('numbers[].calling: each of Meta\'s rules stops the config, naming the key and the rule', () => {
  it.each([
    ['at most 2 entries per day', hours([mon('0800', '0900'), mon('1000', '1100'), mon('1200', '1300')]), `numbers[0].calling.call_hours: ${CALL_HOURS_ERRORS.tooManyDayEntries}`],
    ['open before close', hours([mon('1700', '0900')]), `numbers[0].calling.call_hours: ${CALL_HOURS_ERRORS.invalidSchedule}`],
    ['no overlaps', hours([mon('0900', '1200'), mon('1100', '1500')]), `numbers[0].calling.call_hours: ${CALL_HOURS_ERRORS.overlapping}`],
    ['at most 20 holidays', hours([mon('0900', '1700')], {
      holiday_schedule: Array.from({ length: 21 }, (_, i) => ({ date: `${nextYear}-01-${String(i + 1).padStart(2, '0')}`, start_time: '0000', end_time: '2359' })),
    }), `numbers[0].calling.call_hours: ${CALL_HOURS_ERRORS.tooManyHolidays}`],
    ['HHMM times', hours([mon('9:00', '1700')]), `numbers[0].calling.call_hours: ${CALL_HOURS_ERRORS.invalidSchedule}`],
    ['a valid IANA time zone', { ...hours([mon('0900', '1700')]), timezone_id: 'Mars/Olympus' }, `numbers[0].calling.call_hours: ${CALL_HOURS_ERRORS.invalidTimezone}`],
    ['no past holidays', hours([mon('0900', '1700')], { holiday_schedule: [{ date: '2020-12-25', start_time: '0000', end_time: '2359' }] }), `numbers[0].calling.call_hours: ${CALL_HOURS_ERRORS.pastHoliday}`],
    ['weekly hours not empty', hours([]), `numbers[0].calling.call_hours: ${CALL_HOURS_ERRORS.emptyWeekly}`],
    ['a real holiday date', hours([mon('0900', '1700')], { holiday_schedule: [{ date: `${nextYear}-02-30`, start_time: '0000', end_time: '2359' }] }), `numbers[0].calling.call_hours: ${CALL_HOURS_ERRORS.invalidHolidayDate}`],
  ])('%s', (_rule, callHours, expected) => {
    expect(problems({ call_hours: callHours })).toContain(expected);
  });

  it.each([
    [{ status: 'ON' }, 'numbers[0].calling.status: Param status must be one of {ENABLED, DISABLED} - got "ON"'],
    [{ call_icon_visibility: 'HIDE' }, 'numbers[0].calling.call_icon_visibility: Param call_icon_visibility must be one of {DEFAULT, DISABLE_ALL}'],
    [{ callback_permission_status: true }, 'numbers[0].calling.callback_permission_status: Param callback_permission_status must be one of'],
    [{ srtp_key_exchange_protocol: 'ZRTP' }, 'numbers[0].calling.srtp_key_exchange_protocol: Param srtp_key_exchange_protocol must be one of {DTLS, SDES}'],
    [{ audio: { additional_codecs: ['G729'] } }, 'numbers[0].calling.audio: Param audio.additional_codecs[0] must be one of {PCMA, PCMU}'],
    [{ call_icons: { restrict_to_user_countries: ['gb'] } }, 'numbers[0].calling.call_icons: Param call_icons.restrict_to_user_countries must be a list of ISO 3166 alpha-2'],
    [{ voicemail: { status: 'ENABLED', triggers: ['HANGUP'] } }, 'numbers[0].calling.voicemail: Param voicemail.triggers[0] must be one of {REJECT, TIMEOUT}'],
    [{ sip: { servers: [{ hostname: 'sip.example.com', port: 70000 }] } }, 'numbers[0].calling.sip: Param sip.servers[0].port must be an integer between 1 and 65535'],
    [{ restrictions: {} }, 'numbers[0].calling.restrictions: unknown calling setting (restrictions are reported by Meta, not set)'],
    [{ colour: 'blue' }, 'numbers[0].calling.colour: unknown calling setting'],
  ])('known enum values and keys: %j', (calling, expected) => {
    expect(problems(calling).join('\n')).toContain(expected);
  });

  it('an unquoted YAML time (read as a number) is explained', () => {
    expect(problems({ call_hours: hours([mon(900, '1700')]) })).toContain(
      'numbers[0].calling.call_hours.weekly_operating_hours[0].open_time: an HHMM time as a string: quote it in YAML, e.g. "0900"');
  });

  it('sip.status must agree with the configured mode (enabling SIP switches off /calls, 131055)', () => {
    expect(problems({ sip: { status: 'ENABLED' } }).join('\n')).toMatch(/numbers\[0\]\.calling\.sip\.status: ENABLED contradicts mode: api .*131055/);
    expect(problems({ sip: { status: 'DISABLED' } }, { mode: 'sip' }).join('\n')).toMatch(/numbers\[0\]\.calling\.sip\.status: DISABLED contradicts mode: sip/);
    expect(problems({ sip: { status: 'ENABLED', servers: [{ hostname: 'sip.example.com' }] } }, { mode: 'sip' })).toEqual([]);
  });

  it('accepts a complete, valid block', () => {
    expect(problems({
      status: 'ENABLED', call_icon_visibility: 'DEFAULT', call_icons: { restrict_to_user_countries: ['GB', 'BR'] },
      callback_permission_status: 'ENABLED', srtp_key_exchange_protocol: 'DTLS', audio: { additional_codecs: ['PCMA'] },
      call_hours: hours([mon('0900', '1200'), mon('1300', '1700')], { holiday_schedule: [{ date: `${nextYear}-12-25`, start_time: '0000', end_time: '2359' }] }),
      voicemail: { status: 'DISABLED' },
    })).toEqual([]);
  });

  it('desiredCallingIssues reports paths relative to the block, with an injected clock', () => {
    const issues = desiredCallingIssues({ call_hours: hours([mon('0900', '1700')], { holiday_schedule: [{ date: '2026-06-01', start_time: '0000', end_time: '2359' }] }) }, Date.UTC(2026, 5, 2));
    expect(issues).toEqual([{ path: ['call_hours'], message: CALL_HOURS_ERRORS.pastHoliday }]);
  });

  it('an invalid file stops loading (as `watrunk start` does) with the key and the rule', () => {
    const dir = mkdtempSync(join(tmpdir(), 'watrunk-calling-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, [
      'numbers:', '  - name: sales', '    phone_number_id: "1"', '    display_number: "15551112222"', '    access_token_env: TOK',
      '    calling:', '      call_hours:', '        status: ENABLED', '        timezone_id: Europe/London',
      '        weekly_operating_hours:', '          - { day_of_week: MONDAY, open_time: "0900", close_time: "1200" }',
      '          - { day_of_week: MONDAY, open_time: "1100", close_time: "1400" }', '',
    ].join('\n'));
    expect(() => loadConfig(file, { TOK: 't', WATRUNK_VERIFY_TOKEN: 'v', WATRUNK_APP_SECRET: 's' }))
      .toThrow(`numbers[0].calling.call_hours: ${CALL_HOURS_ERRORS.overlapping}`);
  });
});

describe('trunks[].permission_policy and admin', () => {
  const base = { numbers: [number], drachtio: {}, rtpengine: { engines: [{ host: '127.0.0.1' }] } };
  const trunk = { name: 't', sources: ['127.0.0.1'], numbers: ['sales'] };

  it('a string is shorthand for { mode }, with safe defaults; absent means off', () => {
    const cfg = validateConfig({ ...base, trunks: [{ ...trunk, permission_policy: 'check' }, { ...trunk, name: 'u' }] });
    expect(cfg.trunks[0]!.permission_policy).toEqual({ mode: 'check', on_lookup_error: 'allow', request: { message: 'auto' } });
    expect(cfg.trunks[1]!.permission_policy).toBeUndefined();
  });

  it('the long form takes a template; message: template needs one', () => {
    const cfg = validateConfig({ ...base, trunks: [{ ...trunk, permission_policy: { mode: 'request', request: { body_text: 'May we call?', template: { name: 'perm_v1', language: 'en_US' } } } }] });
    expect(cfg.trunks[0]!.permission_policy?.request).toEqual({ message: 'auto', body_text: 'May we call?', template: { name: 'perm_v1', language: 'en_US' } });
    expect(() => validateConfig({ ...base, trunks: [{ ...trunk, permission_policy: { mode: 'request', request: { message: 'template' } } }] }))
      .toThrow('trunks[0].permission_policy.request.template: message: template needs a template');
    expect(() => validateConfig({ ...base, trunks: [{ ...trunk, permission_policy: 'sometimes' }] })).toThrow('trunks[0].permission_policy.mode');
  });

  it('admin: the token comes from the environment and must be long enough', () => {
    const cfg = validateConfig({ numbers: [number], admin: {} });
    expect(cfg.admin).toEqual({ token_env: 'WATRUNK_ADMIN_TOKEN', path_prefix: '/admin', credentials_state_file: 'var/sip-credentials.json' });
    const env = { TOK: 't', WATRUNK_VERIFY_TOKEN: 'v', WATRUNK_APP_SECRET: 's' };
    expect(() => resolveSecrets(cfg, env)).toThrow('admin.token_env: environment variable WATRUNK_ADMIN_TOKEN is not set');
    expect(() => resolveSecrets(cfg, { ...env, WATRUNK_ADMIN_TOKEN: 'short' })).toThrow('at least 16 characters');
    expect(resolveSecrets(cfg, { ...env, WATRUNK_ADMIN_TOKEN: 'a-long-enough-admin-token' }).adminToken).toBe('a-long-enough-admin-token');
    expect(resolveSecrets(validateConfig({ numbers: [number] }), env).adminToken).toBeUndefined();
  });
});
