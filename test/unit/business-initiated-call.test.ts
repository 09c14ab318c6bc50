import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CallRegistry } from '../../src/calls/call-registry.js';
import { GRAPH_ERROR_TABLE } from '../../src/calls/failure-mapping.js';
import type { BusinessInitiatedCall, BusinessInitiatedTiming } from '../../src/calls/business-initiated-call.js';
import { PbxAdmission } from '../../src/calls/pbx-admission.js';
import { PbxCallIntake, type PbxCallIntakeDeps } from '../../src/calls/pbx-call-intake.js';
import { numberSchema, trunkSchema } from '../../src/config/schema.js';
import { Metrics } from '../../src/metrics.js';
import { ProviderError } from '../../src/calls/ports/whatsapp-errors.js';
import type { CallEvent, CallTerminated } from '../../src/calls/ports/whatsapp-events.js';
import { FakeMediaEngine, PBX_ANSWER } from '../support/fakes/fake-media.js';
import { FakePbxUasLeg } from '../support/fakes/fake-pbx-uas-leg.js';
import { FakeWhatsAppCalls, graphError } from '../support/fakes/fake-whatsapp.js';
import { inviteFrom } from '../support/fakes/fake-pbx-invite.js';
import { NumberDirectory } from '../../src/calls/number-directory.js';
import { OverloadGuard } from '../../src/calls/overload-guard.js';

const WA_ANSWER = 'v=0\r\no=- 9 2 IN IP4 31.13.65.130\r\ns=-\r\nt=0 0\r\na=ice-lite\r\nm=audio 3482 UDP/TLS/RTP/SAVPF 111 126\r\n';
const PNID = '105615555715855';

function harness(opts: { timing?: Partial<BusinessInitiatedTiming>; trunk?: Record<string, unknown>; maxConcurrent?: number; gate?: PbxCallIntakeDeps['permissionGate']; overload?: OverloadGuard } = {}) {
  const number = numberSchema.parse({ name: 'sales', phone_number_id: PNID, display_number: '15551112222', access_token_env: 'T', max_concurrent_calls: opts.maxConcurrent ?? 1000 });
  const trunk = trunkSchema.parse({ name: 'pbx1', sources: ['127.0.0.1'], numbers: ['sales'], ...opts.trunk });
  const wa = new FakeWhatsAppCalls();
  const media = new FakeMediaEngine();
  const registry = new CallRegistry({ holdMs: 5_000 });
  const metrics = new Metrics();
  const admission = new PbxAdmission(new NumberDirectory([number]), (n) => registry.countForNumber(n));
  const timing: BusinessInitiatedTiming = { noAnswerTimeoutMs: 60_000, mediaPollMs: 5, answerOnFirstMedia: true, firstMediaPackets: 3, ...opts.timing };
  const intake = new PbxCallIntake({
    admission, registry, media, timing, metrics,
    numbers: new Map([['sales', { config: number, calls: wa }]]),
    logger: pino({ level: 'silent' }),
    newId: (() => { let i = 0; return () => `wt-${++i}`; })(),
    ...(opts.gate ? { permissionGate: opts.gate } : {}),
    ...(opts.overload ? { overload: opts.overload } : {}),
  });
  const base = { phoneNumberId: PNID, timestamp: 1767168000, user: { number: '447700900123' } };
  const ev = {
    answered: (callId = 'wacid.TEST1', trackingData?: string): CallEvent => ({ ...base, kind: 'call.answered', direction: 'BUSINESS_INITIATED', callId, businessNumber: '15551112222', sdpAnswer: WA_ANSWER, ...(trackingData ? { trackingData } : {}) }),
    ringing: (callId = 'wacid.TEST1'): CallEvent => ({ ...base, kind: 'call.ringing', callId }),
    accepted: (callId = 'wacid.TEST1'): CallEvent => ({ ...base, kind: 'call.accepted', callId }),
    rejected: (callId = 'wacid.TEST1'): CallEvent => ({ ...base, kind: 'call.rejected', callId }),
    terminated: (extra: Partial<CallTerminated> = {}, callId = 'wacid.TEST1'): CallEvent => ({ ...base, kind: 'call.terminated', callId, status: 'COMPLETED', errors: [], ...extra }),
  };
  async function place(leg = new FakePbxUasLeg()) {
    const call = (await intake.handleInvite(inviteFrom(leg, trunk))) as BusinessInitiatedCall;
    return { leg, call };
  }
  /** Routes like the bridge does, then waits for the call to process it. */
  async function deliver(e: CallEvent, call?: BusinessInitiatedCall) {
    registry.route(e);
    if (call) await settle(call);
  }
  return { wa, media, registry, metrics, intake, trunk, ev, place, deliver };
}

async function settle(call: BusinessInitiatedCall): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setImmediate(r));
    await call.idle();
  }
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('BusinessInitiatedCall: PBX -> WhatsApp happy path', () => {
  it('connects, plays early media, answers on ACCEPTED, and BYEs with Reason and duration on terminate', async () => {
    const h = harness({ timing: { answerOnFirstMedia: false } });
    const { leg, call } = await h.place();
    expect(h.wa.actions[0]).toMatchObject({ action: 'connect', req: { to: '447700900123', trackingData: 'wt-1' } });
    expect(call.state).toBe('ringing');

    await h.deliver(h.ev.answered(), call);
    expect(leg.responses[0]).toMatchObject({ status: 183, sdp: PBX_ANSWER, headers: { 'X-WA-Call-Id': 'wacid.TEST1' } });
    expect(call.state).toBe('early_media');

    await h.deliver(h.ev.accepted(), call);
    expect(leg.statuses).toEqual([183, 200]);
    expect(leg.responses[1]!.sdp).toBe(PBX_ANSWER);

    await h.deliver(h.ev.terminated({ durationS: 42, startTime: 1, endTime: 43 }), call);
    expect(leg.byes).toHaveLength(1);
    expect(leg.byes[0]!['Reason']).toMatch(/^Q\.850;cause=16/);
    expect(leg.byes[0]!['X-WA-Call-Duration']).toBe('42');
    expect(h.wa.count('terminate')).toBe(0); // WhatsApp ended it: nothing to terminate
    expect(call.state).toBe('ended');
    expect(h.media.openSessions()).toEqual([]);
    expect(h.registry.size).toBe(0);
  });

  it('RINGING before the SDP answer sends 180, then 183 with SDP', async () => {
    const h = harness({ timing: { answerOnFirstMedia: false } });
    const { leg, call } = await h.place();
    await h.deliver(h.ev.ringing(), call);
    await h.deliver(h.ev.answered(), call);
    expect(leg.statuses).toEqual([180, 183]);
    expect(leg.responses[0]!.sdp).toBeUndefined();
  });

  it('RINGING after early media sends no 180', async () => {
    const h = harness({ timing: { answerOnFirstMedia: false } });
    const { leg, call } = await h.place();
    await h.deliver(h.ev.answered(), call);
    await h.deliver(h.ev.ringing(), call);
    expect(leg.statuses).toEqual([183]);
  });
});

describe('BusinessInitiatedCall: answer trigger (ACCEPTED or first media, whichever first)', () => {
  it('answers on the first media from WhatsApp, before ACCEPTED', async () => {
    const h = harness();
    const { leg, call } = await h.place();
    await h.deliver(h.ev.answered(), call);
    expect(leg.statuses).toEqual([183]);
    h.media.sessions.get('wt-1')!.counts = { fromWhatsApp: 5, fromPbx: 0 };
    await until(() => leg.answered);
    expect(leg.statuses).toEqual([183, 200]);
    await h.deliver(h.ev.accepted(), call);
    expect(leg.statuses).toEqual([183, 200]); // no second 200
  });

  it('does not answer on fewer packets than the threshold', async () => {
    const h = harness({ timing: { firstMediaPackets: 10 } });
    const { leg, call } = await h.place();
    await h.deliver(h.ev.answered(), call);
    h.media.sessions.get('wt-1')!.counts = { fromWhatsApp: 9, fromPbx: 0 };
    await new Promise((r) => setTimeout(r, 60));
    expect(leg.answered).toBe(false);
  });

  it('ACCEPTED that overtakes the SDP answer answers as soon as the SDP is applied', async () => {
    const h = harness({ timing: { answerOnFirstMedia: false } });
    const { leg, call } = await h.place();
    await h.deliver(h.ev.accepted(), call);
    expect(leg.statuses).toEqual([]);
    await h.deliver(h.ev.answered(), call);
    expect(leg.statuses).toEqual([183, 200]);
  });
});

describe('BusinessInitiatedCall: webhook orderings', () => {
  it('an SDP answer carrying our tracking data that overtakes the connect response is applied after it', async () => {
    const h = harness({ timing: { answerOnFirstMedia: false } });
    h.wa.autoConnect = false;
    const leg = new FakePbxUasLeg();
    const placing = h.intake.handleInvite(inviteFrom(leg, h.trunk));
    await until(() => h.wa.count('connect') === 1);
    h.registry.route(h.ev.answered('wacid.TEST1', 'wt-1'));
    await new Promise((r) => setTimeout(r, 10));
    expect(leg.statuses).toEqual([]); // still waiting for connect
    h.wa.resolveConnect();
    const call = (await placing) as BusinessInitiatedCall;
    await settle(call);
    expect(leg.statuses).toEqual([183]);
    expect(call.whatsappCallId).toBe('wacid.TEST1');
  });

  it('an event without tracking data for a not-yet-known call id is held, then delivered', async () => {
    const h = harness({ timing: { answerOnFirstMedia: false } });
    h.wa.autoConnect = false;
    const leg = new FakePbxUasLeg();
    const placing = h.intake.handleInvite(inviteFrom(leg, h.trunk));
    await until(() => h.wa.count('connect') === 1);
    expect(h.registry.route(h.ev.answered('wacid.LATE'))).toBe('held');
    h.wa.resolveConnect('wacid.LATE');
    const call = (await placing) as BusinessInitiatedCall;
    await settle(call);
    expect(leg.statuses).toEqual([183]);
  });

  it('a terminate that overtakes the connect response ends the call with the mapped status', async () => {
    const h = harness();
    h.wa.autoConnect = false;
    const leg = new FakePbxUasLeg();
    const placing = h.intake.handleInvite(inviteFrom(leg, h.trunk));
    await until(() => h.wa.count('connect') === 1);
    h.registry.route({ ...h.ev.terminated({ status: 'FAILED', errors: [{ code: 138001 }] }), trackingData: 'wt-1' } as CallEvent);
    h.wa.resolveConnect();
    const call = (await placing) as BusinessInitiatedCall;
    await settle(call);
    expect(leg.final?.status).toBe(404);
    expect(call.state).toBe('ended');
    expect(h.media.openSessions()).toEqual([]);
  });

  it('a duplicate SDP answer is ignored', async () => {
    const h = harness({ timing: { answerOnFirstMedia: false } });
    const { leg, call } = await h.place();
    await h.deliver(h.ev.answered(), call);
    await h.deliver(h.ev.answered(), call);
    expect(leg.statuses).toEqual([183]);
    expect(h.media.sessions.get('wt-1')!.calls.filter((c) => c === 'answerFromWhatsApp')).toHaveLength(1);
  });

  it('REJECTED answers 603 and later webhooks do nothing', async () => {
    const h = harness();
    const { leg, call } = await h.place();
    await h.deliver(h.ev.ringing(), call);
    await h.deliver(h.ev.rejected(), call);
    await h.deliver(h.ev.terminated(), call);
    expect(leg.final).toMatchObject({ status: 603, reason: 'Decline' });
    expect(leg.statuses).toEqual([180, 603]);
    expect(h.wa.count('terminate')).toBe(0);
  });

  it('terminate before answer without errors (user did not pick up) gives 480', async () => {
    const h = harness();
    const { leg, call } = await h.place();
    await h.deliver(h.ev.terminated({ status: 'Completed' }), call);
    expect(leg.final?.status).toBe(480);
  });

  it('terminate before answer with a media timeout error gives 408 with the code in Warning', async () => {
    const h = harness();
    const { leg, call } = await h.place();
    await h.deliver(h.ev.terminated({ status: 'FAILED', errors: [{ code: 138021, message: 'Media receive timeout' }] }), call);
    expect(leg.final?.status).toBe(408);
    expect(leg.final?.headers['Warning']).toContain('138021');
  });

  it('a media-timeout terminate on an answered call sends BYE with a Q.850 timer cause', async () => {
    const h = harness({ timing: { answerOnFirstMedia: false } });
    const { leg, call } = await h.place();
    await h.deliver(h.ev.answered(), call);
    await h.deliver(h.ev.accepted(), call);
    await h.deliver(h.ev.terminated({ status: 'FAILED', errors: [{ code: 138022 }] }), call);
    expect(leg.byes[0]!['Reason']).toMatch(/cause=102.*138022/);
  });
});

describe('BusinessInitiatedCall: CANCEL at each stage', () => {
  it('before the media offer: nothing reaches WhatsApp', async () => {
    const h = harness();
    const leg = new FakePbxUasLeg();
    const placing = h.intake.handleInvite(inviteFrom(leg, h.trunk));
    leg.cancel();
    const call = (await placing) as BusinessInitiatedCall;
    await settle(call);
    expect(h.wa.count('connect')).toBe(0);
    expect(call.state).toBe('ended');
    expect(h.media.openSessions()).toEqual([]);
  });

  it('while connect is in flight: terminate as soon as the call id is known', async () => {
    const h = harness();
    h.wa.autoConnect = false;
    const leg = new FakePbxUasLeg();
    const placing = h.intake.handleInvite(inviteFrom(leg, h.trunk));
    await until(() => h.wa.count('connect') === 1);
    leg.cancel();
    h.wa.resolveConnect();
    const call = (await placing) as BusinessInitiatedCall;
    await settle(call);
    expect(h.wa.actions.map((a) => a.action)).toEqual(['connect', 'terminate']);
    expect(leg.final).toBeUndefined(); // drachtio answered 487 itself
  });

  it('while ringing and in early media: terminate on WhatsApp', async () => {
    for (const stage of ['ringing', 'early_media'] as const) {
      const h = harness({ timing: { answerOnFirstMedia: false } });
      const { leg, call } = await h.place();
      if (stage === 'early_media') await h.deliver(h.ev.answered(), call);
      expect(call.state).toBe(stage);
      leg.cancel();
      await settle(call);
      expect(h.wa.actions.map((a) => a.action)).toEqual(['connect', 'terminate']);
      expect(h.media.openSessions()).toEqual([]);
    }
  });
});

describe('BusinessInitiatedCall: hang-up, re-INVITE, timeouts, shutdown', () => {
  it('BYE from the PBX terminates the WhatsApp call', async () => {
    const h = harness({ timing: { answerOnFirstMedia: false } });
    const { leg, call } = await h.place();
    await h.deliver(h.ev.answered(), call);
    await h.deliver(h.ev.accepted(), call);
    leg.bye();
    await settle(call);
    expect(h.wa.actions.map((a) => a.action)).toEqual(['connect', 'terminate']);
    expect(leg.byes).toHaveLength(0);
    expect(call.state).toBe('ended');
  });

  it('re-INVITE for hold is answered locally with the direction mirrored; WhatsApp is not touched', async () => {
    const h = harness({ timing: { answerOnFirstMedia: false } });
    const { leg, call } = await h.place();
    await h.deliver(h.ev.answered(), call);
    await h.deliver(h.ev.accepted(), call);
    const hold = await leg.reoffer(leg.sdp.replace('a=sendrecv', 'a=sendonly'));
    expect(hold).toContain('a=recvonly');
    expect(hold).toMatch(/^o=- 3 2 /m); // version bumped: the SDP changed
    const refresh = await leg.reoffer(leg.sdp.replace('a=sendrecv', 'a=sendonly'));
    expect(refresh).toMatch(/^o=- 3 2 /m); // unchanged SDP keeps its version (RFC 3264 §8)
    const resume = await leg.reoffer(leg.sdp);
    expect(resume).toContain('a=sendrecv');
    expect(h.wa.actions.map((a) => a.action)).toEqual(['connect']);
    expect(call.state).toBe('answered');
  });

  it('no answer in time: terminate on WhatsApp and 480', async () => {
    const h = harness({ timing: { noAnswerTimeoutMs: 30 } });
    const { leg, call } = await h.place();
    await until(() => call.state === 'ended');
    expect(leg.final?.status).toBe(480);
    expect(h.wa.count('terminate')).toBe(1);
  });

  it('shutdown of an answered call terminates WhatsApp and BYEs the PBX', async () => {
    const h = harness({ timing: { answerOnFirstMedia: false } });
    const { leg, call } = await h.place();
    await h.deliver(h.ev.answered(), call);
    await h.deliver(h.ev.accepted(), call);
    await call.shutdown();
    expect(h.wa.count('terminate')).toBe(1);
    expect(leg.byes).toHaveLength(1);
  });

  it('a failing terminate is logged, and the call still releases its media', async () => {
    const h = harness();
    h.wa.terminateError = new ProviderError('boom', 'network');
    const { leg, call } = await h.place();
    leg.cancel();
    await settle(call);
    expect(h.wa.count('terminate')).toBe(1);
    expect(h.media.openSessions()).toEqual([]);
  });
});

describe('BusinessInitiatedCall: failures before WhatsApp rings', () => {
  it.each(Object.entries(GRAPH_ERROR_TABLE))('Graph error %s maps to its SIP response', async (code, row) => {
    const h = harness();
    h.wa.connectError = graphError(Number(code), 400, 'next allowed 1767200000');
    const { leg } = await h.place();
    expect(leg.final).toMatchObject({ status: row.status, reason: row.reason });
    expect(leg.final!.headers['Warning']).toContain(code);
    if (row.retryAfter !== undefined) expect(leg.final!.headers['Retry-After']).toBe(String(row.retryAfter));
    expect(h.media.openSessions()).toEqual([]);
  });

  it('138012 tells the PBX admin when calling is allowed again', async () => {
    const h = harness();
    h.wa.connectError = graphError(138012, 400, 'next allowed at 1767200000');
    const { leg } = await h.place();
    expect(leg.final!.headers['Warning']).toContain('1767200000');
  });

  it.each([
    ['timeout', new ProviderError('t', 'timeout', { operation: 'connect' }), 504],
    ['network', new ProviderError('n', 'network'), 503],
    ['auth without calling code', new ProviderError('a', 'api', { httpStatus: 401, code: 200 }), 503],
    ['5xx', new ProviderError('s', 'api', { httpStatus: 500, code: 1 }), 503],
  ])('%s maps to %s', async (_name, err, status) => {
    const h = harness();
    h.wa.connectError = err;
    const { leg } = await h.place();
    expect(leg.final?.status).toBe(status);
  });

  it('a media engine failure answers 503 and never calls connect', async () => {
    const h = harness();
    h.media.configure = (s) => { s.failOffer = true; };
    const { leg } = await h.place();
    expect(leg.final?.status).toBe(503);
    expect(h.wa.count('connect')).toBe(0);
  });

  it('an SDP answer the media engine refuses terminates and answers 488', async () => {
    const h = harness();
    h.media.configure = (s) => { s.failAnswer = true; };
    const { leg, call } = await h.place();
    await h.deliver(h.ev.answered(), call);
    expect(leg.final?.status).toBe(488);
    expect(h.wa.count('terminate')).toBe(1);
  });
});

describe('PbxAdmission', () => {
  it('refuses a number that cannot be normalized with 484, before any media or Graph work', async () => {
    const h = harness();
    const { leg } = await h.place(new FakePbxUasLeg({ to: 'abc' }));
    expect(leg.final?.status).toBe(484);
    expect(h.media.sessions.size).toBe(0);
  });

  it('caps concurrent calls per business number with 503 before calling Meta', async () => {
    const h = harness({ maxConcurrent: 1, timing: { answerOnFirstMedia: false } });
    await h.place();
    const { leg } = await h.place(new FakePbxUasLeg());
    expect(leg.final).toMatchObject({ status: 503 });
    expect(leg.final!.headers['Retry-After']).toBe('5');
    expect(h.wa.count('connect')).toBe(1);
  });

  it('limits calls per second per trunk', async () => {
    const h = harness({ trunk: { max_cps: 2 } });
    const finals = [];
    for (let i = 0; i < 4; i++) finals.push((await h.place(new FakePbxUasLeg())).leg);
    expect(finals.filter((l) => l.final?.status === 503).length).toBeGreaterThanOrEqual(2);
  });

  it('refuses a business number header the trunk may not use with 403', async () => {
    const h = harness();
    const { leg } = await h.place(new FakePbxUasLeg({ headers: { 'X-WA-Business-Number': 'other' } }));
    expect(leg.final?.status).toBe(403);
  });

  it('refuses a late-offer INVITE with 488', async () => {
    const h = harness();
    const { leg } = await h.place(new FakePbxUasLeg({ sdp: '' }));
    expect(leg.final?.status).toBe(488);
  });
});

describe('BusinessInitiatedCall: call permission gate (trunks[].permission_policy)', () => {
  const denied = { allow: false as const, status: 403, reason: 'No WhatsApp Call Permission', warning: 'no permission (checked before calling)', cause: 'no_permission' };

  it('a denial answers with its SIP status and nothing reaches WhatsApp', async () => {
    const h = harness({ gate: { decide: async () => denied }, trunk: { permission_policy: 'check' } });
    const { leg } = await h.place();
    expect(leg.final).toMatchObject({ status: 403, reason: 'No WhatsApp Call Permission' });
    expect(h.wa.count('connect')).toBe(0);
    expect(h.media.sessions.get('wt-1')!.calls).toEqual([]);
  });

  it('a CANCEL while the permission is being looked up: nothing reaches WhatsApp', async () => {
    let release!: () => void;
    const h = harness({ gate: { decide: () => new Promise((r) => { release = () => r({ allow: true }); }) }, trunk: { permission_policy: 'check' } });
    const leg = new FakePbxUasLeg();
    const placing = h.intake.handleInvite(inviteFrom(leg, h.trunk));
    await until(() => release !== undefined);
    leg.cancel();
    release();
    const call = (await placing) as BusinessInitiatedCall;
    await settle(call);
    expect(h.wa.count('connect')).toBe(0);
    expect(call.state).toBe('ended');
  });

  it('without a policy on the trunk the gate is not consulted', async () => {
    let asked = 0;
    const h = harness({ gate: { decide: async () => { asked++; return denied; } } });
    await h.place();
    expect(asked).toBe(0);
    expect(h.wa.count('connect')).toBe(1);
  });
});

describe('BusinessInitiatedCall: what real PBXs send, and PBXs that vanish', () => {
  const SAVPF_OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 UDP/TLS/RTP/SAVPF 0\r\na=rtpmap:0 PCMU/8000\r\na=fingerprint:sha-256 AB:CD\r\n';
  const watch = { pbxTimeoutMs: 60, whatsappTimeoutMs: 60, checkIntervalMs: 10 };

  async function answered(h: ReturnType<typeof harness>, leg = new FakePbxUasLeg()) {
    const { call } = await h.place(leg);
    await h.deliver(h.ev.answered(), call);
    await h.deliver(h.ev.accepted(), call);
    expect(leg.statuses).toEqual([183, 200]);
    return { leg, call, session: h.media.sessions.get(call.id)! };
  }

  it('a WebRTC (SAVPF) offer from the trunk is refused 488 with a Warning, before anything reaches Meta', async () => {
    const h = harness();
    const { leg, call } = await h.place(new FakePbxUasLeg({ sdp: SAVPF_OFFER }));
    expect(call).toBeUndefined(); // refused by the INVITE checks: no call object, no media session
    expect(leg.final).toMatchObject({ status: 488 });
    expect(leg.final!.headers['Warning']).toMatch(/^399 watrunk ".*UDP\/TLS\/RTP\/SAVPF.*RTP\/AVP/);
    expect(h.wa.actions).toEqual([]);
    expect(h.media.openSessions()).toEqual([]);
  });

  it('a re-INVITE with a changed SDP goes to the media engine; an unchanged one (refresh) is answered locally', async () => {
    const h = harness({ timing: { answerOnFirstMedia: false } });
    const { leg, session } = await answered(h);
    const refresh = await leg.reoffer(leg.sdp);
    expect(session.reoffers).toEqual([]);
    expect(refresh).toMatch(/^m=audio 30010 /m);
    const moved = leg.sdp.replace('o=- 1 1', 'o=- 1 2').replace('40000', '40100');
    await leg.reoffer(moved);
    expect(session.reoffers).toEqual([moved]);
  });

  it('a re-INVITE with SRTP is refused (488) and the call goes on', async () => {
    const h = harness({ timing: { answerOnFirstMedia: false } });
    const { leg, call } = await answered(h);
    await expect(leg.reoffer(SAVPF_OFFER.replace('o=- 1 1', 'o=- 1 5'))).rejects.toThrow(/SAVPF/);
    expect(call.state).toBe('answered');
  });

  it('no RTP from the PBX: terminate on WhatsApp, BYE with Q.850 102, CDR cause pbx_media_timeout', async () => {
    const h = harness({ timing: { answerOnFirstMedia: false, mediaWatch: watch } });
    const { leg, call, session } = await answered(h);
    session.counts = { fromPbx: 5, fromWhatsApp: 5 };
    const wa = setInterval(() => { session.counts = { ...session.counts, fromWhatsApp: session.counts.fromWhatsApp + 1 }; }, 5);
    try {
      await until(() => call.state === 'ended', 2000);
    } finally {
      clearInterval(wa);
    }
    expect(h.wa.count('terminate')).toBe(1);
    expect(leg.byes[0]!['Reason']).toMatch(/^Q\.850;cause=102;text="no media from the PBX"/);
    expect(h.media.openSessions()).toEqual([]);
  });

  it('a PBX holding with a=inactive is not taken for dead; WhatsApp silence still is', async () => {
    const h = harness({ timing: { answerOnFirstMedia: false, mediaWatch: watch } });
    const { leg, call, session } = await answered(h);
    await leg.reoffer(leg.sdp.replace('o=- 1 1', 'o=- 1 2').replace('a=sendrecv', 'a=inactive'));
    // The PBX's count never moves (held); WhatsApp talks for 300 ms, then goes quiet.
    const start = Date.now();
    const pbx = setInterval(() => {
      if (Date.now() - start < 300) session.counts = { ...session.counts, fromWhatsApp: session.counts.fromWhatsApp + 1 };
    }, 5);
    try {
      await new Promise((r) => setTimeout(r, 200));
      expect(call.state).toBe('answered'); // held and WhatsApp talking: 200 ms > 60 ms timeout, still up
      await until(() => call.state === 'ended', 2000);
    } finally {
      clearInterval(pbx);
    }
    expect(leg.byes[0]!['Reason']).toMatch(/no media from WhatsApp/);
    expect(h.wa.count('terminate')).toBe(1);
  });

  it('the SIP adapter lost the PBX (session timer): terminate on WhatsApp, no second BYE', async () => {
    const h = harness({ timing: { answerOnFirstMedia: false } });
    const { leg, call } = await answered(h);
    leg.lose('session_timer_expired');
    await call.whenEnded();
    expect(h.wa.count('terminate')).toBe(1);
    expect(leg.byes).toEqual([]);
  });
});

describe('BusinessInitiatedCall: call endings are counted by cause', () => {
  it('a PBX media timeout shows in watrunk_calls_ended_total with its cause', async () => {
    const h = harness({ timing: { answerOnFirstMedia: false, mediaWatch: { pbxTimeoutMs: 40, whatsappTimeoutMs: 0, checkIntervalMs: 10 } } });
    const { call } = await h.place();
    await h.deliver(h.ev.answered(), call);
    await h.deliver(h.ev.accepted(), call);
    await call.whenEnded();
    const text = await h.metrics.registry.getSingleMetricAsString('watrunk_calls_ended_total');
    expect(text).toMatch(/watrunk_calls_ended_total\{direction="BUSINESS_INITIATED",outcome="media_timeout",cause="pbx_media_timeout"\} 1/);
  });
});

describe('PbxCallIntake: load shedding (calls.overload)', () => {
  it('refuses with 503 + Retry-After while max_setups_in_flight set-ups wait for WhatsApp, and admits again after the first 18x', async () => {
    const guard = new OverloadGuard({ maxSetupsInFlight: 2, maxEventLoopLagMs: 0, retryAfterS: 3 }, undefined);
    const h = harness({ timing: { answerOnFirstMedia: false }, overload: guard });
    h.wa.nextCallId = 'wacid.A';
    const first = await h.place();
    h.wa.nextCallId = 'wacid.B';
    await h.place();
    expect(guard.setupsInFlight).toBe(2);

    const shed = await h.place();
    expect(shed.call).toBeUndefined();
    expect(shed.leg.responses[0]).toMatchObject({ status: 503, headers: { 'Retry-After': '3' } });
    expect(h.wa.count('connect')).toBe(2); // nothing sent to Meta for the refused call
    expect((await h.metrics.registry.getSingleMetricAsString('watrunk_call_failures_total'))).toMatch(/cause="overload"[^\n]* 1$/m);

    await h.deliver(h.ev.ringing('wacid.A'), first.call);
    expect(first.leg.statuses).toEqual([180]);
    expect(guard.setupsInFlight).toBe(1);
    const next = await h.place();
    expect(next.call).toBeDefined();
  });

  it('a set-up that ends without any 18x (WhatsApp refused at once) frees its slot', async () => {
    const guard = new OverloadGuard({ maxSetupsInFlight: 1, maxEventLoopLagMs: 0, retryAfterS: 2 }, undefined);
    const h = harness({ overload: guard });
    h.wa.connectError = graphError(131026, 400);
    const { leg, call } = await h.place();
    await settle(call);
    h.wa.connectError = undefined;
    expect(leg.statuses[0]).toBeGreaterThanOrEqual(400);
    expect(guard.setupsInFlight).toBe(0);
    expect((await h.place()).call).toBeDefined();
  });
});

describe('webhook-to-SIP latency (watrunk_webhook_to_sip_seconds)', () => {
  it('is observed per event kind once the call has acted on an event that carries its arrival time', async () => {
    const h = harness({ timing: { answerOnFirstMedia: false } });
    const { leg, call } = await h.place();
    await h.deliver({ ...h.ev.answered(), receivedAt: performance.now() }, call);
    await h.deliver({ ...h.ev.accepted(), receivedAt: performance.now() - 5 }, call);
    await h.deliver(h.ev.terminated(), call); // no arrival time (not from a webhook): not observed
    expect(leg.statuses).toEqual([183, 200]);
    const text = await h.metrics.registry.getSingleMetricAsString('watrunk_webhook_to_sip_seconds');
    expect(text).toMatch(/watrunk_webhook_to_sip_seconds_count\{event="call\.answered"\} 1/);
    expect(text).toMatch(/watrunk_webhook_to_sip_seconds_count\{event="call\.accepted"\} 1/);
    expect(text).not.toMatch(/event="call\.terminated"/);
    // The accepted event arrived 5 ms before it was handled: not in the ≤ 3 ms buckets.
    expect(text).toMatch(/watrunk_webhook_to_sip_seconds_bucket\{le="0\.003",event="call\.accepted"\} 0/);
  });

  it('stops the clock when the 200 OK is handed to the SIP stack, not when drachtio-server confirms it left', async () => {
    const h = harness({ timing: { answerOnFirstMedia: false } });
    const { leg, call } = await h.place();
    leg.confirmDelayMs = 120;
    await h.deliver({ ...h.ev.answered(), receivedAt: performance.now() }, call);
    await h.deliver({ ...h.ev.accepted(), receivedAt: performance.now() }, call);
    expect(leg.statuses).toEqual([183, 200]);
    const text = await h.metrics.registry.getSingleMetricAsString('watrunk_webhook_to_sip_seconds');
    // Handled in well under 100 ms although answer() resolved only 120 ms later.
    expect(text).toMatch(/watrunk_webhook_to_sip_seconds_bucket\{le="0\.1",event="call\.accepted"\} 1/);
  });
});
