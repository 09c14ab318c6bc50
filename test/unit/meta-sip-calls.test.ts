/**
 * The WhatsApp calls port of a number in SIP mode (src/adapters/meta-sip/meta-sip-calls.ts) over a
 * hand-written drachtio-srf stand-in: the INVITE toward Meta and the events Meta's answers become,
 * the password re-fetch after a refused digest, CANCEL/BYE, and Meta's own INVITEs
 * (offerFromMeta → preAccept/accept/reject). Every path ends with openCalls back at 0.
 */
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { MetaSipCalls, type MetaSipCallsDeps } from '../../src/adapters/meta-sip/meta-sip-calls.js';
import { MetaSipPassword } from '../../src/adapters/meta-sip/meta-sip-password.js';
import type { SrfDialog, SrfLike, SrfRequest, SrfResponse } from '../../src/adapters/drachtio/srf-types.js';
import type { CallEvent, CallTerminated } from '../../src/calls/ports/whatsapp-events.js';
import { ProviderError } from '../../src/calls/ports/whatsapp-errors.js';
import type { WhatsAppSettings } from '../../src/calls/ports/whatsapp-provider.js';
import { metaSipSchema, resolveMetaSip } from '../../src/config/meta-sip-schema.js';

const HOST = 'sip.example.com';
const DISPLAY = '15551112222';
const PNID = '105615555715855';
const USER = '447700900123';
const BSUID = 'US.13491208655302741918';
const SDP_OFFER = 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n';
const SDP_ANSWER = 'v=0\r\no=- 2 2 IN IP4 157.240.0.1\r\ns=meta\r\n';
const TRACKING = 'bridge-leg-7f3a';

const SIP = resolveMetaSip({ meta_sip: metaSipSchema.parse({ hostname: HOST }) })!;

/** Lets every pending promise callback run (no timers involved). */
const flush = () => new Promise<void>((r) => setImmediate(r));

const headerGetter = (h: Record<string, string>) => {
  const lower = new Map(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
  return (n: string) => lower.get(n.toLowerCase());
};

// --- the drachtio-srf stand-in -----------------------------------------------------------------

type UacOpts = Parameters<SrfLike['createUAC']>[1];
type UacCallbacks = Parameters<SrfLike['createUAC']>[2];

interface Uac {
  uri: string;
  opts: UacOpts;
  cbs: UacCallbacks;
  cancel: ReturnType<typeof vi.fn>;
  /** drachtio has sent the INVITE with this Call-ID. */
  sent(callId: string): void;
  provisional(status: number): void;
  answer(dialog: SrfDialog): void;
  fail(status: number, reason: string): void;
}

type FakeDialog = SrfDialog & EventEmitter & { destroy: ReturnType<typeof vi.fn> };

function fakeDialog(o: { remoteSdp?: string; localSdp?: string; resHeaders?: Record<string, string> } = {}): FakeDialog {
  return Object.assign(new EventEmitter(), {
    connected: true,
    local: { sdp: o.localSdp ?? SDP_OFFER },
    remote: { sdp: o.remoteSdp ?? SDP_ANSWER },
    res: { get: headerGetter(o.resHeaders ?? {}) },
    request: vi.fn(async () => ({ status: 200, get: () => undefined })),
    destroy: vi.fn(async () => undefined),
  }) as unknown as FakeDialog;
}

class FakeSrf {
  private readonly connection = new EventEmitter();
  /** drachtio-srf's 'close': the connection to drachtio-server is gone. */
  on = (event: string, cb: () => void) => { this.connection.on(event, cb); return this; };
  closeConnection(): void { this.connection.emit('close'); }
  readonly uacs: Uac[] = [];
  readonly uas: { req: SrfRequest; res: SrfResponse; opts: { localSdp: string; headers?: Record<string, string> } }[] = [];
  uasDialog: () => Promise<FakeDialog> = async () => fakeDialog({ localSdp: SDP_ANSWER, remoteSdp: SDP_OFFER });

  createUAC = (uri: string, opts: UacOpts, cbs: UacCallbacks): Promise<SrfDialog> => new Promise<SrfDialog>((resolve, reject) => {
    const cancel = vi.fn();
    this.uacs.push({
      uri, opts, cbs, cancel,
      sent: (callId) => cbs.cbRequest?.(null, Object.assign({ cancel }, { callId }) as { cancel(): void }),
      provisional: (status) => cbs.cbProvisional?.({ status }),
      answer: (dialog) => resolve(dialog),
      fail: (status, reason) => reject(Object.assign(new Error(`${status} ${reason}`), { status, reason })),
    });
  });

  createUAS = async (req: SrfRequest, res: SrfResponse, opts: { localSdp: string; headers?: Record<string, string> }): Promise<SrfDialog> => {
    this.uas.push({ req, res, opts });
    return this.uasDialog();
  };

  asSrf(): SrfLike {
    return this as unknown as SrfLike;
  }
}

// --- the harness -------------------------------------------------------------------------------

function settingsPort(initial: string) {
  let password = initial;
  const getSettings = vi.fn(async (_o?: { includeSipCredentials?: boolean }): Promise<Record<string, unknown>> => ({ calling: { sip: { status: 'ENABLED', servers: [{ hostname: HOST, port: 5061, sip_user_password: password }] } } }));
  const port: WhatsAppSettings = { getSettings, updateSettings: async () => undefined };
  return { port, getSettings, set: (p: string) => { password = p; } };
}

function harness(o: { fixed?: string; settingsPassword?: string; connected?: boolean; unansweredInviteMs?: number } = {}) {
  const srf = new FakeSrf();
  const settings = settingsPort(o.settingsPassword ?? 'pw-1');
  const password = new MetaSipPassword({
    ...(o.fixed !== undefined ? { fixed: o.fixed } : { settings: settings.port }),
    hostname: HOST, ttlMs: 3_600_000, log: pino({ level: 'silent' }), now: () => 1_000_000,
  });
  const refresh = vi.spyOn(password, 'refresh');
  const batches: CallEvent[][] = [];
  const onDigestFailure = vi.fn();
  const deps: MetaSipCallsDeps = {
    srf: srf.asSrf(), connected: () => o.connected ?? true,
    number: { name: 'sales', displayNumber: DISPLAY, eventKey: PNID },
    sip: SIP, password, emit: (e) => { batches.push(e); }, logger: pino({ level: 'silent' }), onDigestFailure,
    ...(o.unansweredInviteMs !== undefined && { unansweredInviteMs: o.unansweredInviteMs }),
  };
  const calls = new MetaSipCalls(deps);
  const events = () => batches.flat();
  const kinds = () => events().map((e) => e.kind);
  return { srf, settings, password, refresh, calls, batches, events, kinds, onDigestFailure };
}
type Harness = ReturnType<typeof harness>;

/** connect() up to the INVITE being on its way (drachtio reports it sent): resolves with the call's id. */
async function dial(h: Harness, to = USER, sipCallId = 'sip-call-1', trackingData: string | null = TRACKING) {
  const p = h.calls.connect({ to, sdpOffer: SDP_OFFER, ...(trackingData !== null && { trackingData }) });
  await flush();
  const uac = h.srf.uacs.at(-1)!;
  uac.sent(sipCallId);
  const { callId } = await p;
  return { callId, uac };
}

const terminatedOf = (h: Harness) => h.events().filter((e): e is CallTerminated => e.kind === 'call.terminated');

// --- business-initiated ------------------------------------------------------------------------

describe('business-initiated: the INVITE toward Meta', () => {
  it('Request-URI, outbound proxy, From/To, Contact, digest username and password, SDP', async () => {
    const h = harness({ settingsPassword: 'pw-from-meta' });
    const { callId, uac } = await dial(h);
    // The call's id is watrunk's own (drachtio-srf may not show the SIP Call-ID of an INVITE still
    // being sent), unique per call.
    expect(callId).toMatch(/^sip\.[A-Za-z0-9_-]{16}$/);
    expect((await dial(h, USER, 'sip-call-other')).callId).not.toBe(callId);
    expect(h.srf.uacs).toHaveLength(2);
    expect(uac.uri).toBe(`sip:+${USER}@wa.meta.vc;transport=tls`);
    expect(uac.opts.proxy).toBe('sip:wa.meta.vc:5061;transport=tls');
    expect(uac.opts.localSdp).toBe(SDP_OFFER);
    expect(uac.opts.headers).toMatchObject({
      From: `<sip:+${DISPLAY}@${HOST}>`,
      To: `<sip:+${USER}@wa.meta.vc>`,
      Contact: `<sip:+${DISPLAY}@localhost;transport=tls>`,
    });
    // Meta's digest username is the business number's digits, without '+'.
    expect(uac.opts.auth).toEqual({ username: DISPLAY, password: 'pw-from-meta' });
    expect(h.settings.getSettings).toHaveBeenCalledWith({ includeSipCredentials: true });
    expect(h.calls.openCalls).toBe(2);
    expect(h.events()).toEqual([]);
  });

  it('connect resolves once drachtio has sent the INVITE, not before', async () => {
    const h = harness({ fixed: 'pw' });
    let settled = false;
    const p = h.calls.connect({ to: USER, sdpOffer: SDP_OFFER }).then((r) => { settled = true; return r; });
    await flush();
    expect(h.srf.uacs).toHaveLength(1);
    expect(settled).toBe(false);
    h.srf.uacs[0]!.sent('sip-call-1');
    const { callId } = await p;
    expect(settled).toBe(true);
    h.srf.uacs[0]!.provisional(180);
    expect(h.events()[0]).toMatchObject({ kind: 'call.ringing', callId });
  });

  it('a BSUID callee: Request-URI and To without "+", events name the user by userId', async () => {
    const h = harness({ fixed: 'env-pw' });
    const { uac } = await dial(h, BSUID);
    expect(uac.uri).toBe(`sip:${BSUID}@wa.meta.vc;transport=tls`);
    expect(uac.opts.headers?.['To']).toBe(`<sip:${BSUID}@wa.meta.vc>`);
    expect(uac.opts.auth).toEqual({ username: DISPLAY, password: 'env-pw' });
    uac.provisional(180);
    expect(h.events()[0]).toMatchObject({ kind: 'call.ringing', user: { number: '', userId: BSUID } });
    uac.answer(fakeDialog());
    await flush();
    expect(h.events()[1]).toMatchObject({ kind: 'call.answered', user: { number: '', userId: BSUID } });
  });

  it('without drachtio-server: a network ProviderError, nothing sent', async () => {
    const h = harness({ connected: false });
    const err = await h.calls.connect({ to: USER, sdpOffer: SDP_OFFER }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'network', fields: { operation: 'connect' } });
    expect(h.srf.uacs).toHaveLength(0);
    expect(h.calls.openCalls).toBe(0);
  });

  it('without a password: a config ProviderError, nothing sent', async () => {
    const h = harness();
    h.settings.getSettings.mockResolvedValueOnce({ calling: { sip: { servers: [] } } });
    const err = await h.calls.connect({ to: USER, sdpOffer: SDP_OFFER }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'api', fields: { category: 'config' } });
    expect((err as Error).message).toMatch(/no Meta SIP password/);
    expect(h.srf.uacs).toHaveLength(0);
    expect(h.calls.openCalls).toBe(0);
  });

  it('an INVITE that could not be sent rejects connect, with no event and no call left', async () => {
    const h = harness({ fixed: 'pw' });
    const p = h.calls.connect({ to: USER, sdpOffer: SDP_OFFER });
    await flush();
    h.srf.uacs[0]!.fail(503, 'no TLS connection to wa.meta.vc');
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'network' });
    expect((err as Error).message).toContain('no TLS connection to wa.meta.vc');
    expect(h.events()).toEqual([]);
    expect(h.refresh).not.toHaveBeenCalled();
    expect(h.calls.openCalls).toBe(0);
  });
});

describe('business-initiated: Meta\'s answers become events', () => {
  it('18x → one call.ringing; 200 → call.answered + call.accepted; BYE → call.terminated COMPLETED with durationS', async () => {
    const h = harness({ fixed: 'pw' });
    const { callId, uac } = await dial(h);
    uac.provisional(100);
    expect(h.events()).toEqual([]);
    uac.provisional(183);
    uac.provisional(180);
    expect(h.events()).toEqual([
      { kind: 'call.ringing', phoneNumberId: PNID, callId, timestamp: expect.any(Number), user: { number: USER }, trackingData: TRACKING },
    ]);
    const dialog = fakeDialog({ resHeaders: { 'x-wa-meta-user-name': 'alice', 'x-wa-meta-user-country-code': 'GB' } });
    uac.answer(dialog);
    await flush();
    const user = { number: USER, username: 'alice', countryCode: 'GB' };
    expect(h.batches[1]).toEqual([
      {
        kind: 'call.answered', direction: 'BUSINESS_INITIATED', phoneNumberId: PNID, callId, timestamp: expect.any(Number),
        user, businessNumber: DISPLAY, sdpAnswer: SDP_ANSWER, trackingData: TRACKING,
      },
      { kind: 'call.accepted', phoneNumberId: PNID, callId, timestamp: expect.any(Number), user, trackingData: TRACKING },
    ]);
    expect(h.calls.openCalls).toBe(1);

    dialog.emit('destroy', { get: headerGetter({ 'x-wa-meta-call-duration': '42' }) });
    expect(h.kinds()).toEqual(['call.ringing', 'call.answered', 'call.accepted', 'call.terminated']);
    expect(terminatedOf(h)[0]).toMatchObject({
      callId, status: 'COMPLETED', direction: 'BUSINESS_INITIATED', durationS: 42, trackingData: TRACKING, businessNumber: DISPLAY, errors: [],
    });
    expect(terminatedOf(h)[0]!.sipAnswer).toBeUndefined();
    expect(h.calls.openCalls).toBe(0);
    // Reported once: a second destroy says nothing more.
    dialog.emit('destroy', { get: () => undefined });
    expect(terminatedOf(h)).toHaveLength(1);
  });

  it('a BYE without x-wa-meta-call-duration: no durationS; no trackingData when none was given', async () => {
    const h = harness({ fixed: 'pw' });
    const { uac } = await dial(h, USER, 'sip-call-2', null);
    const dialog = fakeDialog();
    uac.answer(dialog);
    await flush();
    expect(h.events()[0]).not.toHaveProperty('trackingData');
    dialog.emit('destroy', { get: () => undefined });
    const t = terminatedOf(h)[0]!;
    expect(t.status).toBe('COMPLETED');
    expect(t).not.toHaveProperty('durationS');
    expect(t).not.toHaveProperty('trackingData');
    expect(h.calls.openCalls).toBe(0);
  });

  it('a re-INVITE from Meta gets the SDP already given (no renegotiation)', async () => {
    const h = harness({ fixed: 'pw' });
    const { uac } = await dial(h);
    const dialog = fakeDialog({ localSdp: SDP_OFFER });
    uac.answer(dialog);
    await flush();
    const send = vi.fn();
    dialog.emit('modify', { body: 'v=0\r\nnew' }, { finalResponseSent: false, send });
    expect(send).toHaveBeenCalledWith(200, { body: SDP_OFFER });
  });

  it('403 "No Approved Call Permission Found" → one call.terminated FAILED carrying Meta\'s answer, no password re-fetch', async () => {
    const h = harness();
    const { callId, uac } = await dial(h);
    uac.fail(403, 'No Approved Call Permission Found');
    await flush();
    expect(h.events()).toEqual([{
      kind: 'call.terminated', phoneNumberId: PNID, callId, timestamp: expect.any(Number), user: { number: USER }, businessNumber: DISPLAY,
      status: 'FAILED', errors: [], sipAnswer: { status: 403, reason: 'No Approved Call Permission Found', afterCredentials: true }, trackingData: TRACKING,
    }]);
    expect(h.refresh).not.toHaveBeenCalled();
    expect(h.srf.uacs).toHaveLength(1);
    expect(h.calls.openCalls).toBe(0);
  });

  it.each([[404, 'Not Found'], [480, 'Temporarily Unavailable'], [486, 'Busy Here'], [503, 'Service Unavailable']])(
    '%d → call.terminated with that answer, no re-fetch, no second INVITE', async (status, reason) => {
      const h = harness();
      const { uac } = await dial(h);
      uac.fail(status, reason);
      await flush();
      expect(terminatedOf(h)).toHaveLength(1);
      expect(terminatedOf(h)[0]!.sipAnswer).toEqual({ status, reason, afterCredentials: true });
      expect(h.refresh).not.toHaveBeenCalled();
      expect(h.srf.uacs).toHaveLength(1);
      expect(h.calls.openCalls).toBe(0);
    },
  );
});

describe('business-initiated: a refused digest', () => {
  it('final 407 → one re-fetch; a different password → the INVITE once more with it, and only once', async () => {
    const h = harness({ settingsPassword: 'pw-old' });
    const { callId, uac } = await dial(h);
    expect(uac.opts.auth?.password).toBe('pw-old');
    h.settings.set('pw-new');
    uac.fail(407, 'Proxy Authentication Required');
    await flush();
    expect(h.refresh).toHaveBeenCalledTimes(1);
    expect(h.onDigestFailure).toHaveBeenCalledWith({ fetched: true, changed: true });
    expect(h.srf.uacs).toHaveLength(2);
    const second = h.srf.uacs[1]!;
    expect(second.uri).toBe(uac.uri);
    expect(second.opts.auth).toEqual({ username: DISPLAY, password: 'pw-new' });
    expect(second.opts.headers?.['From']).toBe(`<sip:+${DISPLAY}@${HOST}>`);
    expect(h.events()).toEqual([]);
    expect(h.calls.openCalls).toBe(1);

    // Refused again: no third INVITE, no second re-fetch; the call fails with Meta's answer.
    h.settings.set('pw-newer');
    second.sent('sip-call-1b');
    second.fail(407, 'Proxy Authentication Required');
    await flush();
    expect(h.srf.uacs).toHaveLength(2);
    expect(h.refresh).toHaveBeenCalledTimes(1);
    expect(terminatedOf(h)).toHaveLength(1);
    expect(terminatedOf(h)[0]).toMatchObject({ callId, status: 'FAILED', sipAnswer: { status: 407, reason: 'Proxy Authentication Required', afterCredentials: true } });
    expect(h.calls.openCalls).toBe(0);
  });

  it('the second INVITE answered → call.answered under the first Call-ID', async () => {
    const h = harness({ settingsPassword: 'pw-old' });
    const { callId, uac } = await dial(h);
    h.settings.set('pw-new');
    uac.fail(407, 'Proxy Authentication Required');
    await flush();
    const second = h.srf.uacs[1]!;
    second.sent('sip-call-1b');
    second.provisional(180);
    const dialog = fakeDialog();
    second.answer(dialog);
    await flush();
    expect(h.kinds()).toEqual(['call.ringing', 'call.answered', 'call.accepted']);
    expect(h.events().every((e) => e.callId === callId)).toBe(true);
    await h.calls.terminate(callId);
    expect(dialog.destroy).toHaveBeenCalledTimes(1);
    expect(h.calls.openCalls).toBe(0);
  });

  it('final 407 and the same password from Meta → no second INVITE, call.terminated', async () => {
    const h = harness({ settingsPassword: 'pw-same' });
    const { uac } = await dial(h);
    uac.fail(407, 'Proxy Authentication Required');
    await flush();
    expect(h.refresh).toHaveBeenCalledTimes(1);
    expect(h.settings.getSettings).toHaveBeenCalledTimes(2);
    expect(h.onDigestFailure).toHaveBeenCalledWith({ fetched: true, changed: false });
    expect(h.srf.uacs).toHaveLength(1);
    expect(terminatedOf(h)).toHaveLength(1);
    expect(terminatedOf(h)[0]!.sipAnswer?.status).toBe(407);
    expect(h.calls.openCalls).toBe(0);
  });

  it('a fixed password: 407 → nothing to re-fetch, no second INVITE', async () => {
    const h = harness({ fixed: 'env-pw' });
    const { uac } = await dial(h);
    uac.fail(407, 'Proxy Authentication Required');
    await flush();
    expect(h.srf.uacs).toHaveLength(1);
    expect(terminatedOf(h)).toHaveLength(1);
    expect(h.calls.openCalls).toBe(0);
  });

  it('a bare 403 is worth a re-fetch too', async () => {
    const h = harness({ settingsPassword: 'pw-old' });
    const { uac } = await dial(h);
    h.settings.set('pw-new');
    uac.fail(403, 'Forbidden');
    await flush();
    expect(h.refresh).toHaveBeenCalledTimes(1);
    expect(h.srf.uacs).toHaveLength(2);
    expect(h.srf.uacs[1]!.opts.auth?.password).toBe('pw-new');
  });

  it('terminate while the re-fetch runs: no second INVITE, the call ends once', async () => {
    const h = harness({ settingsPassword: 'pw-old' });
    const { callId, uac } = await dial(h);
    let release!: () => void;
    h.settings.getSettings.mockImplementationOnce(() => new Promise((r) => {
      release = () => r({ calling: { sip: { servers: [{ hostname: HOST, sip_user_password: 'pw-new' }] } } });
    }));
    uac.fail(407, 'Proxy Authentication Required');
    await flush();
    expect(h.refresh).toHaveBeenCalledTimes(1);
    await h.calls.terminate(callId);
    release();
    await flush();
    expect(h.srf.uacs).toHaveLength(1);
    expect(terminatedOf(h)).toHaveLength(1);
    expect(h.calls.openCalls).toBe(0);
  });

  it('a call whose stale-password INVITE fails after another call\'s re-fetch already brought the new password retries with it', async () => {
    // Two calls dialled with the old password; Meta refuses both. The first one's re-fetch brings the
    // new password; the second's refusal arrives after that (within minRefreshMs): it must not
    // fail with a password that watrunk already knows to be stale.
    const h = harness({ settingsPassword: 'pw-old' });
    const a = await dial(h, USER, 'sip-a');
    const b = await dial(h, '447700900999', 'sip-b');
    expect(b.uac.opts.auth?.password).toBe('pw-old');
    h.settings.set('pw-new');
    a.uac.fail(407, 'Proxy Authentication Required');
    await flush();
    expect(h.srf.uacs).toHaveLength(3);
    expect(h.srf.uacs[2]!.opts.auth?.password).toBe('pw-new');
    b.uac.fail(407, 'Proxy Authentication Required');
    await flush();
    expect(h.settings.getSettings).toHaveBeenCalledTimes(2); // still one re-fetch for the burst
    expect(terminatedOf(h).map((t) => t.callId)).not.toContain(b.callId);
    expect(h.srf.uacs).toHaveLength(4);
    expect(h.srf.uacs[3]!.opts.auth?.password).toBe('pw-new');
  });
});

describe('business-initiated: terminate', () => {
  it('before the answer: CANCEL; Meta\'s 487 then ends the call once, without a re-fetch', async () => {
    const h = harness();
    const { callId, uac } = await dial(h);
    uac.provisional(180);
    await h.calls.terminate(callId);
    expect(uac.cancel).toHaveBeenCalledTimes(1);
    uac.fail(487, 'Request Terminated');
    await flush();
    expect(h.kinds()).toEqual(['call.ringing', 'call.terminated']);
    expect(terminatedOf(h)[0]).toMatchObject({ status: 'FAILED', sipAnswer: { status: 487 } });
    expect(h.refresh).not.toHaveBeenCalled();
    expect(h.calls.openCalls).toBe(0);
  });

  it('before the answer, when the 200 crosses the CANCEL: the dialog is ended at once, no call.answered', async () => {
    const h = harness({ fixed: 'pw' });
    const { callId, uac } = await dial(h);
    await h.calls.terminate(callId);
    const dialog = fakeDialog();
    uac.answer(dialog);
    await flush();
    expect(dialog.destroy).toHaveBeenCalledTimes(1);
    expect(h.kinds()).not.toContain('call.answered');
    expect(h.calls.openCalls).toBe(0);
  });

  it('after the answer: BYE, and nothing reported twice', async () => {
    const h = harness({ fixed: 'pw' });
    const { callId, uac } = await dial(h);
    const dialog = fakeDialog();
    uac.answer(dialog);
    await flush();
    await h.calls.terminate(callId);
    expect(dialog.destroy).toHaveBeenCalledTimes(1);
    expect(uac.cancel).not.toHaveBeenCalled();
    expect(h.calls.openCalls).toBe(0);
    dialog.emit('destroy', { get: () => undefined });
    expect(terminatedOf(h)).toHaveLength(0);
    // Terminating again (or an unknown call) is harmless.
    await h.calls.terminate(callId);
    await h.calls.terminate('no-such-call');
    expect(dialog.destroy).toHaveBeenCalledTimes(1);
  });

  it('a failing BYE does not throw', async () => {
    const h = harness({ fixed: 'pw' });
    const { callId, uac } = await dial(h);
    const dialog = fakeDialog();
    dialog.destroy.mockRejectedValueOnce(new Error('socket closed'));
    uac.answer(dialog);
    await flush();
    await expect(h.calls.terminate(callId)).resolves.toBeUndefined();
    expect(h.calls.openCalls).toBe(0);
  });
});

// --- user-initiated ----------------------------------------------------------------------------

interface FakeMetaInvite {
  req: SrfRequest;
  res: SrfResponse & { sent: { status: number; reason?: unknown }[] };
  cancel(): void;
}

function metaInvite(o: { fromUri?: string; fromName?: string; headers?: Record<string, string> } = {}): FakeMetaInvite {
  const cancelListeners: Array<() => void> = [];
  const get = headerGetter(o.headers ?? {});
  const req: SrfRequest = {
    method: 'INVITE', uri: `sip:+${DISPLAY}@${HOST}:5061;transport=tls`, body: SDP_OFFER, callId: 'outgoing:wacid.ABC',
    source_address: '157.240.0.10', source_port: 5061, protocol: 'tls',
    get, has: (n) => get(n) !== undefined,
    getParsedHeader: (n) => (n === 'from'
      ? { uri: o.fromUri ?? `sip:+${USER}@wa.meta.vc`, ...(o.fromName !== undefined && { name: o.fromName }) }
      : { uri: `sip:+${DISPLAY}@${HOST}` }),
    on: (_e, cb) => { cancelListeners.push(cb as () => void); },
  };
  const sent: { status: number; reason?: unknown }[] = [];
  const res = {
    finalResponseSent: false,
    sent,
    send(status: number, reason?: unknown) {
      sent.push({ status, ...(reason !== undefined && { reason }) });
      if (status >= 200) res.finalResponseSent = true;
    },
  };
  return { req, res: res as FakeMetaInvite['res'], cancel: () => cancelListeners.forEach((l) => l()) };
}

describe('user-initiated: Meta\'s INVITE', () => {
  it('offerFromMeta → call.offered with the user from From and x-wa-meta-* headers, CTA and deeplink payloads', () => {
    const h = harness({ fixed: 'pw' });
    const inv = metaInvite({
      headers: {
        'x-wa-meta-user-id': BSUID, 'x-wa-meta-username': 'alice', 'x-wa-meta-user-country-code': 'GB',
        'x-wa-meta-cta-payload': 'promo-42', 'x-wa-meta-deeplink-payload': 'dl-7',
      },
    });
    const offered = h.calls.offerFromMeta(inv.req, inv.res, 'wacid.ABC');
    expect(offered).toEqual({
      kind: 'call.offered', direction: 'USER_INITIATED', phoneNumberId: PNID, callId: 'wacid.ABC', timestamp: expect.any(Number),
      user: { number: USER, userId: BSUID, username: 'alice', countryCode: 'GB' },
      businessNumber: DISPLAY, sdpOffer: SDP_OFFER, ctaPayload: 'promo-42', deeplinkPayload: 'dl-7',
    });
    expect(h.calls.openCalls).toBe(1);
    expect(inv.res.sent).toEqual([]);
  });

  it('a BSUID From user: the number comes from the display name when that is digits', () => {
    const h = harness({ fixed: 'pw' });
    const shown = h.calls.offerFromMeta(metaInvite({ fromUri: `sip:${BSUID}@wa.meta.vc`, fromName: `"${USER}"` }).req, metaInvite().res, 'wacid.1');
    expect(shown.user).toEqual({ number: USER, userId: BSUID });
    const hidden = h.calls.offerFromMeta(metaInvite({ fromUri: `sip:${BSUID}@wa.meta.vc`, fromName: '"Alice"' }).req, metaInvite().res, 'wacid.2');
    expect(hidden.user).toEqual({ number: '', userId: BSUID });
    expect(hidden).not.toHaveProperty('ctaPayload');
    expect(hidden).not.toHaveProperty('deeplinkPayload');
  });

  it('preAccept → 180 once; accept → createUAS with the SDP answer; Meta\'s BYE → call.terminated COMPLETED', async () => {
    const h = harness({ fixed: 'pw' });
    const inv = metaInvite();
    h.calls.offerFromMeta(inv.req, inv.res, 'wacid.ABC');
    await h.calls.preAccept('wacid.ABC');
    await h.calls.preAccept('wacid.ABC');
    expect(inv.res.sent).toEqual([{ status: 180 }]);

    const dialog = fakeDialog({ localSdp: SDP_ANSWER, remoteSdp: SDP_OFFER });
    h.srf.uasDialog = async () => dialog;
    await h.calls.accept('wacid.ABC', SDP_ANSWER);
    await h.calls.accept('wacid.ABC', SDP_ANSWER);
    expect(h.srf.uas).toHaveLength(1);
    expect(h.srf.uas[0]!.req).toBe(inv.req);
    expect(h.srf.uas[0]!.res).toBe(inv.res);
    expect(h.srf.uas[0]!.opts.localSdp).toBe(SDP_ANSWER);
    expect(h.srf.uas[0]!.opts.headers?.['Contact']).toBe(`<sip:+${DISPLAY}@localhost;transport=tls>`);
    expect(h.calls.openCalls).toBe(1);
    expect(h.events()).toEqual([]);

    dialog.emit('destroy', { get: headerGetter({ 'x-wa-meta-call-duration': '95' }) });
    expect(h.events()).toEqual([{
      kind: 'call.terminated', phoneNumberId: PNID, callId: 'wacid.ABC', timestamp: expect.any(Number), user: { number: USER },
      businessNumber: DISPLAY, status: 'COMPLETED', errors: [], direction: 'USER_INITIATED', durationS: 95,
    }]);
    expect(h.calls.openCalls).toBe(0);
  });

  it('preAccept after a final answer was sent does not send 180', async () => {
    const h = harness({ fixed: 'pw' });
    const inv = metaInvite();
    h.calls.offerFromMeta(inv.req, inv.res, 'wacid.ABC');
    inv.res.finalResponseSent = true;
    await h.calls.preAccept('wacid.ABC');
    expect(inv.res.sent).toEqual([]);
  });

  it('reject → 480; the call is gone (a later preAccept/accept is refused)', async () => {
    const h = harness({ fixed: 'pw' });
    const inv = metaInvite();
    h.calls.offerFromMeta(inv.req, inv.res, 'wacid.ABC');
    await h.calls.reject('wacid.ABC');
    expect(inv.res.sent).toEqual([{ status: 480, reason: 'Temporarily Unavailable' }]);
    expect(h.calls.openCalls).toBe(0);
    await h.calls.reject('wacid.ABC');
    expect(inv.res.sent).toHaveLength(1);
    await expect(h.calls.preAccept('wacid.ABC')).rejects.toBeInstanceOf(ProviderError);
    await expect(h.calls.accept('wacid.ABC', SDP_ANSWER)).rejects.toBeInstanceOf(ProviderError);
    expect(h.srf.uas).toHaveLength(0);
    expect(h.events()).toEqual([]);
  });

  it('Meta\'s CANCEL → call.terminated FAILED once', async () => {
    const h = harness({ fixed: 'pw' });
    const inv = metaInvite();
    h.calls.offerFromMeta(inv.req, inv.res, 'wacid.ABC');
    await h.calls.preAccept('wacid.ABC');
    inv.cancel();
    inv.cancel();
    expect(terminatedOf(h)).toHaveLength(1);
    expect(terminatedOf(h)[0]).toMatchObject({ callId: 'wacid.ABC', status: 'FAILED', direction: 'USER_INITIATED', user: { number: USER } });
    expect(h.calls.openCalls).toBe(0);
    // The call logic's own ending afterwards sends nothing more.
    await h.calls.terminate('wacid.ABC');
    await h.calls.reject('wacid.ABC');
    expect(inv.res.sent).toEqual([{ status: 180 }]);
    expect(terminatedOf(h)).toHaveLength(1);
  });

  it('a failing 200 OK: accept throws a ProviderError and the call is forgotten', async () => {
    const h = harness({ fixed: 'pw' });
    const inv = metaInvite();
    h.calls.offerFromMeta(inv.req, inv.res, 'wacid.ABC');
    h.srf.uasDialog = async () => { throw new Error('transaction gone'); };
    const err = await h.calls.accept('wacid.ABC', SDP_ANSWER).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as Error).message).toContain('transaction gone');
    expect(h.calls.openCalls).toBe(0);
  });

  it('terminate before the answer → 480; after the answer → BYE without a second report', async () => {
    const h = harness({ fixed: 'pw' });
    const early = metaInvite();
    h.calls.offerFromMeta(early.req, early.res, 'wacid.E');
    await h.calls.terminate('wacid.E');
    expect(early.res.sent).toEqual([{ status: 480, reason: 'Temporarily Unavailable' }]);

    const up = metaInvite();
    h.calls.offerFromMeta(up.req, up.res, 'wacid.U');
    const dialog = fakeDialog({ localSdp: SDP_ANSWER });
    h.srf.uasDialog = async () => dialog;
    await h.calls.accept('wacid.U', SDP_ANSWER);
    await h.calls.terminate('wacid.U');
    expect(dialog.destroy).toHaveBeenCalledTimes(1);
    dialog.emit('destroy', { get: () => undefined });
    expect(terminatedOf(h)).toHaveLength(0);
    expect(h.calls.openCalls).toBe(0);
  });
});

describe('the drachtio-server connection lost, an offer nobody answers', () => {
  it('an INVITE in flight when the connection closes ends the call (503) instead of ringing on; nothing left', async () => {
    const h = harness({ fixed: 'pw' });
    const { callId } = await dial(h);
    h.srf.closeConnection();
    await flush();
    expect(terminatedOf(h)).toEqual([expect.objectContaining({ callId, status: 'FAILED', sipAnswer: expect.objectContaining({ status: 503 }) })]);
    expect(h.calls.openCalls).toBe(0);
  });

  it('Meta\'s INVITE that the call logic never answers gets 480 after unansweredInviteMs, and a terminated event', async () => {
    const h = harness({ fixed: 'pw', unansweredInviteMs: 20 });
    const inv = metaInvite();
    h.calls.offerFromMeta(inv.req, inv.res, 'wacid.LOST');
    await new Promise((r) => setTimeout(r, 200));
    expect(inv.res.sent.map((x) => x.status)).toEqual([480]);
    expect(terminatedOf(h)).toEqual([expect.objectContaining({ callId: 'wacid.LOST', direction: 'USER_INITIATED' })]);
    expect(h.calls.openCalls).toBe(0);
  });

  it('an accepted INVITE is not given up on', async () => {
    const h = harness({ fixed: 'pw', unansweredInviteMs: 20 });
    const inv = metaInvite();
    h.calls.offerFromMeta(inv.req, inv.res, 'wacid.UP');
    await h.calls.accept('wacid.UP', SDP_ANSWER);
    await new Promise((r) => setTimeout(r, 200));
    expect(inv.res.sent).toEqual([]);
    expect(terminatedOf(h)).toEqual([]);
    expect(h.calls.openCalls).toBe(1);
    await h.calls.terminate('wacid.UP');
    expect(h.calls.openCalls).toBe(0);
  });
});
