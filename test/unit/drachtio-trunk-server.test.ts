import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { PbxTrunkServer } from '../../src/adapters/drachtio/pbx-trunk-server.js';
import type { SrfHandler, SrfHeaderOpts, SrfLike, SrfRequest, SrfResponse } from '../../src/adapters/drachtio/srf-types.js';
import type { PbxUasLeg } from '../../src/calls/ports/sip.js';
import type { TrunkDirectory } from '../../src/calls/trunk-directory.js';
import type { TrunkConfig } from '../../src/config/schema.js';

function invite(headers: Record<string, string>): SrfRequest {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    method: 'INVITE', uri: 'sip:+447700900123@127.0.0.1', body: 'v=0\r\n', callId: 'c1', source_address: '192.0.2.10', source_port: 5060, protocol: 'udp',
    get: (n) => lower[n.toLowerCase()], has: (n) => n.toLowerCase() in lower,
    getParsedHeader: () => ({ uri: 'sip:1001@192.0.2.10' }),
    on: () => undefined,
  };
}

/** A trunk server on a fake srf with one trunk without digest auth; returns what an INVITE got. */
async function offer(headers: Record<string, string>) {
  let handler: SrfHandler | undefined;
  const srf = { invite: (h: SrfHandler) => { handler = h; }, options: () => undefined } as unknown as SrfLike;
  const trunk = { name: 'pbx' } as TrunkConfig;
  const trunks = { identify: () => ({ kind: 'trunk', trunk }), knowsSource: () => true } as unknown as TrunkDirectory;
  const calls: PbxUasLeg[] = [];
  new PbxTrunkServer(srf, {
    trunks, passwords: new Map(), canTakeCalls: async () => ({ ok: true }),
    onCall: async (leg) => { calls.push(leg); },
    liveness: { sessionExpiresS: 1800, minSeS: 600, optionsPingS: 0 },
    logger: pino({ level: 'silent' }),
  }).install();
  const sent: { status: number; reason?: string; headers?: Record<string, string> }[] = [];
  const res: SrfResponse = {
    finalResponseSent: false,
    send: (status, reason, opts) => {
      const o = (typeof reason === 'object' ? reason : opts) as SrfHeaderOpts | undefined;
      sent.push({ status, ...(typeof reason === 'string' ? { reason } : {}), ...(o?.headers ? { headers: o.headers } : {}) });
    },
  };
  handler!(invite(headers), res);
  await new Promise((r) => setImmediate(r));
  return { sent, calls };
}

describe('PbxTrunkServer and RFC 4028 Min-SE', () => {
  it('answers 422 with our Min-SE to a PBX asking for a shorter Session-Expires', async () => {
    const { sent, calls } = await offer({ 'Session-Expires': '300;refresher=uac', Supported: 'timer' });
    expect(sent).toEqual([{ status: 422, reason: 'Session Interval Too Small', headers: { 'Min-SE': '600' } }]);
    expect(calls).toHaveLength(0);
  });

  it('takes the call when Session-Expires is at least Min-SE', async () => {
    const { sent, calls } = await offer({ 'Session-Expires': '600', Supported: 'timer' });
    expect(sent).toHaveLength(0);
    expect(calls).toHaveLength(1);
  });

  it('takes the call of a PBX without Supported: timer, which could not act on a 422', async () => {
    const { sent, calls } = await offer({ 'Session-Expires': '300' });
    expect(sent).toHaveLength(0);
    expect(calls).toHaveLength(1);
  });
});
