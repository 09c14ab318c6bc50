import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { PbxTrunkServer } from '../../src/adapters/drachtio/pbx-trunk-server.js';
import type { SrfHandler, SrfHeaderOpts, SrfLike, SrfRequest, SrfResponse } from '../../src/adapters/drachtio/srf-types.js';
import type { PbxInvite } from '../../src/calls/ports/sip.js';
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
async function offer(headers: Record<string, string>, known = true) {
  let handler: SrfHandler | undefined;
  const srf = { invite: (h: SrfHandler) => { handler = h; }, options: () => undefined } as unknown as SrfLike;
  const trunk = { name: 'pbx' } as TrunkConfig;
  const trunks = { identify: () => (known ? { kind: 'trunk', trunk } : { kind: 'unknown' }), knowsSource: () => known } as unknown as TrunkDirectory;
  const invites: PbxInvite[] = [];
  new PbxTrunkServer(srf, {
    trunks, passwords: new Map(),
    onInvite: async (invite) => { invites.push(invite); },
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
  return { sent, invites, trunk };
}

describe('PbxTrunkServer: every INVITE goes to the call logic as a PbxInvite', () => {
  it('carries the Session-Expires the PBX asked for and whether it said Supported: timer (the 422 is the checks\' to give)', async () => {
    const a = await offer({ 'Session-Expires': '300;refresher=uac', Supported: 'timer' });
    expect(a.sent).toEqual([]);
    expect(a.invites[0]!.sessionTimer).toEqual({ seconds: 300, timerSupported: true });
    const b = await offer({ 'Session-Expires': '300' });
    expect(b.invites[0]!.sessionTimer).toEqual({ seconds: 300, timerSupported: false });
    const c = await offer({});
    expect(c.invites[0]!.sessionTimer).toBeUndefined();
  });

  it('identifies a known trunk by source', async () => {
    const { invites, trunk, sent } = await offer({});
    expect(await invites[0]!.identifyTrunk()).toBe(trunk);
    expect(sent).toEqual([]);
  });

  it('answers an unknown source 403 with a Warning, and tells the checks it has answered', async () => {
    const { invites, sent } = await offer({}, false);
    expect(await invites[0]!.identifyTrunk()).toBeUndefined();
    expect(sent).toEqual([{ status: 403, reason: 'Forbidden', headers: { Warning: expect.stringMatching(/^399 watrunk "unknown trunk/) } }]);
  });
});
