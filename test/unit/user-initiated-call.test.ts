import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { CallRegistry } from '../../src/calls/call-registry.js';
import type { UserInitiatedCall } from '../../src/calls/user-initiated-call.js';
import { routeInbound } from '../../src/calls/inbound-route.js';
import { WhatsAppCallIntake } from '../../src/calls/whatsapp-call-intake.js';
import { numberSchema } from '../../src/config/schema.js';
import { Metrics } from '../../src/metrics.js';
import type { CallEvent, CallOffered } from '../../src/calls/ports/whatsapp-events.js';
import { FakeMediaEngine, PBX_ANSWER, WA_OFFER } from '../support/fakes/fake-media.js';
import { FakePbxDialer } from '../support/fakes/fake-pbx-dialer.js';
import { FakeWhatsAppCalls, graphError } from '../support/fakes/fake-whatsapp.js';

const PNID = '105615555715855';
const META_OFFER = 'v=0\r\no=- 7 2 IN IP4 31.13.65.60\r\ns=-\r\nt=0 0\r\na=ice-lite\r\nm=audio 40012 UDP/TLS/RTP/SAVPF 111 126\r\na=setup:actpass\r\n';

function offer(extra: Partial<CallOffered> = {}): CallOffered {
  return {
    kind: 'call.offered', direction: 'USER_INITIATED', phoneNumberId: PNID, callId: 'wacid.IN1', timestamp: 1767168000,
    user: { number: '447700900123', userId: 'GB.1349', profileName: 'Ann "the caller"', countryCode: 'GB' },
    businessNumber: '15551112222', sdpOffer: META_OFFER, ctaPayload: 'ctx-42', ...extra,
  };
}

function harness(opts: { ringTimeoutS?: number; inbound?: Record<string, unknown> | null; mediaWatch?: { pbxTimeoutMs: number; whatsappTimeoutMs: number; checkIntervalMs: number }; overload?: { check(): { warning: string } | undefined } } = {}) {
  const number = numberSchema.parse({
    name: 'sales', phone_number_id: PNID, display_number: '15551112222', access_token_env: 'T',
    ...(opts.inbound === null ? {} : { inbound: { target: 'sip:{to}@127.0.0.1:5080', ring_timeout_s: opts.ringTimeoutS ?? 25, ...opts.inbound } }),
  });
  const wa = new FakeWhatsAppCalls();
  const media = new FakeMediaEngine();
  const dialer = new FakePbxDialer();
  const registry = new CallRegistry();
  const intake = new WhatsAppCallIntake({
    registry, numbers: new Map([['sales', { config: number, calls: wa }]]), media, dialer,
    inboundPasswords: new Map(), logger: pino({ level: 'silent' }), metrics: new Metrics(), newId: () => 'wt-in-1',
    ...(opts.mediaWatch ? { mediaWatch: opts.mediaWatch } : {}),
    ...(opts.overload ? { overload: opts.overload } : {}),
  });
  const start = async (o = offer()) => (await intake.handleOffer(o, 'sales')) as UserInitiatedCall;
  const deliver = async (call: UserInitiatedCall, e: CallEvent) => { registry.route(e); await settle(call); };
  const terminated = (extra: object = {}): CallEvent => ({ kind: 'call.terminated', phoneNumberId: PNID, callId: 'wacid.IN1', timestamp: 1767168100, user: { number: '447700900123' }, status: 'COMPLETED', errors: [], ...extra });
  return { wa, media, dialer, registry, intake, start, deliver, terminated, number };
}

async function settle(call: UserInitiatedCall): Promise<void> {
  for (let i = 0; i < 6; i++) {
    await new Promise((r) => setImmediate(r));
    await call.idle();
  }
}
const actions = (wa: FakeWhatsAppCalls) => wa.actions.map((a) => a.action);

describe('UserInitiatedCall: PBX answer patterns', () => {
  it('180 then 200: nothing to WhatsApp on 180; accept (no pre_accept) on 200; media released only after accept', async () => {
    const h = harness();
    const call = await h.start();
    const session = h.media.sessions.get('wt-in-1')!;
    expect(session.calls).toEqual(['offerToPbx']);
    expect(session.blocked).toBe(true);
    h.dialer.last.ring();
    await settle(call);
    expect(actions(h.wa)).toEqual([]);
    h.dialer.last.answer(PBX_ANSWER);
    await settle(call);
    expect(actions(h.wa)).toEqual(['accept']);
    expect(session.blocked).toBe(false);
    expect(call.state).toBe('answered');
  });

  it('183 with SDP then 200: pre_accept with the answer at once, accept with the SAME SDP on 200', async () => {
    const h = harness();
    const call = await h.start();
    h.dialer.last.ring(PBX_ANSWER);
    await settle(call);
    expect(actions(h.wa)).toEqual(['pre_accept']);
    expect(call.state).toBe('early_media');
    expect(h.media.sessions.get('wt-in-1')!.blocked).toBe(true); // early media must not reach WhatsApp
    h.dialer.last.answer(PBX_ANSWER.replace('30010', '30012'));
    await settle(call);
    expect(actions(h.wa)).toEqual(['pre_accept', 'accept']);
    expect(h.wa.actions[1]!.sdp).toBe(h.wa.actions[0]!.sdp);
    expect(h.wa.actions[1]!.sdp).toBe(WA_OFFER); // what the fake media engine produced for WhatsApp
    expect(h.media.sessions.get('wt-in-1')!.blocked).toBe(false);
  });

  it.each([[486], [603], [404], [503]])('PBX %i: reject on WhatsApp; the CDR keeps the PBX status', async (status) => {
    const h = harness();
    const call = await h.start();
    h.dialer.last.fail(status);
    await call.whenEnded();
    expect(actions(h.wa)).toEqual(['reject']);
    expect(h.media.openSessions()).toEqual([]);
    expect(h.registry.size).toBe(0);
  });

  it('no answer in time: CANCEL to the PBX and reject on WhatsApp', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const h = harness({ ringTimeoutS: 20 });
      const call = await h.start();
      h.dialer.last.ring();
      await settle(call);
      vi.advanceTimersByTime(19_000);
      await settle(call);
      expect(call.state).toBe('ringing');
      vi.advanceTimersByTime(1_000);
      await call.whenEnded();
      expect(h.dialer.last.cancelled).toBe(true);
      expect(actions(h.wa)).toEqual(['reject']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('the PBX answers after watrunk gave up (CANCEL/200 race): the PBX leg is hung up', async () => {
    const h = harness();
    const call = await h.start();
    h.dialer.last.raceCancel = true;
    await h.deliver(call, h.terminated());
    expect(h.dialer.last.cancelled).toBe(true);
    const leg = h.dialer.last;
    leg.answerLate(PBX_ANSWER);
    await new Promise((r) => setTimeout(r, 10));
    await call.idle();
    expect(leg.byes).toHaveLength(1);
    expect(actions(h.wa)).toEqual([]);
  });
});

describe('UserInitiatedCall: WhatsApp terminate at each stage', () => {
  it('while the PBX rings: CANCEL', async () => {
    const h = harness();
    const call = await h.start();
    await h.deliver(call, h.terminated());
    expect(h.dialer.last.cancelled).toBe(true);
    expect(call.state).toBe('ended');
    expect(actions(h.wa)).toEqual([]);
  });

  it('in early media (after pre_accept): CANCEL', async () => {
    const h = harness();
    const call = await h.start();
    h.dialer.last.ring(PBX_ANSWER);
    await settle(call);
    await h.deliver(call, h.terminated());
    expect(h.dialer.last.cancelled).toBe(true);
  });

  it('after answer: BYE with Reason and duration; a duplicate terminate does nothing more', async () => {
    const h = harness();
    const call = await h.start();
    h.dialer.last.answer(PBX_ANSWER);
    await settle(call);
    await h.deliver(call, h.terminated({ durationS: 33 }));
    await h.deliver(call, h.terminated({ durationS: 33 }));
    expect(h.dialer.last.byes).toHaveLength(1);
    expect(h.dialer.last.byes[0]).toMatchObject({ 'X-WA-Call-Duration': '33', 'X-WA-Call-Id': 'wacid.IN1' });
    expect(h.dialer.last.byes[0]!['Reason']).toMatch(/^Q\.850;cause=16/);
  });
});

describe('UserInitiatedCall: hang-up, failures, re-INVITE', () => {
  it('BYE from the PBX terminates on WhatsApp', async () => {
    const h = harness();
    const call = await h.start();
    h.dialer.last.answer(PBX_ANSWER);
    await settle(call);
    h.dialer.last.bye();
    await call.whenEnded();
    expect(actions(h.wa)).toEqual(['accept', 'terminate']);
  });

  it('accept failing: BYE to the PBX and terminate on WhatsApp; nothing left open', async () => {
    const h = harness();
    h.wa.accept = async () => { throw graphError(100, 400); };
    const call = await h.start();
    h.dialer.last.answer(PBX_ANSWER);
    await call.whenEnded();
    expect(h.dialer.last.byes).toHaveLength(1);
    expect(actions(h.wa)).toEqual(['terminate']);
    expect(h.media.openSessions()).toEqual([]);
  });

  it('pre_accept failing: CANCEL the PBX and reject on WhatsApp', async () => {
    const h = harness();
    h.wa.preAccept = async () => { throw graphError(100, 400); };
    const call = await h.start();
    h.dialer.last.ring(PBX_ANSWER);
    await call.whenEnded();
    expect(h.dialer.last.cancelled).toBe(true);
    expect(actions(h.wa)).toEqual(['reject']);
  });

  it('a PBX re-INVITE for hold is answered locally', async () => {
    const h = harness();
    const call = await h.start();
    h.dialer.last.answer(PBX_ANSWER);
    await settle(call);
    const answer = await h.dialer.last.reoffer(PBX_ANSWER.replace('a=sendrecv', 'a=sendonly'));
    expect(answer).toContain('a=recvonly');
    expect(actions(h.wa)).toEqual(['accept']);
  });
});

describe('WhatsAppCallIntake: refusals at once', () => {
  it('no inbound route: reject', async () => {
    const h = harness({ inbound: null });
    expect(await h.start()).toBeUndefined();
    expect(actions(h.wa)).toEqual(['reject']);
  });
  it('watrunk overloaded (calls.overload): reject at once, nothing rings, no media session', async () => {
    const h = harness({ overload: { check: () => ({ warning: 'overloaded: test' }) } });
    expect(await h.start()).toBeUndefined();
    expect(actions(h.wa)).toEqual(['reject']);
    expect(h.dialer.legs).toHaveLength(0);
    expect(h.media.openSessions()).toEqual([]);
  });
  it('SIP side not connected: reject', async () => {
    const h = harness();
    h.dialer.ready = false;
    expect(await h.start()).toBeUndefined();
    expect(actions(h.wa)).toEqual(['reject']);
  });
  it('media engine down: reject', async () => {
    const h = harness();
    h.media.up = false;
    expect(await h.start()).toBeUndefined();
    expect(actions(h.wa)).toEqual(['reject']);
    expect(h.dialer.legs).toHaveLength(0);
  });
});

describe('routeInbound', () => {
  const number = numberSchema.parse({
    name: 'sales', phone_number_id: PNID, display_number: '15551112222', access_token_env: 'T',
    inbound: {
      target: 'sip:{to}@pbx.example.com', transport: 'tcp',
      rules: [
        { match: { cta_payload: 'billing' }, target: 'sip:billing@pbx.example.com' },
        { match: { caller_country_code: '49' }, target: 'sip:de-queue@pbx.example.com' },
      ],
    },
  });
  it('builds the INVITE: From = +number, display name, X-WA headers, transport', () => {
    const r = routeInbound(number, offer())!;
    expect(r.uri).toBe('sip:15551112222@pbx.example.com;transport=tcp');
    expect(r.callingNumber).toBe('+447700900123');
    expect(r.callingName).toBe('Ann "the caller"');
    expect(r.headers).toMatchObject({
      'X-WA-Call': 'true', 'X-WA-Call-Id': 'wacid.IN1', 'X-WA-Business-Number': '15551112222',
      'X-WA-User-Id': 'GB.1349', 'X-WA-CTA-Payload': 'ctx-42', 'X-WA-User-Country': 'GB',
    });
  });
  it('rules pick the target by payload or caller country', () => {
    expect(routeInbound(number, offer({ ctaPayload: 'billing' }))!.uri).toBe('sip:billing@pbx.example.com;transport=tcp');
    expect(routeInbound(number, offer({ ctaPayload: undefined, user: { number: '4915112345678' } }))!.uri).toBe('sip:de-queue@pbx.example.com;transport=tcp');
  });
  it('a hidden number (BSUID only) becomes the From user', () => {
    expect(routeInbound(number, offer({ user: { number: '', userId: 'US.1349120' } }))!.callingNumber).toBe('US.1349120');
  });
  it('payload line breaks cannot inject SIP headers', () => {
    const r = routeInbound(number, offer({ ctaPayload: 'x\r\nX-Evil: 1' }))!;
    expect(r.headers['X-WA-CTA-Payload']).not.toMatch(/[\r\n]/);
  });
});

describe('UserInitiatedCall: PBXs that vanish or re-offer', () => {
  async function answeredCall(h: ReturnType<typeof harness>) {
    const call = await h.start();
    h.dialer.last.answer(PBX_ANSWER);
    await settle(call);
    expect(call.state).toBe('answered');
    return { call, leg: h.dialer.last, session: h.media.sessions.get('wt-in-1')! };
  }

  it('no RTP from the PBX after answer: terminate on WhatsApp and BYE with Q.850 102', async () => {
    const h = harness({ mediaWatch: { pbxTimeoutMs: 60, whatsappTimeoutMs: 0, checkIntervalMs: 10 } });
    const { call, leg } = await answeredCall(h);
    await call.whenEnded();
    expect(actions(h.wa)).toEqual(['accept', 'terminate']);
    expect(leg.byes[0]!['Reason']).toMatch(/^Q\.850;cause=102;text="no media from the PBX"/);
    expect(h.media.openSessions()).toEqual([]);
  });

  it('the SIP adapter lost the PBX (OPTIONS probe): terminate on WhatsApp', async () => {
    const h = harness();
    const { call, leg } = await answeredCall(h);
    leg.lose('options_probe_failed');
    await call.whenEnded();
    expect(actions(h.wa)).toEqual(['accept', 'terminate']);
    expect(leg.byes).toEqual([]);
  });

  it('a changed re-offer from the PBX goes to the media engine; WhatsApp hears nothing of it', async () => {
    const h = harness();
    const { leg, session } = await answeredCall(h);
    const moved = PBX_ANSWER.replace('o=- 3 1', 'o=- 3 2').replace('30010', '30020');
    const answer = await leg.reoffer(moved);
    expect(session.reoffers).toEqual([moved]);
    expect(answer).toMatch(/^m=audio /m);
    expect(actions(h.wa)).toEqual(['accept']);
  });
});
