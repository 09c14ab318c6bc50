import { describe, expect, it } from 'vitest';
import { APPLY_ORDER, canonicalJson, diffCalling } from '../../src/control/settings/settings-diff.js';

/** The pure diff between numbers[].calling and GET /settings' calling (docs/whatsapp-calling.md#settings, #sip-mode). */

const weekly = [
  { day_of_week: 'TUESDAY', open_time: '0900', close_time: '1700' },
  { day_of_week: 'MONDAY', open_time: '1300', close_time: '1700' },
  { day_of_week: 'MONDAY', open_time: '0900', close_time: '1200' },
];
const holiday = { date: '2099-12-25', start_time: '0000', end_time: '2359' };
const callHours = (extra: Record<string, unknown> = {}) => ({ status: 'ENABLED', timezone_id: 'Europe/London', weekly_operating_hours: weekly, ...extra });

describe('diffCalling', () => {
  it('treats keys Meta omits as Meta\'s defaults (e.g. srtp_key_exchange_protocol DTLS)', () => {
    expect(diffCalling({ srtp_key_exchange_protocol: 'DTLS', audio: { additional_codecs: [] }, call_icons: { restrict_to_user_countries: [] }, voicemail: { status: 'DISABLED' } }, {}, 'api')).toEqual([]);
    expect(diffCalling({ srtp_key_exchange_protocol: 'SDES' }, {}, 'api')).toMatchObject([{ key: 'srtp_key_exchange_protocol', live: 'DTLS', desired: 'SDES', update: { srtp_key_exchange_protocol: 'SDES' } }]);
  });

  it('ignores order in sets: countries, codecs, weekly hours', () => {
    const live = {
      call_icons: { restrict_to_user_countries: ['BR', 'GB'] }, audio: { additional_codecs: ['PCMU', 'PCMA'] },
      call_hours: callHours({ weekly_operating_hours: [...weekly].reverse() }),
    };
    expect(diffCalling({ call_icons: { restrict_to_user_countries: ['GB', 'BR'] }, audio: { additional_codecs: ['PCMA', 'PCMU'] }, call_hours: callHours() }, live, 'api')).toEqual([]);
  });

  it('only compares declared keys, one focused update per key, calling enabled first', () => {
    const changes = diffCalling({ call_icon_visibility: 'DISABLE_ALL', status: 'ENABLED', callback_permission_status: 'ENABLED' }, { status: 'DISABLED', call_icon_visibility: 'DEFAULT', callback_permission_status: 'DISABLED', call_hours: callHours() }, 'api');
    expect(changes.map((c) => c.update)).toEqual([{ status: 'ENABLED' }, { call_icon_visibility: 'DISABLE_ALL' }, { callback_permission_status: 'ENABLED' }]);
  });

  it('turning calling off goes last, with a note', () => {
    const changes = diffCalling({ status: 'DISABLED', callback_permission_status: 'ENABLED' }, { status: 'ENABLED' }, 'api');
    expect(changes.map((c) => c.key)).toEqual(['callback_permission_status', 'status']);
    expect(changes[1]!.notes[0]).toMatch(/turns calling off/);
  });

  it('call_hours: holidays are always sent with call_hours; a change that deletes live holidays says so', () => {
    const keep = diffCalling({ call_hours: callHours({ holiday_schedule: [holiday], timezone_id: 'Europe/Paris' }) }, { call_hours: callHours({ holiday_schedule: [holiday] }) }, 'api');
    expect(keep).toHaveLength(1);
    expect((keep[0]!.update['call_hours'] as Record<string, unknown>)['holiday_schedule']).toEqual([holiday]);
    expect(keep[0]!.notes).toEqual([]);

    const drop = diffCalling({ call_hours: callHours() }, { call_hours: callHours({ holiday_schedule: [holiday, { ...holiday, date: '2099-12-26' }] }) }, 'api');
    expect(drop).toHaveLength(1);
    expect(drop[0]!.update).toEqual({ call_hours: callHours() });
    expect(drop[0]!.notes[0]).toMatch(/deletes 2 holiday\(s\) on Meta/);
  });

  it('call_hours: holidays in the table spelling (open_time/close_time) equal the sample spelling', () => {
    const live = { call_hours: callHours({ holiday_schedule: [{ date: holiday.date, open_time: '0000', close_time: '2359' }] }) };
    expect(diffCalling({ call_hours: callHours({ holiday_schedule: [holiday] }) }, live, 'api')).toEqual([]);
  });

  it('sip: status follows the mode; servers compare without app_id and with port 5061 by default', () => {
    const live = { sip: { status: 'ENABLED', servers: [{ hostname: 'sip.example.com', port: 5061, app_id: '42' }] } };
    expect(diffCalling({ sip: { servers: [{ hostname: 'sip.example.com' }] } }, live, 'sip')).toEqual([]);
    const changes = diffCalling({ sip: { servers: [{ hostname: 'sip.example.com' }] } }, live, 'api');
    expect(changes).toMatchObject([{ key: 'sip', update: { sip: { status: 'DISABLED', servers: [{ hostname: 'sip.example.com' }] } } }]);
    expect(changes[0]!.notes[0]).toMatch(/disables SIP signalling/);
    expect(diffCalling({ sip: { servers: [{ hostname: 'other.example.com', request_uri_user_params: { tgrp: 'wa' } }] } }, live, 'sip')).toHaveLength(1);
  });

  it('canonicalJson sorts keys at every level; APPLY_ORDER covers every settable key', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
    expect([...APPLY_ORDER].sort()).toEqual(['audio', 'call_hours', 'call_icon_visibility', 'call_icons', 'callback_permission_status', 'sip', 'srtp_key_exchange_protocol', 'status', 'voicemail']);
  });
});
