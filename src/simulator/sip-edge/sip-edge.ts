import Srf from 'drachtio-srf';
import { NgClient } from '../../adapters/rtpengine/ng-client.js';
import type { SrfDialog, SrfLike, SrfRequest, SrfResponse, SrfUacError } from '../../adapters/drachtio/srf-types.js';
import { e164Digits, uriHost, uriUser } from '../../adapters/meta-sip/meta-sip-identity.js';
import { callTimer, endCall, markAccepted } from '../call-lifecycle.js';
import type { EndedBy, SimulatedCall } from '../call-state.js';
import type { SipEdgeConfig } from '../config.js';
import { GraphError } from '../graph-error.js';
import type { SimulatedUserMedia } from '../media/types.js';
import { SipEdgeMediaRelay } from '../media/sip-edge-relay.js';
import type { BusinessNumber, SimulatorRuntime } from '../runtime.js';
import type { SimulatedUser } from '../user-rules.js';
import { challengeHeader, digestMatches, parseDigest } from '../../adapters/meta-sip/sip-digest.js';

/**
 * Meta's SIP edge, simulated (docs/sip-mode.md#simulator), for numbers whose simulated sip.status
 * is ENABLED. Its SIP stack is drachtio-srf on a drachtio-server of its own (so it needs one, like
 * the e2e tier); its media relay is an rtpengine between the business's SDES or ice-lite DTLS and
 * the simulated user's WebRTC (media/sip-edge-relay.ts). The users are the same scripted users as in
 * API mode; what differs is only how things are said:
 *   business-initiated  INVITE -> 407 digest (realm wa.meta.vc) -> checks (From domain, permission,
 *                       limits) -> 180 -> 200 OK with Meta's headers, or 486 / 480 / 403 variants
 *   user-initiated      INVITE to sip:+<business>[;params]@<servers[0].hostname>:<port>;transport=tls
 *                       with Call-ID outgoing:wacid.…, X-FB-External-Domain, x-wa-meta-* headers,
 *                       answering the business's digest challenge with the generated password
 * A bad digest is re-challenged (Meta documents its answer only as "403 (other)"; watrunk handles both).
 */

const ALLOW = 'INVITE, ACK, BYE, CANCEL, NOTIFY, OPTIONS';

interface SipCallHandle {
  dialog?: SrfDialog;
  res?: SrfResponse;
  invite?: { cancel(): void };
  /** The business ended the call itself (CANCEL, BYE, a failure answer): nothing to send. */
  closedByBusiness: boolean;
  relay: SipEdgeMediaRelay;
}

export class SimulatorSipEdge {
  private readonly srf: SrfLike & { connect(o: unknown): unknown };
  private readonly ng: NgClient;
  private readonly domain: string;
  private connected = false;
  /** Digest failures seen (tests). */
  digestFailures = 0;
  /** Test knob: refuse every digest, as if the business held a password Meta never issued. */
  refuseDigests = false;

  constructor(private readonly rt: SimulatorRuntime, private readonly cfg: SipEdgeConfig, private readonly secret: string) {
    this.srf = new (Srf as unknown as new () => SrfLike & { connect(o: unknown): unknown })();
    this.ng = new NgClient({ timeoutMs: 5_000 });
    this.domain = cfg.domain;
  }

  /** Connects to the edge's drachtio-server; resolves once connected (bounded). */
  start(timeoutMs = 10_000): Promise<void> {
    this.srf.invite((req, res) => {
      this.onInvite(req, res).catch((err: unknown) => {
        this.rt.log.error({ err, sipCallId: req.callId }, 'simulated SIP edge: INVITE handling failed');
        if (!res.finalResponseSent) res.send(500);
      });
    });
    this.srf.options((_req, res) => res.send(200, { headers: { Allow: ALLOW, 'X-FB-External-Domain': this.domain } }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the SIP edge's drachtio-server at ${this.cfg.drachtio.host}:${this.cfg.drachtio.port} did not accept the connection in time`)), timeoutMs);
      this.srf.on('connect', (err) => {
        clearTimeout(timer);
        if (err) return reject(err);
        this.connected = true;
        this.rt.log.info({ drachtio: `${this.cfg.drachtio.host}:${this.cfg.drachtio.port}` }, 'simulated Meta SIP edge connected');
        resolve();
      });
      this.srf.on('error', (err) => this.rt.log.debug({ err }, 'SIP edge drachtio connection error'));
      this.srf.connect({ host: this.cfg.drachtio.host, port: this.cfg.drachtio.port, secret: this.secret });
    });
  }

  stop(): void {
    if (this.connected) this.srf.disconnect();
    this.connected = false;
    this.ng.close();
  }

  private relayFor(number: BusinessNumber, callId: string): SipEdgeMediaRelay {
    const profile = this.rt.settings.srtpKeyExchange(number.identity.phoneNumberId) === 'SDES' ? 'sdes' : 'dtls';
    return new SipEdgeMediaRelay({ client: this.ng, engine: { host: this.cfg.rtpengine.host, port: this.cfg.rtpengine.port }, callId: `edge-${callId}`, profile });
  }

  /** The user's media, closing the relay with it (endCall closes call.media in every case). */
  private withRelay(media: SimulatedUserMedia, relay: SipEdgeMediaRelay): SimulatedUserMedia {
    return Object.assign(Object.create(media) as SimulatedUserMedia, {
      close: async () => { await Promise.allSettled([media.close(), relay.close()]); },
      report: () => media.report(),
    });
  }

  // --- business-initiated: watrunk's INVITE -------------------------------------------------------

  private async onInvite(req: SrfRequest, res: SrfResponse): Promise<void> {
    const headers = { 'X-FB-External-Domain': this.domain };
    const ruriHost = uriHost(req.uri);
    // An IP address (or anything but Meta's domain) in the Request-URI is answered 404 (docs/sip-mode.md#errors).
    if (ruriHost !== this.domain) return res.send(404, 'Not Found', { headers });
    const creds = parseDigest(req.get('Proxy-Authorization'));
    if (!creds) return res.send(407, 'Proxy Authentication Required', { headers: { ...headers, 'Proxy-Authenticate': challengeHeader(this.domain) } });
    const fromUri = req.getParsedHeader('from').uri;
    const number = [...this.rt.numbers.values()].find((n) => n.identity.displayNumber === creds['username']);
    if (!number || !this.rt.settings.isSipEnabled(number.identity.phoneNumberId)) {
      return res.send(400, 'Asset not found, invalid business phone number', { headers });
    }
    const pnid = number.identity.phoneNumberId;
    const server = this.rt.settings.sipServers(pnid)[0];
    const hostname = String(server?.['hostname'] ?? '');
    const password = this.rt.settings.sipPassword(pnid, hostname);
    if (this.refuseDigests || !digestMatches(creds, 'INVITE', password) || e164Digits(uriUser(fromUri)) !== creds['username']) {
      this.digestFailures++;
      return res.send(407, 'Proxy Authentication Required', { headers: { ...headers, 'Proxy-Authenticate': challengeHeader(this.domain) } });
    }
    const fromHost = uriHost(fromUri) ?? '';
    if (!hostname || (hostname !== fromHost && !hostname.endsWith(`.${fromHost}`))) {
      return res.send(403, `SIP server ${fromHost} from INVITE does not match any SIP server configured for phone number id ${pnid}`, { headers });
    }
    const to = (uriUser(req.uri) ?? '').replace(/^\+/, '');
    const user = this.rt.users.resolve(to);
    const refusal = this.refusal(number, user);
    if (refusal) return res.send(refusal.status, refusal.reason, { headers });

    const now = this.rt.clock();
    const id = this.rt.ids.wacid(user.number || user.key, number.identity.displayNumber);
    const relay = this.relayFor(number, id);
    const media = this.rt.media.create({ toneHz: this.rt.config.media.tone_hz, listenHz: this.rt.config.media.listen_hz });
    let answerSdp: string;
    try {
      answerSdp = await relay.answerFromUser(await media.answer(await relay.offerFromBusiness(req.body)));
    } catch (err) {
      await Promise.allSettled([media.close(), relay.close()]);
      this.rt.log.info({ err: (err as Error).message }, 'simulated SIP edge: SDP offer refused');
      return res.send(488, 'Not Acceptable Here', { headers });
    }
    const handle: SipCallHandle = { res, closedByBusiness: false, relay };
    const call: SimulatedCall = {
      id, phoneNumberId: pnid, businessNumber: number.identity.displayNumber, direction: 'BUSINESS_INITIATED', state: 'calling',
      user, createdAt: now, offerSdp: req.body, answerSdp, media: this.withRelay(media, relay),
      timers: new Set(), webhooks: [], actions: [{ action: 'sip:INVITE', at: now, graphVersion: 'sip', result: 'ok' }], dtmfSent: '',
      sip: { end: (ending) => this.endBusinessInitiated(call, handle, ending) },
    };
    this.rt.calls.add(call);
    req.on('cancel', () => {
      handle.closedByBusiness = true;
      void endCall(this.rt, call, { by: 'business', status: 'COMPLETED', reason: 'cancelled by business' });
    });
    this.playUser(call, handle, req);
  }

  /** Meta's checks before ringing, as SIP answers (docs/sip-mode.md#errors). */
  private refusal(number: BusinessNumber, user: SimulatedUser): { status: number; reason: string } | undefined {
    const pnid = number.identity.phoneNumberId;
    if (this.rt.calls.active(pnid).length >= this.rt.config.limits.max_concurrent_calls) return { status: 503, reason: 'Service Unavailable' };
    // Not on WhatsApp and no permission look the same over SIP.
    if (user.rule.behaviour === 'not_on_whatsapp') return { status: 403, reason: 'No Approved Call Permission Found' };
    if (this.rt.calls.activeWith(pnid, user.key)) return { status: 403, reason: 'Forbidden' };
    try {
      this.rt.permissions.checkCanCall(pnid, user);
    } catch (err) {
      if (err instanceof GraphError && err.code === 138012) return { status: 403, reason: 'Business Initiated Connected Call Per Day Limit Hit' };
      return { status: 403, reason: 'No Approved Call Permission Found' };
    }
    return undefined;
  }

  private playUser(call: SimulatedCall, handle: SipCallHandle, req: SrfRequest): void {
    const rule = call.user.rule;
    const rt = this.rt;
    if (rule.behaviour === 'fail' || rule.behaviour === 'busy') {
      const reason = rule.behaviour === 'busy' ? 'busy' : `failed with ${rule.error_code}`;
      callTimer(rt, call, rule.ring_ms, () => endCall(rt, call, { by: rule.behaviour === 'busy' ? 'user' : 'network', status: rule.behaviour === 'busy' ? 'COMPLETED' : 'FAILED', reason }));
      return;
    }
    callTimer(rt, call, rule.ring_ms, () => {
      call.state = 'ringing';
      call.ringingAt = rt.clock();
      handle.res!.send(180, 'Ringing', { headers: { 'X-FB-External-Domain': this.domain } });
      if (rule.behaviour === 'answer') {
        callTimer(rt, call, rule.answer_after_ms, async () => {
          call.media?.startTalking();
          handle.dialog = await this.srf.createUAS(req, handle.res!, {
            localSdp: call.answerSdp!,
            headers: {
              Contact: `<sip:+${call.user.number || call.user.key}@localhost;transport=tls;ob>;isfocus`,
              'X-FB-External-Domain': this.domain, Allow: ALLOW, Supported: 'timer',
              ...(call.user.userId && { 'x-wa-meta-user-id': call.user.userId }),
              ...(this.cfg.record_route && { 'Record-Route': this.cfg.record_route }),
            },
          });
          this.watchDialog(call, handle);
          markAccepted(rt, call);
        });
      } else if (rule.behaviour === 'reject') {
        callTimer(rt, call, rule.answer_after_ms, () => endCall(rt, call, { by: 'user', status: 'COMPLETED', reason: 'rejected by user' }));
      } else {
        callTimer(rt, call, rt.config.timing.ring_timeout_ms, () => endCall(rt, call, { by: 'timeout', status: 'COMPLETED', reason: 'not answered' }));
      }
    });
  }

  /** How Meta's edge ends a call it has not answered: 486 declined/busy, 480 no answer, 503 failure. */
  private async endBusinessInitiated(call: SimulatedCall, h: SipCallHandle, ending: { by: EndedBy; status: string; reason: string }): Promise<void> {
    if (h.closedByBusiness) return;
    if (h.dialog) {
      await this.bye(call, h.dialog);
      return;
    }
    if (!h.res || h.res.finalResponseSent) return;
    const [status, reason] = /reject|busy/.test(ending.reason) ? [486, 'Busy Here']
      : ending.status === 'FAILED' ? [503, 'Service Unavailable']
        : [480, 'Temporarily Unavailable'];
    h.res.send(status, reason, { headers: { 'X-FB-External-Domain': this.domain } });
  }

  private async bye(call: SimulatedCall, dialog: SrfDialog): Promise<void> {
    const durationS = call.acceptedAt !== undefined ? Math.round((this.rt.clock() - call.acceptedAt) / 1000) : 0;
    await dialog.destroy({ headers: { 'X-FB-External-Domain': this.domain, 'x-wa-meta-wacid': call.id, 'x-wa-meta-call-duration': String(durationS) } });
  }

  private watchDialog(call: SimulatedCall, h: SipCallHandle): void {
    h.dialog!.on('destroy', () => {
      h.closedByBusiness = true;
      void endCall(this.rt, call, { by: 'business', status: 'COMPLETED', reason: 'business hung up' });
    });
  }

  // --- user-initiated: Meta's INVITE to the business -------------------------------------------------

  /** The user calls a SIP-enabled number: Meta's INVITE, over TLS, to the number's SIP server. */
  async startUserCall(number: BusinessNumber, user: SimulatedUser, extra: { ctaPayload?: string; deeplinkPayload?: string }): Promise<{ callId: string }> {
    const pnid = number.identity.phoneNumberId;
    const server = this.rt.settings.sipServers(pnid)[0];
    if (!server) throw Object.assign(new Error('SIP is enabled but no SIP server is configured for the number'), { status: 409 });
    const hostname = String(server['hostname']);
    const port = typeof server['port'] === 'number' ? server['port'] : 5061;
    const params = Object.entries((server['request_uri_user_params'] ?? {}) as Record<string, string>).map(([k, v]) => `;${k}=${v}`).join('');
    const display = number.identity.displayNumber;
    const id = this.rt.ids.wacid(user.number || user.key, display);
    const relay = this.relayFor(number, id);
    const media = this.rt.media.create({ toneHz: this.rt.config.media.tone_hz, listenHz: this.rt.config.media.listen_hz });
    const offer = await relay.offerToBusiness(await media.createOffer());
    media.startTalking();
    const now = this.rt.clock();
    const handle: SipCallHandle = { closedByBusiness: false, relay };
    const call: SimulatedCall = {
      id, phoneNumberId: pnid, businessNumber: display, direction: 'USER_INITIATED', state: 'ringing', user,
      createdAt: now, ringingAt: now, offerSdp: offer, media: this.withRelay(media, relay),
      ...(extra.ctaPayload !== undefined && { ctaPayload: extra.ctaPayload }),
      ...(extra.deeplinkPayload !== undefined && { deeplinkPayload: extra.deeplinkPayload }),
      timers: new Set(), webhooks: [], actions: [], dtmfSent: '',
      sip: { end: () => this.endUserInitiated(call, handle) },
    };
    this.rt.calls.add(call);
    const userPart = user.number ? `+${user.number}` : user.userId ?? user.key;
    const headers: Record<string, string> = {
      From: `"${user.number || user.userId || ''}" <sip:${userPart}@${this.domain}>`,
      To: `<sip:+${display}@${hostname}>`,
      Contact: `<sip:${userPart}@localhost;transport=tls;ob>;isfocus`,
      'Call-ID': `outgoing:${id}`,
      'X-FB-External-Domain': this.domain,
      'User-Agent': 'Facebook SipGateway',
      'x-wa-meta-wacid': id,
      Allow: ALLOW,
      // Meta's proxies record-route; the business must echo this unchanged in its 200 OK (docs/sip-mode.md#record-route).
      ...(this.cfg.record_route && { 'Record-Route': this.cfg.record_route }),
      ...(user.userId && { 'x-wa-meta-user-id': user.userId }),
      ...(extra.ctaPayload !== undefined && { 'x-wa-meta-cta-payload': extra.ctaPayload }),
      ...(extra.deeplinkPayload !== undefined && { 'x-wa-meta-deeplink-payload': extra.deeplinkPayload }),
    };
    this.srf.createUAC(`sip:+${display}${params}@${hostname}:${port};transport=tls`, {
      localSdp: offer, headers,
      proxy: this.cfg.business_proxy ?? `sip:${hostname}:${port};transport=tls`,
      auth: { username: display, password: this.rt.settings.sipPassword(pnid, hostname) },
    }, {
      cbRequest: (_err, invite) => {
        handle.invite = invite;
        if (call.state === 'ended') invite.cancel();
      },
    }).then(async (dialog) => {
      handle.dialog = dialog;
      if (call.state === 'ended') return void dialog.destroy().catch(() => undefined);
      this.watchDialog(call, handle);
      await call.media?.applyAnswer(await relay.answerFromBusiness(dialog.remote.sdp));
      call.answerSdp = dialog.remote.sdp;
      markAccepted(this.rt, call);
    }).catch((err: unknown) => {
      const e = err as SrfUacError;
      handle.closedByBusiness = true;
      void endCall(this.rt, call, { by: 'business', status: 'COMPLETED', reason: `rejected by business (${e.status ?? e.message ?? 'error'})` });
    });
    // No Graph accept window in SIP mode; the same bound keeps a forgotten INVITE from ringing forever.
    callTimer(this.rt, call, this.rt.config.timing.accept_window_ms, () => endCall(this.rt, call, { by: 'timeout', status: 'COMPLETED', reason: 'not answered within the accept window' }));
    return { callId: id };
  }

  private async endUserInitiated(call: SimulatedCall, h: SipCallHandle): Promise<void> {
    if (h.closedByBusiness) return;
    if (h.dialog) await this.bye(call, h.dialog);
    else h.invite?.cancel();
  }
}
