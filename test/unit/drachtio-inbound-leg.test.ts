import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { DrachtioInboundLeg } from '../../src/adapters/drachtio/inbound-leg.js';
import type { SrfDialog, SrfLike, SrfRequest, SrfResponse } from '../../src/adapters/drachtio/srf-types.js';

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
  const dialog = Object.assign(new EventEmitter(), { connected: true, local: { sdp: 'v=0\r\nlocal' }, remote: { sdp: '' }, destroy: async () => undefined }) as unknown as SrfDialog & EventEmitter;
  let uasHeaders: Record<string, string> | undefined;
  const srf = { createUAS: async (_q: SrfRequest, _s: SrfResponse, o: { headers?: Record<string, string> }) => { uasHeaders = o.headers; return dialog; } } as unknown as SrfLike;
  const leg = new DrachtioInboundLeg(srf, fakeReq(headers), res, pino({ level: 'silent' }));
  return { leg, sent, dialog, uasHeaders: () => uasHeaders };
}

describe('DrachtioInboundLeg', () => {
  it('parses the caller and the dialed user', () => {
    const { leg } = harness({});
    expect(leg.from).toMatchObject({ user: '1001', displayName: 'Desk' });
    expect(leg.requestUser).toBe('+447700900123');
  });

  it('RFC 4028: a PBX asking for session timers is made the refresher, so watrunk never lets one expire', async () => {
    const { leg, uasHeaders } = harness({ 'Session-Expires': '1800;refresher=uas', Supported: 'timer' });
    await leg.answer('v=0\r\nanswer', { 'X-WA-Call-Id': 'wacid.1' });
    expect(uasHeaders()).toMatchObject({ 'Session-Expires': '1800;refresher=uac', Require: 'timer', 'X-WA-Call-Id': 'wacid.1' });
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
    const got: { status: number; body?: string }[] = [];
    const res = (): SrfResponse => ({ finalResponseSent: false, send: (status, a) => { got.push({ status, ...(typeof a === 'object' && a?.body ? { body: a.body } : {}) }); } });
    dialog.emit('modify', { body: 'hold-offer' }, res());
    dialog.emit('update', { body: '' }, res());
    await new Promise((r) => setImmediate(r));
    expect(got).toHaveLength(2);
    expect(got).toContainEqual({ status: 200 });
    expect(got).toContainEqual({ status: 200, body: 'answered:hold-offer' });
    expect(dialog.local.sdp).toBe('answered:hold-offer');
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
