import { describe, expect, it } from 'vitest';
import {
  CALL_HOURS_ERRORS as E, dateInZone, isCalendarDate, isValidTimeZone, parseHhmm, validateCallHours,
} from '../../src/calling-settings/call-hours.js';
import { validateCallingSettings, validateMergedCallingSettings } from '../../src/calling-settings/validation.js';

// 2026-06-15 12:00 UTC (a Monday)
const NOW = Date.UTC(2026, 5, 15, 12, 0, 0);

const valid = () => ({
  status: 'ENABLED',
  timezone_id: 'America/Manaus',
  weekly_operating_hours: [
    { day_of_week: 'MONDAY', open_time: '0400', close_time: '1020' },
    { day_of_week: 'MONDAY', open_time: '1200', close_time: '1800' },
    { day_of_week: 'TUESDAY', open_time: '0108', close_time: '1020' },
  ],
  holiday_schedule: [{ date: '2026-12-25', start_time: '0000', end_time: '2359' }],
});

describe('validateCallHours', () => {
  it('accepts Meta\'s own example and an omitted holiday_schedule', () => {
    expect(validateCallHours(valid(), NOW)).toEqual([]);
    const { holiday_schedule: _h, ...noHolidays } = valid();
    expect(validateCallHours(noHolidays, NOW)).toEqual([]);
  });

  it('rejects a status other than ENABLED/DISABLED with "Invalid status"', () => {
    expect(validateCallHours({ ...valid(), status: 'ON' }, NOW)).toEqual([E.invalidStatus]);
    expect(validateCallHours({ ...valid(), status: undefined }, NOW)).toEqual([E.invalidStatus]);
  });

  it('rejects unknown or malformed IANA time zones', () => {
    for (const tz of ['Mars/Olympus', 'EST', 'america/manaus', '', 42]) {
      expect(validateCallHours({ ...valid(), timezone_id: tz }, NOW)).toEqual([E.invalidTimezone]);
    }
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Asia/Singapore')).toBe(true);
  });

  it('requires weekly_operating_hours to be a non-empty list', () => {
    expect(validateCallHours({ ...valid(), weekly_operating_hours: [] }, NOW)).toEqual([E.emptyWeekly]);
    expect(validateCallHours({ ...valid(), weekly_operating_hours: undefined }, NOW)).toEqual([E.emptyWeekly]);
  });

  it('allows at most 2 entries per day', () => {
    const weekly = [
      { day_of_week: 'FRIDAY', open_time: '0800', close_time: '0900' },
      { day_of_week: 'FRIDAY', open_time: '1000', close_time: '1100' },
      { day_of_week: 'FRIDAY', open_time: '1200', close_time: '1300' },
    ];
    expect(validateCallHours({ ...valid(), weekly_operating_hours: weekly }, NOW)).toEqual([E.tooManyDayEntries]);
  });

  it('requires open_time before close_time', () => {
    const weekly = [{ day_of_week: 'MONDAY', open_time: '1800', close_time: '0900' }];
    expect(validateCallHours({ ...valid(), weekly_operating_hours: weekly }, NOW)).toEqual([E.invalidSchedule]);
    const equal = [{ day_of_week: 'MONDAY', open_time: '0900', close_time: '0900' }];
    expect(validateCallHours({ ...valid(), weekly_operating_hours: equal }, NOW)).toEqual([E.invalidSchedule]);
  });

  it('rejects overlapping entries on one day but allows touching ones', () => {
    const overlap = [
      { day_of_week: 'MONDAY', open_time: '0900', close_time: '1300' },
      { day_of_week: 'MONDAY', open_time: '1200', close_time: '1700' },
    ];
    expect(validateCallHours({ ...valid(), weekly_operating_hours: overlap }, NOW)).toEqual([E.overlapping]);
    const touching = [
      { day_of_week: 'MONDAY', open_time: '0900', close_time: '1200' },
      { day_of_week: 'MONDAY', open_time: '1200', close_time: '1700' },
    ];
    expect(validateCallHours({ ...valid(), weekly_operating_hours: touching }, NOW)).toEqual([]);
  });

  it('requires HHMM times (not "09:00", not "2400") and a known day_of_week', () => {
    for (const entry of [
      { day_of_week: 'MONDAY', open_time: '09:00', close_time: '1000' },
      { day_of_week: 'MONDAY', open_time: '0900', close_time: '2400' },
      { day_of_week: 'MONDAY', open_time: 900, close_time: '1000' },
      { day_of_week: 'FUNDAY', open_time: '0900', close_time: '1000' },
    ]) {
      expect(validateCallHours({ ...valid(), weekly_operating_hours: [entry] }, NOW)).toEqual([E.invalidSchedule]);
    }
    expect(parseHhmm('2359')).toBe(23 * 60 + 59);
    expect(parseHhmm('0960')).toBeUndefined();
  });

  it('allows at most 20 holidays', () => {
    const holidays = Array.from({ length: 21 }, (_, i) => ({ date: `2026-11-${String(i + 1).padStart(2, '0')}`, start_time: '0000', end_time: '2359' }));
    expect(validateCallHours({ ...valid(), holiday_schedule: holidays }, NOW)).toEqual([E.tooManyHolidays]);
    expect(validateCallHours({ ...valid(), holiday_schedule: holidays.slice(0, 20) }, NOW)).toEqual([]);
  });

  it('rejects holiday dates that are not YYYY-MM-DD calendar dates', () => {
    for (const date of ['2026/12/25', '25-12-2026', '2026-02-30', '2026-13-01', undefined]) {
      expect(validateCallHours({ ...valid(), holiday_schedule: [{ date, start_time: '0000', end_time: '2359' }] }, NOW))
        .toEqual([E.invalidHolidayDate]);
    }
    expect(isCalendarDate('2028-02-29')).toBe(true);
  });

  it('rejects past holidays, judged in the business time zone with the injected clock', () => {
    const h = (date: string) => ({ ...valid(), holiday_schedule: [{ date, start_time: '0000', end_time: '2359' }] });
    expect(validateCallHours(h('2026-06-14'), NOW)).toEqual([E.pastHoliday]);
    expect(validateCallHours(h('2026-06-15'), NOW)).toEqual([]); // today is not past
    // 2026-06-16 01:00 UTC is still 2026-06-15 in Manaus (UTC-4): the 15th is today there, not past.
    const earlyNextDayUtc = Date.UTC(2026, 5, 16, 1, 0, 0);
    expect(dateInZone(earlyNextDayUtc, 'America/Manaus')).toBe('2026-06-15');
    expect(validateCallHours(h('2026-06-15'), earlyNextDayUtc)).toEqual([]);
    expect(validateCallHours({ ...h('2026-06-15'), timezone_id: 'Asia/Tokyo' }, earlyNextDayUtc)).toEqual([E.pastHoliday]);
  });

  it('checks holiday times and accepts the open_time/close_time spelling too (a conflict in Meta\'s docs)', () => {
    expect(validateCallHours({ ...valid(), holiday_schedule: [{ date: '2026-12-25', start_time: '1200', end_time: '1100' }] }, NOW))
      .toEqual([E.invalidSchedule]);
    expect(validateCallHours({ ...valid(), holiday_schedule: [{ date: '2026-12-25', open_time: '0900', close_time: '1100' }] }, NOW))
      .toEqual([]);
  });

  it('reports every distinct problem once', () => {
    const bad = { status: 'X', timezone_id: 'Nowhere/Land', weekly_operating_hours: [] };
    expect(validateCallHours(bad, NOW)).toEqual([E.invalidStatus, E.invalidTimezone, E.emptyWeekly]);
    expect(validateCallHours('nope', NOW)).toEqual([E.invalidSchedule]);
  });
});

describe('validateCallingSettings', () => {
  it('accepts Meta\'s example and checks enums', () => {
    const ok = {
      status: 'ENABLED', call_icon_visibility: 'DEFAULT', callback_permission_status: 'ENABLED', call_hours: valid(),
      srtp_key_exchange_protocol: 'DTLS', audio: { additional_codecs: [] }, call_icons: { restrict_to_user_countries: ['US', 'BR'] },
      sip: { status: 'ENABLED', servers: [{ hostname: 'sip.example.com', port: 5061, request_uri_user_params: { tgrp: 'wacall' } }] },
    };
    expect(validateCallingSettings(ok, NOW)).toEqual([]);
    expect(validateCallingSettings({ status: 'ON' }, NOW)).toEqual(['Param status must be one of {ENABLED, DISABLED} - got "ON"']);
    expect(validateCallingSettings({ call_icon_visibility: 'DISABLE ALL' }, NOW)).toHaveLength(1);
    expect(validateCallingSettings({ audio: { additional_codecs: ['G729'] } }, NOW)).toHaveLength(1);
    expect(validateCallingSettings({ restrictions: {} }, NOW)).toEqual(['Unknown parameter calling.restrictions']);
    expect(validateCallingSettings({ sip: { servers: [{ hostname: 'sip.example.com', request_uri_user_params: { k: 'v'.repeat(129) } }] } }, NOW))
      .toHaveLength(1);
    expect(validateCallingSettings({ call_hours: { ...valid(), status: 'X' } }, NOW)).toEqual([E.invalidStatus]);
  });

  it('requires a SIP server while SIP is ENABLED (after merging)', () => {
    expect(validateMergedCallingSettings({ sip: { status: 'ENABLED', servers: [] } })).toHaveLength(1);
    expect(validateMergedCallingSettings({ sip: { status: 'DISABLED', servers: [] } })).toEqual([]);
  });
});
