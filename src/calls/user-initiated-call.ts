import { WebhookToSipTimer } from './webhook-latency.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import { ProviderError } from './ports/whatsapp-errors.js';
import type { CallEvent, CallOffered, CallTerminated } from './ports/whatsapp-events.js';
import type { WhatsAppCalls } from './ports/whatsapp-provider.js';
import { CallEnding, endOnWhatsApp } from './call-ending.js';
import { CallRecord } from './call-record.js';
import { BYE_SHUTTING_DOWN, byeAfterMediaTimeout, byeAfterWhatsAppEnded, endingForPbxHangup, mediaTimeoutText, endedByWhatsApp, type Ending } from './call-outcome.js';
import type { InboundRoute } from './inbound-route.js';
import { MediaWatch, type MediaTimeout, type MediaWatchTiming } from './media-watch.js';
import { PbxReoffers } from './pbx-reoffer.js';
import type { MediaSession } from './ports/media-engine.js';
import { SipFailure, type PbxUacLeg, type PbxProgress, type PbxDialer, type SipHangup } from './ports/sip.js';
import { SerialQueue } from './serial-queue.js';

/**
 * States of a WhatsApp -> PBX call (user-initiated). Transitions, all in this file:
 *
 *   offering ──> ringing ──> early_media ──> accepting ──> answered ──> ended
 *       │           │    └──────────────────────^              │
 *       └───────────┴─────────────┴──────────────┴──────────────┴──> ended
 *
 *  offering     rtpengine turns WhatsApp's WebRTC offer into a plain-RTP offer for the PBX
 *  ringing      INVITE sent to the PBX
 *  early_media  the PBX gave SDP (183): the WebRTC answer exists and was sent with pre_accept
 *  accepting    the PBX answered (200): `accept` with the same SDP is in flight
 *  answered     `accept` returned 200: media toward WhatsApp released
 *
 * Meta counts the first media packet as the answer (docs/whatsapp-calling.md#first-media-is-the-answer), so media from the PBX toward
 * WhatsApp is blocked in rtpengine from the start and released only when `accept` has succeeded:
 * ringback and announcements never reach the user early.
 */
export type UserInitiatedCallState = 'offering' | 'ringing' | 'early_media' | 'accepting' | 'answered' | 'ended';

export interface UserInitiatedCallDeps {
  id: string;
  offer: CallOffered;
  route: InboundRoute;
  dialer: PbxDialer;
  auth?: { username: string; password: string };
  media: MediaSession;
  calls: WhatsAppCalls;
  numberName: string;
  /** CANCEL the PBX and reject on WhatsApp when the PBX has not answered in time. */
  ringTimeoutMs: number;
  /** Dead-peer detection from RTP once answered (absent: off). */
  mediaWatch?: MediaWatchTiming;
  logger: Logger;
  metrics: Metrics;
  onEnded: () => void;
}

export class UserInitiatedCall {
  readonly direction = 'USER_INITIATED' as const;
  private stateValue: UserInitiatedCallState = 'offering';
  private leg?: PbxUacLeg;
  /** The WebRTC answer: sent with pre_accept and, unchanged, with accept (docs/whatsapp-calling.md#call-actions). */
  private waAnswer?: string;
  private preAccepted = false;
  private pbxOffer?: string;
  private reoffers?: PbxReoffers;
  private watch?: MediaWatch;
  private ringTimer?: NodeJS.Timeout;
  /** Set synchronously by shutdown(): set-up steps still running stop before the PBX is rung. */
  private stopping = false;
  private readonly queue: SerialQueue;
  private readonly webhookToSip: WebhookToSipTimer;
  private readonly record: CallRecord;
  private readonly log: Logger;
  private readonly ending: CallEnding;

  constructor(private readonly d: UserInitiatedCallDeps) {
    this.log = d.logger.child({ callId: d.id, number: d.numberName, waCallId: d.offer.callId });
    this.queue = new SerialQueue((err) => this.log.error({ err }, 'call step failed'));
    this.webhookToSip = new WebhookToSipTimer(d.metrics);
    this.record = new CallRecord(d.id, 'USER_INITIATED', {
      sipCallId: '', number: d.numberName, from: d.offer.user.number || d.offer.user.userId || '', to: d.route.uri,
    }, d.metrics);
    this.record.waCallId = d.offer.callId;
    this.ending = new CallEnding({ media: d.media, record: this.record, logger: d.logger, log: this.log, onEnded: d.onEnded });
  }

  get id(): string { return this.d.id; }
  get state(): UserInitiatedCallState { return this.stateValue; }
  get numberName(): string { return this.d.numberName; }
  get whatsappCallId(): string { return this.d.offer.callId; }

  start(): Promise<void> {
    this.record.begin();
    this.log.debug({ from: this.record.fields.from, target: this.d.route.uri, cta: this.d.offer.ctaPayload }, 'WhatsApp call to the PBX');
    return this.queue.push(() => this.setUp());
  }

  handleEvent(e: CallEvent): Promise<void> {
    return this.queue.push(() => this.webhookToSip.time(e, () => this.onWhatsAppEvent(e)));
  }

  shutdown(): Promise<void> {
    this.stopping = true;
    return this.queue.push(async () => {
      if (this.stateValue === 'ended') return;
      if (this.stateValue === 'answered') {
        // WhatsApp first: it bills, and a BYE to a vanished PBX can take 32 s (RFC 3261 timer F).
        await this.terminateWhatsApp();
        await this.leg?.hangup(BYE_SHUTTING_DOWN);
      } else {
        this.leg?.cancel();
        await this.rejectWhatsApp();
      }
      await this.end({ outcome: 'shutdown', endedBy: 'watrunk' });
    });
  }

  whenEnded(): Promise<void> { return this.ending.ended; }
  idle(): Promise<void> { return this.queue.idle(); }

  // --- set-up ---------------------------------------------------------------------------------

  private async setUp(): Promise<void> {
    // shutdown() came first (watrunk stopping): it has rejected the call on WhatsApp.
    if (this.stopping && this.stateValue === 'ended') return;
    try {
      this.pbxOffer = await this.d.media.offerToPbx(this.d.offer.sdpOffer);
      // Hold media toward WhatsApp until accept succeeds (see the class comment).
      await this.d.media.blockToWhatsApp();
    } catch (err) {
      this.log.error({ err }, 'media engine could not take WhatsApp\'s offer: rejecting');
      await this.rejectWhatsApp();
      return this.end({ outcome: 'failed', endedBy: 'watrunk', cause: 'media_error' });
    }
    // Stopping: the PBX is not rung; the queued shutdown rejects on WhatsApp.
    if (this.stateValue === 'ended' || this.stopping) return;
    const leg = this.d.dialer.dial({
      uri: this.d.route.uri,
      sdp: this.pbxOffer,
      callingNumber: this.d.route.callingNumber,
      ...(this.d.route.callingName ? { callingName: this.d.route.callingName } : {}),
      headers: this.d.route.headers,
      ...(this.d.auth ? { auth: this.d.auth } : {}),
    });
    this.leg = leg;
    leg.onHangup((info) => this.queue.push(() => this.onPbxHangup(info)));
    leg.onReoffer(async (sdp) => {
      if (!this.reoffers) throw new Error('re-offer before the PBX answered');
      return this.reoffers.answer(sdp);
    });
    this.stateValue = 'ringing';
    this.ringTimer = setTimeout(() => this.queue.push(() => this.onRingTimeout()), this.d.ringTimeoutMs);
    leg.invite({ onProgress: (p) => { void this.queue.push(() => this.onPbxProgress(p)); } }).then(
      (r) => this.queue.push(() => this.onPbxAnswered(r.sdp)),
      (err: unknown) => this.queue.push(() => this.onPbxFailed(err)),
    );
  }

  // --- PBX side -------------------------------------------------------------------------------

  private async onPbxProgress(p: PbxProgress): Promise<void> {
    if (this.stateValue !== 'ringing') return;
    this.record.firstResponse();
    this.record.fields.sipCallId = this.leg?.sipCallId ?? '';
    // 180 without SDP: nothing to tell WhatsApp yet (the caller already hears local ringing).
    if (!p.sdp) return;
    if (!(await this.makeAnswer(p.sdp))) return;
    try {
      await this.d.calls.preAccept(this.d.offer.callId, this.waAnswer!);
      this.preAccepted = true;
    } catch (err) {
      return this.whatsappActionFailed('pre_accept', err);
    }
    if (this.stateValue === 'ringing') this.stateValue = 'early_media';
  }

  private async onPbxAnswered(sdp: string): Promise<void> {
    if (this.stateValue === 'ended') {
      // The PBX answered while the call was being torn down (CANCEL/200 race): hang it up.
      await this.leg?.hangup({ Reason: 'Q.850;cause=16;text="WhatsApp call already ended"' });
      return;
    }
    this.record.fields.sipCallId = this.leg?.sipCallId ?? '';
    if (this.ringTimer) clearTimeout(this.ringTimer);
    if (this.waAnswer === undefined && !(await this.makeAnswer(sdp))) return;
    this.stateValue = 'accepting';
    try {
      // Same SDP as pre_accept: Meta refuses a different one (docs/whatsapp-calling.md#call-actions).
      await this.d.calls.accept(this.d.offer.callId, this.waAnswer!, this.d.id);
    } catch (err) {
      return this.whatsappActionFailed('accept', err);
    }
    if (this.stateValue !== 'accepting') return;
    await this.d.media.unblockToWhatsApp().catch((err: unknown) => this.log.error({ err }, 'could not release media toward WhatsApp'));
    this.stateValue = 'answered';
    this.record.answered();
    this.log.debug({ preAccepted: this.preAccepted }, 'call answered');
    this.watchMedia();
  }

  private watchMedia(): void {
    if (!this.d.mediaWatch) return;
    this.watch = new MediaWatch({
      media: this.d.media, timing: this.d.mediaWatch, log: this.log,
      pbxSends: () => this.reoffers?.pbxSends ?? true,
      onTimeout: (cause, silentForMs) => { void this.queue.push(() => this.onMediaTimeout(cause, silentForMs)); },
    });
    this.watch.start();
  }

  /** A side stopped sending RTP: the peer is gone (docs/sip.md#dead-peers). End both sides. */
  private async onMediaTimeout(cause: MediaTimeout, silentForMs: number): Promise<void> {
    if (this.stateValue !== 'answered') return;
    this.log.warn({ cause, silentForMs }, `${mediaTimeoutText(cause)}: ending the call`);
    await this.terminateWhatsApp();
    await this.leg?.hangup(byeAfterMediaTimeout(cause, this.d.offer.callId));
    await this.end({ outcome: 'media_timeout', endedBy: 'watrunk', cause });
  }


  private async onPbxFailed(err: unknown): Promise<void> {
    if (this.stateValue === 'ended') return;
    const status = err instanceof SipFailure ? err.status : 500;
    this.log.info({ status, reason: (err as Error)?.message }, 'the PBX refused the call: rejecting on WhatsApp');
    await this.rejectWhatsApp();
    await this.end({ outcome: 'failed', endedBy: 'pbx', sipStatus: status, cause: `pbx_${status}` });
  }

  private async onPbxHangup(info: SipHangup): Promise<void> {
    if (this.stateValue === 'ended') return;
    if (info.lost) this.log.warn({ cause: info.lost }, 'the PBX is gone (the SIP adapter ended the dialog): ending the call');
    else this.log.debug('PBX hung up');
    await this.terminateWhatsApp();
    await this.end(endingForPbxHangup(info));
  }


  private async onRingTimeout(): Promise<void> {
    if (this.stateValue !== 'ringing' && this.stateValue !== 'early_media') return;
    this.log.info({ afterMs: this.d.ringTimeoutMs }, 'the PBX did not answer in time: CANCEL and reject');
    this.leg?.cancel();
    await this.rejectWhatsApp();
    await this.end({ outcome: 'no_answer', endedBy: 'watrunk', cause: 'pbx_no_answer' });
  }

  // --- WhatsApp side --------------------------------------------------------------------------

  private async onWhatsAppEvent(e: CallEvent): Promise<void> {
    if (this.stateValue === 'ended' || e.kind !== 'call.terminated') return;
    return this.onTerminated(e);
  }

  private async onTerminated(e: CallTerminated): Promise<void> {
    if (this.stateValue === 'answered') {
      if (this.leg) await this.webhookToSip.send(this.leg.hangup(byeAfterWhatsAppEnded(e, this.d.offer.callId)));
      return this.end(endedByWhatsApp(e, 'completed'));
    }
    this.log.info({ status: e.status, errors: e.errors.map((x) => x.code) }, 'WhatsApp ended the call before the PBX answered: CANCEL');
    this.leg?.cancel();
    return this.end(endedByWhatsApp(e, 'cancelled', { cause: 'caller_gone' }));
  }

  private async makeAnswer(pbxSdp: string): Promise<boolean> {
    try {
      this.waAnswer = await this.d.media.answerFromPbx(pbxSdp);
      this.reoffers = new PbxReoffers(this.d.media, this.log, pbxSdp, this.pbxOffer!);
      return this.stateValue !== 'ended';
    } catch (err) {
      this.log.error({ err }, 'media engine refused the PBX\'s SDP');
      this.leg?.cancel();
      await this.leg?.hangup();
      await this.rejectWhatsApp();
      await this.end({ outcome: 'failed', endedBy: 'watrunk', cause: 'media_error' });
      return false;
    }
  }

  /** pre_accept/accept failed: nothing may stay open on either side. */
  private async whatsappActionFailed(action: string, err: unknown): Promise<void> {
    const detail = err instanceof ProviderError ? err.toLog() : err;
    this.log.error({ err: detail, action }, `${action} failed: ending the call on both sides`);
    this.leg?.cancel();
    await this.leg?.hangup({ Reason: `Q.850;cause=41;text="WhatsApp ${action} failed"` });
    if (action === 'accept') await this.terminateWhatsApp();
    else await this.rejectWhatsApp();
    await this.end({
      outcome: 'failed', endedBy: 'whatsapp', cause: `${action}_failed`,
      ...(err instanceof ProviderError ? { waErrorCode: err.code } : {}),
    });
  }

  private rejectWhatsApp(): Promise<void> {
    return endOnWhatsApp(this.d.calls, 'reject', this.d.offer.callId, this.log);
  }

  private terminateWhatsApp(): Promise<void> {
    return endOnWhatsApp(this.d.calls, 'terminate', this.d.offer.callId, this.log);
  }

  private end(ending: Ending): Promise<void> {
    this.stateValue = 'ended';
    this.watch?.stop();
    if (this.ringTimer) clearTimeout(this.ringTimer);
    return this.ending.run(ending);
  }
}
