import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DrachtioUasLeg } from '../../src/adapters/drachtio/uas-leg.js';
import type { SrfDialog, SrfLike, SrfRequest, SrfResponse } from '../../src/adapters/drachtio/srf-types.js';
import type { SipHangup } from '../../src/calls/ports/sip.js';

function fakeReq(headers: Record<string, string>): SrfRequest {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    method: 'INVITE', uri: 'sip:+447700900123@127.0.0.1', body: 'v=0\r\n', callId: 'c1', source_address: '127.0.0.1', source_port: 5062, protocol: 'udp',
    get: (n) => lower[n.toLowerCase()], has: (n) => n.toLowerCase() in lower,
    getParsedHeader: (n) => (n === 'from' ? { uri: 'sip:1001@127.0.0.1', name: '"Desk"' } : { uri: 'sip:+447700900123@127.0.0.1' }),
    on: () => undefined,
  };
}

function harness(headers: Record<string, string>) {
  const sent: { status: number; body?: string }[] = [];
  const res: SrfResponse = { finalResponseSent: false, send: (status, a) => { sent.push({ status, ...(typeof a === 'object' && a?.body ? { body: a.body } : {}) }); } };
  const byes: Record<string, string>[] = [];
  const dialog = Object.assign(new EventEmitter(), {
    connected: true, local: { sdp: 'v=0\r\nlocal' }, remote: { sdp: '' },
    destroy: async (o?: { headers?: Record<string, string> }) => { byes.push(o?.headers ?? {}); },
  }) as unknown as SrfDialog & EventEmitter;
  let uasHeaders: Record<string, string> | undefined;
  const srf = { createUAS: async (_q: SrfRequest, _s: SrfResponse, o: { headers?: Record<string, string> }) => { uasHeaders = o.headers; return dialog; } } as unknown as SrfLike;
  const leg = new DrachtioUasLeg(srf, fakeReq(headers), res, pino({ level: 'silent' }), { sessionExpiresS: 1800, minSeS: 90, optionsPingS: 0 });
  return { leg, sent, dialog, byes, uasHeaders: () => uasHeaders };
}

type Got = { status: number; body?: string; headers?: Record<string, string> };
function recorder(got: Got[]): SrfResponse {
  return {
    finalResponseSent: false,
    send: (status, a) => {
      const o = typeof a === 'object' ? a : undefined;
      got.push({ status, ...(o?.body ? { body: o.body } : {}), ...(o?.headers && Object.keys(o.headers).length ? { headers: o.headers } : {}) });
    },
  };
}
/** The call logic's refusal of a re-offer (src/calls/pbx-reoffer.ts): known to the adapter by name only. */
class ReofferRefused extends Error {
  override readonly name = 'ReofferRefused';
}
const inDialog = (body: string, headers: Record<string, string> = {}) => ({ body, get: (n: string) => headers[n] });

afterEach(() => { vi.useRealTimers(); });

describe('DrachtioUasLeg', () => {
  it('parses the caller and the dialed user', () => {
    const { leg } = harness({});
    expect(leg.from).toMatchObject({ user: '1001', displayName: 'Desk' });
    expect(leg.requestUser).toBe('+447700900123');
  });

  it('RFC 4028 §9: a PBX asking for session timers without a refresher is made the refresher', async () => {
    const { leg, uasHeaders } = harness({ 'Session-Expires': '1800', Supported: 'timer' });
    await leg.answer('v=0\r\nanswer', { 'X-WA-Call-Id': 'wacid.1' });
    expect(uasHeaders()).toMatchObject({ 'Session-Expires': '1800;refresher=uac', Require: 'timer', Supported: 'timer', 'X-WA-Call-Id': 'wacid.1' });
  });

  it('RFC 4028 §9: refresher=uas from the PBX is kept, and watrunk refreshes at half the interval', async () => {
    vi.useFakeTimers();
    const { leg, uasHeaders, dialog } = harness({ 'Session-Expires': '1800;refresher=uas', Supported: 'timer' });
    const refreshes: string[] = [];
    Object.assign(dialog, { request: async (r: { method: string }) => { refreshes.push(r.method); return { status: 200, get: () => undefined }; } });
    await leg.answer('v=0\r\nanswer');
    expect(uasHeaders()).toMatchObject({ 'Session-Expires': '1800;refresher=uas', Supported: 'timer' });
    expect(uasHeaders()).not.toHaveProperty('Require');
    await vi.advanceTimersByTimeAsync(900_000);
    expect(refreshes).toEqual(['INVITE']);
  });

  it('when the PBX stops refreshing, watrunk sends BYE and reports the PBX lost', async () => {
    vi.useFakeTimers();
    const { leg, byes } = harness({ 'Session-Expires': '90', Supported: 'timer' });
    const hangups: SipHangup[] = [];
    leg.onHangup((i) => hangups.push(i));
    await leg.answer('v=0\r\nanswer');
    await vi.advanceTimersByTimeAsync(59_000);
    expect(hangups).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(byes).toEqual([{ Reason: 'SIP;cause=408;text="session timer expired"' }]);
    expect(hangups).toEqual([{ headers: {}, lost: 'session_timer_expired' }]);
    await leg.hangup();
    expect(byes).toHaveLength(1);
  });

  it('without Session-Expires no timer headers are added', async () => {
    const { leg, uasHeaders } = harness({});
    await leg.answer('v=0\r\nanswer');
    expect(uasHeaders()).not.toHaveProperty('Session-Expires');
  });

  it('re-INVITE and UPDATE are answered locally; an UPDATE without SDP (refresh) gets 200', async () => {
    const { leg, dialog } = harness({});
    await leg.answer('v=0\r\nanswer');
    leg.onReoffer(async (sdp) => `answered:${sdp}`);
    const got: Got[] = [];
    dialog.emit('modify', inDialog('hold-offer'), recorder(got));
    dialog.emit('update', inDialog(''), recorder(got));
    await new Promise((r) => setImmediate(r));
    expect(got).toHaveLength(2);
    expect(got).toContainEqual({ status: 200 });
    expect(got).toContainEqual({ status: 200, body: 'answered:hold-offer', headers: { 'Content-Type': 'application/sdp' } });
    expect(dialog.local.sdp).toBe('answered:hold-offer');
  });

  it('a re-INVITE without SDP is answered with the current SDP as the offer, not passed on', async () => {
    const { leg, dialog } = harness({});
    await leg.answer('v=0\r\nanswer');
    let asked = false;
    leg.onReoffer(async () => { asked = true; return 'x'; });
    const got: Got[] = [];
    dialog.emit('modify', inDialog(''), recorder(got));
    expect(got).toEqual([{ status: 200, body: 'v=0\r\nlocal', headers: { 'Content-Type': 'application/sdp' } }]);
    expect(asked).toBe(false);
  });

  it('refreshes from a timer-using PBX are answered with Session-Expires and Require: timer', async () => {
    const { leg, dialog } = harness({ 'Session-Expires': '1800', Supported: 'timer' });
    await leg.answer('v=0\r\nanswer');
    const got: Got[] = [];
    dialog.emit('update', inDialog('', { 'Session-Expires': '1800;refresher=uac', Supported: 'timer' }), recorder(got));
    expect(got).toEqual([{ status: 200, headers: { 'Session-Expires': '1800;refresher=uac', Require: 'timer', Supported: 'timer' } }]);
  });

  it('a ReofferRefused is answered 488 with its reason in a Warning; other errors plain 488', async () => {
    const { leg, dialog } = harness({});
    await leg.answer('v=0\r\nanswer');
    const reasons = [new ReofferRefused('no "usable" codec \\ SRTP only'), new Error('boom')];
    leg.onReoffer(async () => { throw reasons.shift(); });
    const got: Got[] = [];
    dialog.emit('modify', inDialog('offer-1'), recorder(got));
    dialog.emit('modify', inDialog('offer-2'), recorder(got));
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([{ status: 488, headers: { Warning: '399 watrunk "no usable codec  SRTP only"' } }, { status: 488 }]);
  });

  it('a BYE from the PBX is reported with its Reason', async () => {
    const { leg, dialog } = harness({});
    await leg.answer('v=0\r\nanswer');
    let reason: string | undefined;
    leg.onHangup((info) => { reason = info.headers['Reason']; });
    dialog.emit('destroy', { get: (n: string) => (n === 'Reason' ? 'Q.850;cause=16' : undefined) });
    expect(reason).toBe('Q.850;cause=16');
  });
});
