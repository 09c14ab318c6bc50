import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CALL_HOURS_ERRORS } from '../../src/calling-settings/call-hours.js';
import { BridgeStub, startSim, type TestSim } from '../support/simulator-fixtures.js';

/** GET/POST /settings (docs/whatsapp-calling.md#settings, #sip-mode) with an injected clock for "past" holidays. */

const NOW = Date.UTC(2026, 5, 15, 12, 0, 0);
let stub: BridgeStub;
let t: TestSim;

beforeEach(async () => {
  stub = await BridgeStub.start();
  t = await startSim(stub, {}, () => NOW);
});
afterEach(async () => {
  await t.sim.close();
  await stub.close();
});

const callHours = (extra: Record<string, unknown> = {}) => ({
  status: 'ENABLED', timezone_id: 'Europe/London',
  weekly_operating_hours: [{ day_of_week: 'MONDAY', open_time: '0900', close_time: '1730' }],
  holiday_schedule: [{ date: '2026-12-25', start_time: '0000', end_time: '2359' }],
  ...extra,
});

describe('simulator: settings', () => {
  it('starts with calling DISABLED and SIP DISABLED', async () => {
    const res = await t.graph('GET', '/settings');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ calling: { status: 'DISABLED', call_icon_visibility: 'DEFAULT', callback_permission_status: 'DISABLED', sip: { status: 'DISABLED', servers: [] } } });
  });

  it('round-trips a POST; the SIP password appears only with include_sip_credentials=true', async () => {
    const post = await t.graph('POST', '/settings', { calling: {
      status: 'ENABLED', call_hours: callHours(), srtp_key_exchange_protocol: 'SDES',
      sip: { status: 'ENABLED', servers: [{ hostname: 'sip.example.com', port: 5061, request_uri_user_params: { tgrp: 'wacall' } }] },
    } });
    expect(post).toEqual({ status: 200, body: { success: true } });
    const plain = (await t.graph('GET', '/settings')).body.calling;
    expect(plain).toMatchObject({ status: 'ENABLED', srtp_key_exchange_protocol: 'SDES', call_hours: callHours() });
    expect(plain.sip.servers).toEqual([{ hostname: 'sip.example.com', port: 5061, request_uri_user_params: { tgrp: 'wacall' }, app_id: '1000000000000001' }]);
    expect(JSON.stringify(plain)).not.toContain('sip_user_password');

    const withCreds = (await t.graph('GET', '/settings?include_sip_credentials=true')).body.calling;
    const password = withCreds.sip.servers[0].sip_user_password;
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    // deterministic per number + server
    expect((await t.graph('GET', '/settings?include_sip_credentials=true')).body.calling.sip.servers[0].sip_user_password).toBe(password);
    await t.graph('POST', '/settings', { calling: { sip: { servers: [{ hostname: 'other.example.com' }] } } });
    const other = (await t.graph('GET', '/settings?include_sip_credentials=true')).body.calling.sip.servers;
    expect(other).toHaveLength(1);
    expect(other[0]).toMatchObject({ hostname: 'other.example.com', port: 5061 });
    expect(other[0].sip_user_password).not.toBe(password);
  });

  it('a POST with call_hours but no holiday_schedule deletes the holidays; other keys are kept', async () => {
    await t.graph('POST', '/settings', { calling: { status: 'ENABLED', call_hours: callHours() } });
    const { holiday_schedule: _h, ...withoutHolidays } = callHours();
    await t.graph('POST', '/settings', { calling: { call_hours: withoutHolidays } });
    const calling = (await t.graph('GET', '/settings')).body.calling;
    expect(calling.call_hours.holiday_schedule).toBeUndefined();
    expect(calling.status).toBe('ENABLED');
    await t.graph('POST', '/settings', { calling: { callback_permission_status: 'ENABLED' } });
    expect((await t.graph('GET', '/settings')).body.calling.call_hours).toEqual(withoutHolidays);
  });

  it('answers invalid settings with code 100 carrying Meta\'s texts, and changes nothing', async () => {
    const past = await t.graph('POST', '/settings', { calling: { call_hours: callHours({ holiday_schedule: [{ date: '2026-06-14', start_time: '0000', end_time: '2359' }] }) } });
    expect(past.status).toBe(400);
    expect(past.body.error.code).toBe(100);
    expect(past.body.error.message).toBe(`(#100) ${CALL_HOURS_ERRORS.pastHoliday}`);
    const overlapping = await t.graph('POST', '/settings', { calling: { status: 'ENABLED', call_hours: callHours({
      timezone_id: 'Nowhere/Land',
      weekly_operating_hours: [
        { day_of_week: 'MONDAY', open_time: '0900', close_time: '1300' },
        { day_of_week: 'MONDAY', open_time: '1200', close_time: '1700' },
      ],
    }) } });
    expect(overlapping.body.error.error_data.details).toBe(`${CALL_HOURS_ERRORS.invalidTimezone}; ${CALL_HOURS_ERRORS.overlapping}`);
    expect((await t.graph('GET', '/settings')).body.calling.status).toBe('DISABLED');
    expect((await t.graph('POST', '/settings', {})).body.error.message).toMatch(/parameter calling is required/);
    expect((await t.graph('POST', '/settings', { calling: { status: 'MAYBE' } })).status).toBe(400);
  });

  it('refuses SIP ENABLED without a server, and SIP blocks Graph calls (131055) until disabled', async () => {
    const noServer = await t.graph('POST', '/settings', { calling: { sip: { status: 'ENABLED', servers: [] } } });
    expect(noServer.body.error.code).toBe(100);
    await t.graph('POST', '/settings', { calling: { sip: { status: 'ENABLED', servers: [{ hostname: 'sip.example.com' }] } } });
    expect((await t.connect('447700900123')).body.error.code).toBe(131055);
    await expect(t.sim.startUserCall({ from: '447700900123' })).rejects.toThrow(/SIP is enabled/);
    await t.graph('POST', '/settings', { calling: { sip: { status: 'DISABLED' } } });
    expect((await t.connect('447700900123')).status).toBe(200);
  });

  it('callback permission: a user who calls grants a temporary permission (automatic, context = wacid)', async () => {
    await t.graph('POST', '/settings', { calling: { status: 'ENABLED', callback_permission_status: 'ENABLED' } });
    const { callId } = await t.sim.startUserCall({ from: '447700900888' });
    await t.action('reject', callId);
    await stub.waitFor(() => stub.summaries().includes('permission_reply:accept'));
    const msg = stub.values().at(-1).messages[0];
    expect(msg.context.id).toBe(callId);
    expect(msg.interactive.call_permission_reply.response_source).toBe('automatic');
  });

  it('/_sim/reset restores the configured settings', async () => {
    await t.graph('POST', '/settings', { calling: { status: 'ENABLED' } });
    expect((await t.control('POST', '/_sim/reset')).body).toEqual({ ok: true });
    expect((await t.graph('GET', '/settings')).body.calling.status).toBe('DISABLED');
  });
});
