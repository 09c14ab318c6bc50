import { randomBytes } from 'node:crypto';
import type { ResolvedMetaSip } from '../../config/meta-sip-schema.js';
import type { CallEvent, CallOffered, CallTerminated, WhatsAppUser } from '../../calls/ports/whatsapp-events.js';
import { ProviderError } from '../../calls/ports/whatsapp-errors.js';
import type { ConnectRequest, WhatsAppCalls } from '../../calls/ports/whatsapp-provider.js';
import { shouldRefetchPassword } from '../../calls/meta-sip-failures.js';
import type { Logger } from '../../logging.js';
import type { SrfDialog, SrfLike, SrfRequest, SrfResponse, SrfUacError } from '../drachtio/srf-types.js';
import { watchConnectionLoss } from '../drachtio/connection-loss.js';
import type { MetaSipPassword } from './meta-sip-password.js';
import {
  callDurationOf, fromForBusiness, requestUriForUser, toForUser, uriUser, userFromHeaders,
} from './meta-sip-identity.js';

/**
 * The WhatsApp calls port of a number in SIP mode (docs/sip-mode.md): Meta's edge is reached with
 * SIP over TLS instead of the Graph API, and Meta's SIP answers become the same provider-neutral
 * events the webhooks give in API mode, so the call objects in src/calls/ do not know the
 * difference:
 *   business-initiated  connect -> INVITE (407 digest answered with the Meta SIP password)
 *                       18x -> call.ringing, 200 -> call.answered + call.accepted,
 *                       final failure -> call.terminated carrying Meta's SIP answer, BYE -> call.terminated
 *   user-initiated      Meta's INVITE (after our digest challenge) -> call.offered
 *                       preAccept -> 180, accept -> 200 OK with our SDP, reject -> 480,
 *                       CANCEL or BYE from Meta -> call.terminated
 * WhatsApp does not renegotiate (docs/whatsapp-calling.md#sdp-rules): watrunk never sends a re-INVITE toward
 * Meta, and answers one from Meta with the SDP it already gave.
 */

export interface MetaSipNumber {
  name: string;
  /** Digits with country code: the From user and the digest username. */
  displayNumber: string;
  /** What events name the number by: phone_number_id, else the display number (number-directory.ts numberKey). */
  eventKey: string;
}

export interface MetaSipCallsDeps {
  srf: SrfLike;
  connected: () => boolean;
  number: MetaSipNumber;
  sip: ResolvedMetaSip;
  password: MetaSipPassword;
  /** Where the events go: the same dispatcher as webhook events. */
  emit: (events: CallEvent[]) => void;
  logger: Logger;
  /**
   * Meta's INVITE still unanswered after this (the call logic never took it): 480 and forgotten.
   * Meta's own user-side timeout is about 30-60 s (docs/sip-mode.md#user-initiated).
   */
  unansweredInviteMs?: number;
  /** Counts digest failures and what the password re-fetch did (metrics). */
  onDigestFailure?: (refresh: { fetched: boolean; changed: boolean }) => void;
}

interface OutgoingCall {
  id: string;
  to: string;
  trackingData?: string;
  invite?: { cancel(): void };
  cancelWanted: boolean;
  dialog?: SrfDialog;
  ringing: boolean;
  ended: boolean;
}

interface IncomingCall {
  id: string;
  giveUp?: NodeJS.Timeout;
  req: SrfRequest;
  res: SrfResponse;
  user: WhatsAppUser;
  dialog?: SrfDialog;
  ringing: boolean;
  ended: boolean;
}

const nowS = () => Math.floor(Date.now() / 1000);

export class MetaSipCalls implements WhatsAppCalls {
  private readonly outgoing = new Map<string, OutgoingCall>();
  private readonly incoming = new Map<string, IncomingCall>();
  private readonly log: Logger;

  constructor(private readonly d: MetaSipCallsDeps) {
    this.log = d.logger.child({ component: 'meta-sip', number: d.number.name });
  }

  /** Calls in progress (leak checks in tests). */
  get openCalls(): number {
    return this.outgoing.size + this.incoming.size;
  }

  // --- business-initiated ---------------------------------------------------------------------

  /**
   * Sends the INVITE and resolves with the call's id (watrunk's own, `sip.…`) as soon as it is on
   * its way; everything Meta answers after that arrives as events.
   */
  async connect(req: ConnectRequest): Promise<{ callId: string }> {
    if (!this.d.connected()) throw new ProviderError('drachtio-server is not connected: no SIP toward Meta', 'network', { operation: 'connect' });
    let password: string;
    try {
      password = await this.d.password.get();
    } catch (err) {
      throw new ProviderError(`no Meta SIP password: ${(err as Error).message}`, 'api', { operation: 'connect', category: 'config' });
    }
    // The call's id is watrunk's own (drachtio-srf does not always show the SIP Call-ID of a request
    // it is still sending); the SIP Call-ID is logged next to it.
    const call: OutgoingCall = { id: `sip.${randomBytes(12).toString('base64url')}`, to: req.to, ...(req.trackingData !== undefined && { trackingData: req.trackingData }), cancelWanted: false, ringing: false, ended: false };
    this.outgoing.set(call.id, call);
    await new Promise<void>((resolve, reject) => {
      void this.runInvite(call, req.sdpOffer, password, resolve).catch((err: unknown) => {
        this.outgoing.delete(call.id);
        reject(err);
      });
    });
    return { callId: call.id };
  }

  /** The INVITE, once more after Meta refused a stale password that a re-fetch replaced. */
  private async runInvite(call: OutgoingCall, sdp: string, password: string, onSent: () => void): Promise<void> {
    let sent = false;
    // The INVITE transaction dies with the drachtio-server connection and drachtio-srf then never
    // settles it: fail it here, so the call ends instead of ringing on (as DrachtioUacLeg does).
    let unwatch: () => void = () => undefined;
    const lost = new Promise<never>((_resolve, reject) => {
      unwatch = watchConnectionLoss(this.d.srf, () => reject(Object.assign(new Error('drachtio-server connection lost'), { status: 503, reason: 'drachtio-server connection lost' })));
    });
    lost.catch(() => undefined);
    try {
      return await this.attempts(call, sdp, password, lost, () => { if (!sent) { sent = true; onSent(); } }, () => sent);
    } finally {
      unwatch();
    }
  }

  private async attempts(call: OutgoingCall, sdp: string, password: string, lost: Promise<never>, onSent: () => void, sent: () => boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const dialog = await Promise.race([this.sendInvite(call, sdp, password, (sipCallId) => {
          this.log.debug({ callId: call.id, sipCallId, attempt }, 'INVITE sent to Meta');
          onSent();
        }), lost]);
        return this.onAnswered(call, dialog);
      } catch (err) {
        const e = err as SrfUacError;
        const answer = { status: e.status ?? 500, reason: e.reason ?? e.message ?? 'INVITE failed', afterCredentials: true };
        if (!sent()) throw new ProviderError(`the INVITE toward Meta could not be sent: ${answer.reason}`, 'network', { operation: 'connect' });
        if (shouldRefetchPassword(answer) && attempt === 0 && !call.cancelWanted) {
          const refresh = await this.d.password.refresh();
          this.d.onDigestFailure?.(refresh);
          // Another call's re-fetch may already have brought the new password: compare with the one used.
          const current = await this.d.password.get().catch(() => password);
          if (current !== password && !call.cancelWanted) {
            password = current;
            this.log.info({ callId: call.id }, 'INVITE sent again with the re-fetched SIP password');
            continue;
          }
        }
        return this.onFailed(call, answer);
      }
    }
  }

  private sendInvite(call: OutgoingCall, sdp: string, password: string, onSent: (sipCallId: string) => void): Promise<SrfDialog> {
    const { sip, number } = this.d;
    return this.d.srf.createUAC(requestUriForUser(call.to, sip.domain), {
      localSdp: sdp,
      proxy: sip.edge_uri,
      headers: {
        From: fromForBusiness(number.displayNumber, sip.hostname),
        To: toForUser(call.to, sip.domain),
        // drachtio-server replaces "localhost" with its own address (of the TLS transport used).
        Contact: `<sip:+${number.displayNumber}@localhost;transport=tls>`,
        Allow: 'INVITE, ACK, BYE, CANCEL, OPTIONS',
      },
      // Meta's digest username is the business number without '+' (docs/sip-mode.md#password).
      auth: { username: number.displayNumber, password },
    }, {
      cbRequest: (_err, inviteReq) => {
        call.invite = inviteReq;
        const r = inviteReq as unknown as Partial<SrfRequest>;
        onSent(r.get?.('Call-ID') ?? r.callId ?? '');
        if (call.cancelWanted) inviteReq.cancel();
      },
      cbProvisional: (res) => {
        if (res.status > 100 && !call.ringing) {
          call.ringing = true;
          this.d.emit([{ kind: 'call.ringing', ...this.base(call.id), user: this.userOf(call), ...this.tracking(call) }]);
        }
      },
    });
  }

  private onAnswered(call: OutgoingCall, dialog: SrfDialog): void {
    if (call.cancelWanted) {
      // Answered while watrunk was cancelling (the 200 crossed the CANCEL): end it at once.
      void dialog.destroy().catch(() => undefined);
      this.forget(call, 'outgoing');
      return;
    }
    call.dialog = dialog;
    const user = { ...this.userOf(call), ...userFromHeaders((n) => dialog.res?.get(n), undefined) };
    if (!user.number) user.number = /^[0-9]+$/.test(call.to) ? call.to : '';
    this.watchDialog(call.id, dialog, 'outgoing');
    const base = this.base(call.id);
    this.d.emit([
      { kind: 'call.answered', direction: 'BUSINESS_INITIATED', ...base, user, businessNumber: this.d.number.displayNumber, sdpAnswer: dialog.remote.sdp, ...this.tracking(call) },
      // Meta's 200 OK is the user's answer: there is no separate ACCEPTED status in SIP mode.
      { kind: 'call.accepted', ...base, user, ...this.tracking(call) },
    ]);
  }

  private onFailed(call: OutgoingCall, answer: { status: number; reason: string; afterCredentials: boolean }): void {
    if (this.forget(call, 'outgoing')) {
      this.log.info({ callId: call.id, status: answer.status, reason: answer.reason }, 'Meta answered the INVITE with a failure');
      this.d.emit([this.terminated(call.id, this.userOf(call), { status: 'FAILED', sipAnswer: answer, ...this.tracking(call) })]);
    }
  }

  // --- user-initiated -------------------------------------------------------------------------

  /**
   * Meta's INVITE, identified and authenticated by the ingress (meta-sip-ingress.ts): remembered
   * until the call logic answers it, and handed on as a call.offered event.
   */
  offerFromMeta(req: SrfRequest, res: SrfResponse, waCallId: string): CallOffered {
    const from = req.getParsedHeader('from');
    const user = userFromHeaders((n) => req.get(n), uriUser(from.uri));
    if (!user.number && from.name) {
      const shown = from.name.replace(/"/g, '').trim();
      if (/^[0-9]+$/.test(shown)) user.number = shown;
    }
    const call: IncomingCall = { id: waCallId, req, res, user, ringing: false, ended: false };
    this.incoming.set(waCallId, call);
    call.giveUp = setTimeout(() => {
      if (call.dialog || !this.forget(call, 'incoming')) return;
      this.log.warn({ waCallId }, 'Meta\'s INVITE was never answered by the call logic: 480');
      if (!res.finalResponseSent) res.send(480, 'Temporarily Unavailable');
      this.d.emit([this.terminated(waCallId, user, { status: 'FAILED', direction: 'USER_INITIATED' })]);
    }, this.d.unansweredInviteMs ?? 90_000);
    call.giveUp.unref();
    req.on('cancel', () => {
      if (!this.forget(call, 'incoming')) return;
      this.log.info({ waCallId }, 'Meta cancelled the INVITE (the user hung up while it rang)');
      this.d.emit([this.terminated(waCallId, user, { status: 'FAILED', direction: 'USER_INITIATED' })]);
    });
    const cta = req.get('x-wa-meta-cta-payload');
    const deeplink = req.get('x-wa-meta-deeplink-payload');
    return {
      kind: 'call.offered', direction: 'USER_INITIATED', ...this.base(waCallId), user,
      businessNumber: this.d.number.displayNumber, sdpOffer: req.body,
      ...(cta && { ctaPayload: cta }), ...(deeplink && { deeplinkPayload: deeplink }),
    };
  }

  /** 180 Ringing: Meta's INVITE stays unanswered, and no media reaches the user before the 200 OK. */
  async preAccept(callId: string): Promise<void> {
    const call = this.incomingCall(callId, 'pre_accept');
    if (call.ringing || call.res.finalResponseSent) return;
    call.ringing = true;
    call.res.send(180);
  }

  async accept(callId: string, sdpAnswer: string): Promise<void> {
    const call = this.incomingCall(callId, 'accept');
    if (call.dialog) return;
    clearTimeout(call.giveUp);
    try {
      // drachtio-server echoes Meta's Record-Route in the 200 OK unchanged, as RFC 3261 §12.1.1 asks
      // and Meta requires (docs/sip-mode.md#record-route).
      call.dialog = await this.d.srf.createUAS(call.req, call.res, {
        localSdp: sdpAnswer,
        headers: { Contact: `<sip:+${this.d.number.displayNumber}@localhost;transport=tls>`, Allow: 'INVITE, ACK, BYE, CANCEL, OPTIONS' },
      });
    } catch (err) {
      this.forget(call, 'incoming');
      throw new ProviderError(`the 200 OK to Meta failed: ${(err as Error).message}`, 'network', { operation: 'accept' });
    }
    this.watchDialog(callId, call.dialog, 'incoming');
  }

  async reject(callId: string): Promise<void> {
    const call = this.incoming.get(callId);
    if (!call) return;
    this.forget(call, 'incoming');
    if (!call.res.finalResponseSent) call.res.send(480, 'Temporarily Unavailable');
  }

  // --- both -----------------------------------------------------------------------------------

  /** BYE when the call is up, CANCEL (or a final answer to Meta's INVITE) before; nothing left: done. */
  async terminate(callId: string): Promise<void> {
    const out = this.outgoing.get(callId);
    if (out) {
      if (out.dialog) {
        this.forget(out, 'outgoing');
        await out.dialog.destroy().catch((err: unknown) => this.log.warn({ err, callId }, 'BYE toward Meta failed'));
      } else {
        out.cancelWanted = true;
        out.invite?.cancel();
      }
      return;
    }
    const inc = this.incoming.get(callId);
    if (!inc) {
      this.log.debug({ callId }, 'terminate: no SIP dialog left for this call');
      return;
    }
    this.forget(inc, 'incoming');
    if (inc.dialog) await inc.dialog.destroy().catch((err: unknown) => this.log.warn({ err, waCallId: callId }, 'BYE toward Meta failed'));
    else if (!inc.res.finalResponseSent) inc.res.send(480, 'Temporarily Unavailable');
  }

  private watchDialog(callId: string, dialog: SrfDialog, side: 'outgoing' | 'incoming'): void {
    dialog.on('destroy', (bye: SrfRequest) => {
      const call = side === 'outgoing' ? this.outgoing.get(callId) : this.incoming.get(callId);
      if (!call || !this.forget(call, side)) return;
      const durationS = callDurationOf((n) => bye?.get?.(n));
      const user = side === 'outgoing' ? this.userOf(call as OutgoingCall) : (call as IncomingCall).user;
      this.d.emit([this.terminated(callId, user, {
        status: 'COMPLETED',
        direction: side === 'outgoing' ? 'BUSINESS_INITIATED' : 'USER_INITIATED',
        ...(durationS !== undefined && { durationS }),
        ...(side === 'outgoing' ? this.tracking(call as OutgoingCall) : {}),
      })]);
    });
    // No renegotiation with Meta: a re-INVITE from it gets the SDP it already has.
    dialog.on('modify', (_req, res) => res.send(200, { body: dialog.local.sdp }));
  }

  private incomingCall(callId: string, action: string): IncomingCall {
    const call = this.incoming.get(callId);
    if (!call || call.ended) throw new ProviderError(`no pending SIP INVITE from Meta for call ${callId}`, 'api', { operation: action, code: 138019 });
    return call;
  }

  /** Marks the call ended; false when it already was (each end is reported once). */
  private forget(call: OutgoingCall | IncomingCall, side: 'outgoing' | 'incoming'): boolean {
    if (call.ended) return false;
    call.ended = true;
    if ('giveUp' in call) clearTimeout(call.giveUp);
    if (side === 'outgoing') this.outgoing.delete(call.id);
    else this.incoming.delete(call.id);
    return true;
  }

  private base(callId: string) {
    return { phoneNumberId: this.d.number.eventKey, callId, timestamp: nowS() };
  }

  private userOf(call: OutgoingCall): WhatsAppUser {
    return /^[0-9]+$/.test(call.to) ? { number: call.to } : { number: '', userId: call.to };
  }

  private tracking(call: OutgoingCall): { trackingData?: string } {
    return call.trackingData !== undefined ? { trackingData: call.trackingData } : {};
  }

  private terminated(callId: string, user: WhatsAppUser, extra: Partial<CallTerminated>): CallTerminated {
    return { kind: 'call.terminated', ...this.base(callId), user, businessNumber: this.d.number.displayNumber, status: 'COMPLETED', errors: [], ...extra };
  }
}
