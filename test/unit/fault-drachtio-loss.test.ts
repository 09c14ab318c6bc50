/**
 * The drachtio adapter when its connection to drachtio-server closes (src/adapters/drachtio/
 * connection-loss.ts), with a fake SIP stack: every transaction and dialog made on the connection is
 * gone, so each leg ends its call at once instead of leaving a billed WhatsApp call up. The same with
 * a real drachtio-server is test/e2e/fault-drachtio.test.ts (which skips without the binary).
 */
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { connectionLossWatchers } from '../../src/adapters/drachtio/connection-loss.js';
import type { SrfDialog, SrfLike, SrfRequest, SrfResponse } from '../../src/adapters/drachtio/srf-types.js';
import { DrachtioPbxDialer } from '../../src/adapters/drachtio/uac-leg.js';
import { DrachtioUasLeg } from '../../src/adapters/drachtio/uas-leg.js';
import { SipFailure, type SipHangup } from '../../src/calls/ports/sip.js';

const log = pino({ level: 'silent' });
const liveness = { sessionExpiresS: 0, minSeS: 90, optionsPingS: 0 };

function fakeDialog(): SrfDialog & EventEmitter {
  return Object.assign(new EventEmitter(), {
    connected: true, local: { sdp: 'v=0\r\nlocal' }, remote: { sdp: 'v=0\r\nremote' }, res: { get: () => undefined },
    destroy: async () => { throw new Error('provided socket has been destroyed'); },
    request: async () => { throw new Error('provided socket has been destroyed'); },
  }) as unknown as SrfDialog & EventEmitter;
}

/** A SIP stack whose connection the test closes; createUAC never settles unless told to. */
function fakeSrf() {
  let answerUac: ((d: SrfDialog) => void) | undefined;
  const srf = Object.assign(new EventEmitter(), {
    createUAS: async () => fakeDialog(),
    createUAC: (_uri: string, _o: unknown, cb: { cbRequest?: (e: unknown, r: { cancel(): void }) => void }) => {
      cb.cbRequest?.(null, { cancel: () => undefined });
      return new Promise<SrfDialog>((resolve) => { answerUac = resolve; });
    },
  });
  return { srf: srf as unknown as SrfLike & EventEmitter, answerUac: () => answerUac!(fakeDialog()) };
}

function uasLeg(srf: SrfLike) {
  const req: SrfRequest = {
    method: 'INVITE', uri: 'sip:+447700900123@127.0.0.1', body: 'v=0\r\n', callId: 'c1', source_address: '127.0.0.1', source_port: 5062, protocol: 'udp',
    get: () => undefined, has: () => false, getParsedHeader: () => ({ uri: 'sip:1001@127.0.0.1' }), on: () => undefined,
  };
  const res: SrfResponse = { finalResponseSent: false, send: (status) => { if (status >= 200) res.finalResponseSent = true; } };
  return new DrachtioUasLeg(srf, req, res, log, liveness);
}

const invite = { uri: 'sip:1000@127.0.0.1:5080', sdp: 'v=0\r\n', callingNumber: '+447700900150', headers: {} };

describe('drachtio adapter: the drachtio-server connection closes', () => {
  it('a PBX INVITE not answered yet: the call hears a CANCEL', () => {
    const { srf } = fakeSrf();
    const leg = uasLeg(srf);
    let cancelled = 0;
    leg.onCancel(() => { cancelled += 1; });
    srf.emit('close');
    expect(cancelled).toBe(1);
    expect(connectionLossWatchers(srf)).toBe(0);
  });

  it('an answered PBX call (either direction): the call hears a hangup with a Reason, no BYE is tried', async () => {
    const { srf, answerUac } = fakeSrf();
    const uas = uasLeg(srf);
    const uasHangups: SipHangup[] = [];
    uas.onHangup((h) => uasHangups.push(h));
    await uas.answer('v=0\r\nanswer');
    const uac = new DrachtioPbxDialer(srf, () => true, log, liveness).dial(invite);
    const uacHangups: SipHangup[] = [];
    uac.onHangup((h) => uacHangups.push(h));
    const answered = uac.invite({ onProgress: () => undefined });
    answerUac();
    await answered;
    expect(connectionLossWatchers(srf)).toBe(2); // one per dialog, none left from the INVITEs
    srf.emit('close');
    for (const h of [uasHangups, uacHangups]) {
      expect(h).toEqual([{ headers: { Reason: expect.stringMatching(/^SIP;cause=503;text="drachtio-server connection lost"/) }, lost: 'sip_connection_lost' }]);
    }
    await uas.hangup(); // a later hangup from the call logic is a no-op
    expect(connectionLossWatchers(srf)).toBe(0);
  });

  it('watrunk\'s INVITE to the PBX still ringing: it fails with 503 at once', async () => {
    const { srf } = fakeSrf();
    const leg = new DrachtioPbxDialer(srf, () => true, log, liveness).dial(invite);
    const ringing = leg.invite({ onProgress: () => undefined });
    srf.emit('close');
    await expect(ringing).rejects.toEqual(new SipFailure(503, 'drachtio-server connection lost'));
    expect(connectionLossWatchers(srf)).toBe(0);
  });

  it('legs that end normally stop watching: nothing accumulates over many calls', async () => {
    const { srf } = fakeSrf();
    for (let i = 0; i < 50; i++) {
      uasLeg(srf); // refused before any call listened (401 challenge, 403, 503): never watched
      const rejected = uasLeg(srf);
      rejected.onCancel(() => undefined);
      rejected.reject(486);
      const answered = uasLeg(srf);
      answered.onCancel(() => undefined);
      await answered.answer('v=0\r\n');
      await answered.hangup();
    }
    expect(connectionLossWatchers(srf)).toBe(0);
  });
});
