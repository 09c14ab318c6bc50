import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DrachtioUacLeg } from '../../src/adapters/drachtio/uac-leg.js';
import { PbxDialog } from '../../src/adapters/drachtio/pbx-dialog.js';
import type { TimerState } from '../../src/adapters/drachtio/session-timer.js';
import type { SrfDialog, SrfIncomingResponse, SrfUac } from '../../src/adapters/drachtio/srf-types.js';
import { SipFailure, type SipHangup, type SipLivenessConfig } from '../../src/calls/ports/sip.js';

const log = pino({ level: 'silent' });
const S = 1000;

function headers(h: Record<string, string>) {
  const lower = Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
  return { get: (n: string) => lower[n.toLowerCase()] };
}
const response = (status: number, h: Record<string, string> = {}): SrfIncomingResponse => ({ status, ...headers(h) });
const NEVER = new Promise<SrfIncomingResponse>(() => undefined);

type Sent = { method: string; headers?: Record<string, string>; body?: string };

/** An srf Dialog: records in-dialog requests and BYEs; `answers` decides each request's final response. */
function fakeDialog(res200: Record<string, string> = {}) {
  const requests: Sent[] = [];
  const byes: Record<string, string>[] = [];
  const answers: ((r: Sent) => Promise<SrfIncomingResponse>)[] = [];
  const dialog = Object.assign(new EventEmitter(), {
    connected: true,
    local: { sdp: 'v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\nlocal', contact: '<sip:wa@10.0.0.1>' },
    remote: { sdp: 'v=0\r\npbx' },
    res: headers(res200),
    request: (r: Sent) => { requests.push(r); return (answers.shift() ?? (async () => response(200)))(r); },
    destroy: async (o?: { headers?: Record<string, string> }) => { byes.push(o?.headers ?? {}); dialog.connected = false; },
  });
  return { dialog: dialog as unknown as SrfDialog & EventEmitter, requests, byes, answers };
}

function watch(timer: TimerState | undefined, liveness: Partial<SipLivenessConfig> = {}) {
  const f = fakeDialog();
  const hangups: SipHangup[] = [];
  const pbx = new PbxDialog(f.dialog, {
    log, liveness: { sessionExpiresS: 1800, minSeS: 90, optionsPingS: 0, ...liveness }, timer,
    onHangup: () => (i) => hangups.push(i), onReoffer: () => undefined,
  });
  return { ...f, hangups, pbx };
}

function refreshes(requests: Sent[]) {
  return requests.filter((r) => r.method === 'INVITE');
}

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

describe('session timer, the PBX refreshes (watrunk watches)', () => {
  it('ends the call with BYE and lost after interval - min(32, interval/3) without a refresh', async () => {
    const { byes, hangups } = watch({ intervalS: 1800, refresher: 'pbx' });
    await vi.advanceTimersByTimeAsync(1767 * S);
    expect(byes).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(2 * S);
    expect(byes).toEqual([{ Reason: 'SIP;cause=408;text="session timer expired"' }]);
    expect(hangups).toEqual([{ headers: {}, lost: 'session_timer_expired' }]);
  });

  it('uses interval/3 as the margin for short intervals (90 s -> 60 s)', async () => {
    const { byes } = watch({ intervalS: 90, refresher: 'pbx' });
    await vi.advanceTimersByTimeAsync(59 * S);
    expect(byes).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(2 * S);
    expect(byes).toHaveLength(1);
  });

  it('every re-INVITE or UPDATE from the PBX restarts the watch and is answered with the timer headers', async () => {
    const { dialog, byes, hangups } = watch({ intervalS: 1800, refresher: 'pbx' });
    const sent: { status: number; headers?: Record<string, string> }[] = [];
    const res = { finalResponseSent: false, send: (status: number, o?: { headers?: Record<string, string> }) => { sent.push({ status, headers: o?.headers }); } };
    await vi.advanceTimersByTimeAsync(1000 * S);
    dialog.emit('update', { body: '', ...headers({ 'Session-Expires': '1800;refresher=uac', Supported: 'timer' }) }, res);
    await vi.advanceTimersByTimeAsync(1000 * S);
    dialog.emit('modify', { body: '', ...headers({ Supported: 'timer' }) }, res);
    await vi.advanceTimersByTimeAsync(1767 * S);
    expect(byes).toHaveLength(0);
    expect(hangups).toHaveLength(0);
    expect(sent.map((s) => s.status)).toEqual([200, 200]);
    expect(sent[0]!.headers).toMatchObject({ 'Session-Expires': '1800;refresher=uac', Require: 'timer' });
    await vi.advanceTimersByTimeAsync(2 * S);
    expect(byes).toHaveLength(1);
  });

  it('timers stop when the PBX sends BYE', async () => {
    const { dialog, byes, hangups } = watch({ intervalS: 90, refresher: 'pbx' });
    dialog.emit('destroy', { get: () => undefined });
    await vi.advanceTimersByTimeAsync(3600 * S);
    expect(byes).toHaveLength(0);
    expect(hangups).toEqual([{ headers: {} }]);
  });
});

describe('session timer, watrunk refreshes', () => {
  it('re-INVITEs with the unchanged local SDP at half the interval', async () => {
    const { requests, dialog } = watch({ intervalS: 1800, refresher: 'us' });
    await vi.advanceTimersByTimeAsync(899 * S);
    expect(requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1 * S);
    expect(requests).toEqual([{
      method: 'INVITE', body: dialog.local.sdp,
      headers: expect.objectContaining({ 'Session-Expires': '1800;refresher=uac', Supported: 'timer', 'Min-SE': '90', Contact: '<sip:wa@10.0.0.1>' }),
    }]);
    await vi.advanceTimersByTimeAsync(900 * S);
    expect(refreshes(requests)).toHaveLength(2);
  });

  it.each([408, 481])('a refresh answered %i ends the call: BYE and lost', async (status) => {
    const { answers, byes, hangups, pbx } = watch({ intervalS: 1800, refresher: 'us' });
    answers.push(async () => response(status));
    await vi.advanceTimersByTimeAsync(900 * S);
    expect(byes).toEqual([{ Reason: 'SIP;cause=408;text="session refresh failed"' }]);
    expect(hangups).toEqual([{ headers: {}, lost: 'session_timer_expired' }]);
    await pbx.hangup({ Reason: 'Q.850;cause=16' });
    expect(byes).toHaveLength(1);
  });

  it('a refresh with no answer within 32 s ends the call', async () => {
    const { answers, byes, hangups } = watch({ intervalS: 1800, refresher: 'us' });
    answers.push(() => NEVER);
    await vi.advanceTimersByTimeAsync(931 * S);
    expect(byes).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1 * S);
    expect(byes).toHaveLength(1);
    expect(hangups[0]?.lost).toBe('session_timer_expired');
  });

  it('491 does not end the call: the refresh is retried within 4 s', async () => {
    const { answers, byes, requests, hangups } = watch({ intervalS: 1800, refresher: 'us' });
    answers.push(async () => response(491));
    await vi.advanceTimersByTimeAsync(904 * S);
    expect(refreshes(requests)).toHaveLength(2);
    expect(byes).toHaveLength(0);
    expect(hangups).toHaveLength(0);
  });

  it('500 does not end the call; 501 stops refreshing', async () => {
    const { answers, byes, requests } = watch({ intervalS: 1800, refresher: 'us' });
    answers.push(async () => response(500), async () => response(501));
    await vi.advanceTimersByTimeAsync((900 + 450) * S);
    expect(refreshes(requests)).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(7200 * S);
    expect(refreshes(requests)).toHaveLength(2);
    expect(byes).toHaveLength(0);
  });

  it('a 2xx naming refresher=uas hands refreshing to the PBX, which is then watched', async () => {
    const { answers, byes, pbx } = watch({ intervalS: 1800, refresher: 'us' });
    answers.push(async () => response(200, { 'Session-Expires': '600;refresher=uas' }));
    await vi.advanceTimersByTimeAsync(900 * S);
    expect(pbx.sessionTimer).toEqual({ intervalS: 600, refresher: 'pbx' });
    await vi.advanceTimersByTimeAsync(567 * S);
    expect(byes).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1 * S);
    expect(byes).toEqual([{ Reason: 'SIP;cause=408;text="session timer expired"' }]);
  });
});

describe('OPTIONS probe', () => {
  it('any answer (200, 405) means the PBX is alive; 481 ends the call', async () => {
    const { answers, requests, byes, hangups } = watch(undefined, { optionsPingS: 30 });
    answers.push(async () => response(200), async () => response(405), async () => response(481));
    await vi.advanceTimersByTimeAsync(60 * S);
    expect(requests.map((r) => r.method)).toEqual(['OPTIONS', 'OPTIONS']);
    expect(byes).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(30 * S);
    expect(byes).toEqual([{ Reason: 'SIP;cause=408;text="OPTIONS probe failed"' }]);
    expect(hangups).toEqual([{ headers: {}, lost: 'options_probe_failed' }]);
  });

  it('no answer within 32 s ends the call', async () => {
    const { answers, byes, hangups } = watch(undefined, { optionsPingS: 30 });
    answers.push(() => NEVER);
    await vi.advanceTimersByTimeAsync(61 * S);
    expect(byes).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1 * S);
    expect(hangups).toEqual([{ headers: {}, lost: 'options_probe_failed' }]);
  });

  it('is off when options_ping_s is 0', async () => {
    const { requests } = watch(undefined, { optionsPingS: 0 });
    await vi.advanceTimersByTimeAsync(3600 * S);
    expect(requests).toHaveLength(0);
  });
});

describe('DrachtioUacLeg session timer negotiation', () => {
  function dial(outcomes: (() => Promise<SrfDialog>)[], liveness: Partial<SipLivenessConfig> = {}) {
    const invites: Record<string, string>[] = [];
    const srf: SrfUac = {
      createUAC: (_uri, o) => { invites.push({ ...o.headers }); return outcomes.shift()!(); },
    };
    const leg = new DrachtioUacLeg(srf, { uri: 'sip:1000@pbx', sdp: 'v=0\r\noffer', callingNumber: '+447700900123', headers: {} }, log,
      { sessionExpiresS: 1800, minSeS: 90, optionsPingS: 0, ...liveness });
    return { leg, invites };
  }
  const sipError = (status: number, h: Record<string, string> = {}) => Object.assign(new Error('Sip non-success response'), { status, reason: 'x', res: headers(h) });

  it('asks for a timer with watrunk as refresher, and refreshes when the 200 has no Session-Expires', async () => {
    const f = fakeDialog();
    const { leg, invites } = dial([async () => f.dialog]);
    await leg.invite({ onProgress: () => undefined });
    expect(invites[0]).toMatchObject({ Supported: 'timer', 'Session-Expires': '1800;refresher=uac', 'Min-SE': '90' });
    await vi.advanceTimersByTimeAsync(900 * S);
    expect(refreshes(f.requests)).toHaveLength(1);
  });

  it('a 200 with refresher=uas makes the PBX the refresher', async () => {
    const f = fakeDialog({ 'Session-Expires': '1800;refresher=uas' });
    const { leg } = dial([async () => f.dialog]);
    await leg.invite({ onProgress: () => undefined });
    await vi.advanceTimersByTimeAsync(1769 * S);
    expect(f.requests).toHaveLength(0);
    expect(f.byes).toHaveLength(1);
  });

  it('422 is retried once with Session-Expires raised to its Min-SE', async () => {
    const f = fakeDialog({ 'Session-Expires': '3600;refresher=uac' });
    const { leg, invites } = dial([async () => { throw sipError(422, { 'Min-SE': '3600' }); }, async () => f.dialog]);
    await leg.invite({ onProgress: () => undefined });
    expect(invites).toHaveLength(2);
    expect(invites[1]).toMatchObject({ 'Session-Expires': '3600;refresher=uac', 'Min-SE': '3600' });
    await vi.advanceTimersByTimeAsync(1800 * S);
    expect(refreshes(f.requests)[0]?.headers).toMatchObject({ 'Session-Expires': '3600;refresher=uac', 'Min-SE': '3600' });
  });

  it('a second 422 is a failure', async () => {
    const { leg, invites } = dial([
      async () => { throw sipError(422, { 'Min-SE': '3600' }); },
      async () => { throw sipError(422, { 'Min-SE': '7200' }); },
    ]);
    await expect(leg.invite({ onProgress: () => undefined })).rejects.toEqual(new SipFailure(422, 'x'));
    expect(invites).toHaveLength(2);
  });

  it('with session_timer.expires_s 0 the INVITE carries no timer headers and nothing is refreshed', async () => {
    const f = fakeDialog();
    const { leg, invites } = dial([async () => f.dialog], { sessionExpiresS: 0 });
    await leg.invite({ onProgress: () => undefined });
    expect(invites[0]).not.toHaveProperty('Session-Expires');
    await vi.advanceTimersByTimeAsync(7200 * S);
    expect(f.requests).toHaveLength(0);
  });
});
