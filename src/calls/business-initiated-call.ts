import { WebhookToSipTimer } from './webhook-latency.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import { ProviderError } from './ports/whatsapp-errors.js';
import type { CallEvent, CallTerminated } from './ports/whatsapp-events.js';
import type { WhatsAppCalls } from './ports/whatsapp-provider.js';
import { CallEnding, endOnWhatsApp } from './call-ending.js';
import { CallRecord } from './call-record.js';
import { SHUTTING_DOWN } from './pbx-invite-checks.js';
import {
  BYE_SHUTTING_DOWN, byeAfterMediaTimeout, byeAfterWhatsAppEnded, endingForPbxHangup, mediaTimeoutText, endedByWhatsApp, failed, type EndedBy, type Ending,
} from './call-outcome.js';
import {
  NO_ANSWER, REJECTED, failureHeaders, mapProviderError, mapTerminateBeforeAnswer,
  type SipFailureResponse,
} from './failure-mapping.js';
import { MediaWatch, type MediaTimeout, type MediaWatchTiming } from './media-watch.js';
import { restoreDeclined, type DeclinedMedia } from './pbx-sdp.js';
import { PbxReoffers } from './pbx-reoffer.js';
import type { MediaSession } from './ports/media-engine.js';
import type { PbxUasLeg, SipHangup, SipHeaders } from './ports/sip.js';
import { SerialQueue } from './serial-queue.js';

/**
 * States of a PBX -> WhatsApp call (business-initiated). Transitions, all in this file:
 *
 *   offering ──> connecting ──> ringing ──> early_media ──> answered ──> ended
 *       │             │            │             │              │
 *       └─────────────┴────────────┴─────────────┴──────────────┴──> ended
 *
 *  offering     rtpengine turns the PBX's RTP offer into a WebRTC offer
 *  connecting   Graph `connect` in flight (webhooks may already arrive: matched by tracking data)
 *  ringing      WhatsApp call id known; waiting for the SDP answer / RINGING
 *  early_media  WhatsApp's answer applied, 183 with SDP sent: the PBX hears WhatsApp from the first word
 *  answered     200 OK sent, on ACCEPTED or the first media from WhatsApp, whichever comes first
 */
export type BusinessInitiatedCallState = 'offering' | 'connecting' | 'ringing' | 'early_media' | 'answered' | 'ended';

export interface BusinessInitiatedTiming {
  /** Give up (terminate on WhatsApp, 480 to the PBX) if not answered within this time after connect. */
  noAnswerTimeoutMs: number;
  /** How often rtpengine is asked whether WhatsApp media has arrived, while in early media. */
  mediaPollMs: number;
  /** Answer the PBX on the first media from WhatsApp (else only on ACCEPTED). */
  answerOnFirstMedia: boolean;
  /** Packets from WhatsApp that count as "media has started". */
  firstMediaPackets: number;
  /** Dead-peer detection from RTP once answered (absent: off). */
  mediaWatch?: MediaWatchTiming;
}

/** Whether the WhatsApp user may be called (trunks[].permission_policy); a refusal carries its SIP answer. */
export type PermissionVerdict = { allow: true; warning?: string } | ({ allow: false } & SipFailureResponse);

export interface BusinessInitiatedCallDeps {
  id: string;
  leg: PbxUasLeg;
  /** The PBX's offer as the INVITE checks accepted it (pbx-invite-checks.ts): other streams declined. */
  pbxOffer: { sdp: string; declined: DeclinedMedia[] };
  media: MediaSession;
  calls: WhatsAppCalls;
  numberName: string;
  trunkName: string;
  /** Callee, WhatsApp digits (or BSUID). */
  callee: string;
  timing: BusinessInitiatedTiming;
  logger: Logger;
  metrics: Metrics;
  /** Checked before anything is sent to Meta (absent: policy off). */
  permission?: () => Promise<PermissionVerdict>;
  /** The registry learns the WhatsApp call id (to route webhooks that carry no tracking data). */
  onWhatsAppCallId: (waCallId: string) => void;
  /** The PBX got its first provisional (180/183) answer: the set-up work is done. */
  onFirstResponse?: () => void;
  onEnded: () => void;
}

export class BusinessInitiatedCall {
  readonly direction = 'BUSINESS_INITIATED' as const;
  private stateValue: BusinessInitiatedCallState = 'offering';
  private waCallId?: string;
  private pbxSdp?: string;
  private provisionalSent = false;
  private acceptedSeen = false;
  /** Set synchronously by CANCEL so in-flight steps stop before ringing anyone. */
  private cancelled = false;
  /** connect timed out or lost its connection: Meta may have placed the call anyway. */
  private connectOutcomeUnknown = false;
  /** Set synchronously by shutdown(), for the same reason. */
  private stopping = false;
  private noAnswerTimer?: NodeJS.Timeout;
  private mediaPoll?: NodeJS.Timeout;
  private reoffers?: PbxReoffers;
  private declined: DeclinedMedia[] = [];
  private watch?: MediaWatch;
  private readonly queue: SerialQueue;
  private readonly webhookToSip: WebhookToSipTimer;
  private readonly record: CallRecord;
  private readonly log: Logger;
  private readonly ending: CallEnding;

  constructor(private readonly d: BusinessInitiatedCallDeps) {
    this.log = d.logger.child({ callId: d.id, number: d.numberName, trunk: d.trunkName, sipCallId: d.leg.sipCallId });
    this.queue = new SerialQueue((err) => this.log.error({ err }, 'call step failed'));
    this.webhookToSip = new WebhookToSipTimer(d.metrics);
    this.record = new CallRecord(d.id, 'BUSINESS_INITIATED', {
      sipCallId: d.leg.sipCallId, number: d.numberName, trunk: d.trunkName, from: d.leg.from.user, to: d.callee,
    }, d.metrics);
    this.ending = new CallEnding({ media: d.media, record: this.record, logger: d.logger, log: this.log, onEnded: d.onEnded });
    d.leg.onCancel(() => {
      this.cancelled = true;
      this.queue.push(() => this.onPbxCancel());
    });
    d.leg.onHangup((info) => this.queue.push(() => this.onPbxHangup(info)));
    d.leg.onReoffer(async (sdp) => this.onPbxReoffer(sdp));
  }

  get id(): string { return this.d.id; }
  get state(): BusinessInitiatedCallState { return this.stateValue; }
  get whatsappCallId(): string | undefined { return this.waCallId; }
  get numberName(): string { return this.d.numberName; }

  /** Runs the call from the PBX's INVITE onward. Resolves when set-up has been attempted. */
  start(): Promise<void> {
    this.record.begin();
    this.log.debug({ from: this.d.leg.from.user, to: this.d.callee }, 'PBX call to WhatsApp');
    return this.queue.push(() => this.setUp());
  }

  /** A WhatsApp webhook event for this call (already deduplicated and routed). */
  handleEvent(e: CallEvent): Promise<void> {
    return this.queue.push(() => this.webhookToSip.time(e, () => this.onWhatsAppEvent(e)));
  }

  /** Ends the call from watrunk's side (shutdown): terminate on WhatsApp, BYE or 503 to the PBX. */
  shutdown(): Promise<void> {
    this.stopping = true;
    return this.queue.push(async () => {
      if (this.stateValue === 'ended') return;
      await this.terminateWhatsApp();
      if (this.stateValue === 'answered') {
        await this.d.leg.hangup(BYE_SHUTTING_DOWN);
        await this.end({ outcome: 'shutdown', endedBy: 'watrunk' });
      } else {
        await this.fail(SHUTTING_DOWN, 'watrunk');
      }
    });
  }

  /** Resolves when the call has ended and every resource is released. */
  whenEnded(): Promise<void> {
    return this.ending.ended;
  }

  /** Resolves when every input queued so far has been handled (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  // --- set-up ---------------------------------------------------------------------------------

  private async setUp(): Promise<void> {
    // shutdown() came first (watrunk stopping): it has answered the PBX; nobody is rung.
    if (this.stateValue === 'ended') return;
    if (this.cancelled) return this.onPbxCancel();
    if (this.d.permission) {
      // Inside setUp, so a CANCEL during the lookup is honoured before anyone rings (docs/whatsapp-calling.md#permissions).
      const verdict = await this.d.permission();
      if (this.cancelled) return this.onPbxCancel();
      if (!verdict.allow) {
        this.log.info({ cause: verdict.cause, sipStatus: verdict.status }, `call refused before connect: ${verdict.warning}`);
        return this.fail(verdict);
      }
      if (verdict.warning) this.log.warn(verdict.warning);
    }
    const pbxOffer = this.d.pbxOffer;
    this.declined = pbxOffer.declined;
    let offer: string;
    try {
      offer = await this.d.media.offerToWhatsApp(pbxOffer.sdp);
    } catch (err) {
      this.log.error({ err }, 'media engine could not build the WebRTC offer');
      return this.fail({ status: 503, reason: 'Media Unavailable', warning: 'media engine error', retryAfter: 5, cause: 'media_error' });
    }
    if (this.cancelled) return this.onPbxCancel();
    // Stopping: never ring a user now; the queued shutdown answers the PBX 503.
    if (this.stopping) return;

    this.stateValue = 'connecting';
    let callId: string;
    try {
      // biz_opaque_callback_data = watrunk's call id, so webhooks that overtake the connect
      // response can still be matched (docs/whatsapp-calling.md#tracking-data).
      ({ callId } = await this.d.calls.connect({ to: this.d.callee, sdpOffer: offer, trackingData: this.d.id }));
    } catch (err) {
      return this.onConnectFailed(err);
    }
    this.bindWhatsAppCallId(callId);
    // CANCEL while connect was in flight: the user's phone may already ring, so terminate now.
    if (this.cancelled) return this.onPbxCancel();
    this.stateValue = 'ringing';
    this.noAnswerTimer = setTimeout(() => this.queue.push(() => this.onNoAnswer()), this.d.timing.noAnswerTimeoutMs);
  }

  private async onConnectFailed(err: unknown): Promise<void> {
    if (err instanceof ProviderError) {
      this.connectOutcomeUnknown = err.kind === 'timeout' || err.kind === 'network';
      const f = mapProviderError(err);
      const ctx = { err: err.toLog(), sipStatus: f.status };
      if (f.loud) this.log.error(ctx, `WhatsApp refused the call: ${f.warning} — check the business number's configuration`);
      else this.log.warn(ctx, `WhatsApp refused the call: ${f.warning}`);
      return this.fail(f, 'whatsapp', err.code);
    }
    this.log.error({ err }, 'connect failed unexpectedly');
    return this.fail({ status: 500, reason: 'Server Internal Error', warning: 'internal error', cause: 'internal' });
  }

  private bindWhatsAppCallId(waCallId: string): void {
    if (this.waCallId) return;
    this.waCallId = waCallId;
    this.record.waCallId = waCallId;
    this.d.onWhatsAppCallId(waCallId);
  }

  // --- WhatsApp events ------------------------------------------------------------------------

  private async onWhatsAppEvent(e: CallEvent): Promise<void> {
    if (this.stateValue === 'ended') {
      // `connect` got no answer but Meta placed the call: its events, queued behind the connect,
      // name it; it rings on unless it is terminated (docs/whatsapp-calling.md#tracking-data).
      if (this.connectOutcomeUnknown && !this.waCallId && e.callId && e.kind !== 'call.terminated') {
        this.waCallId = e.callId;
        await this.terminateWhatsApp();
      }
      return;
    }
    if (e.callId) this.bindWhatsAppCallId(e.callId);
    switch (e.kind) {
      case 'call.answered': return this.onSdpAnswer(e.sdpAnswer);
      case 'call.ringing': return this.onRinging();
      case 'call.accepted': return this.onAccepted();
      case 'call.rejected': return this.fail(REJECTED, 'whatsapp');
      case 'call.terminated': return this.onTerminated(e);
      case 'call.offered':
        this.log.warn({ waCallId: e.callId }, 'user-initiated connect matched a PBX call: ignored');
        return;
    }
  }

  private async onSdpAnswer(sdp: string): Promise<void> {
    if (this.pbxSdp !== undefined) {
      this.log.info('second SDP answer for the call: ignored (WhatsApp does not renegotiate)');
      return;
    }
    let pbxSdp: string;
    try {
      pbxSdp = restoreDeclined(await this.d.media.answerFromWhatsApp(sdp), this.declined);
    } catch (err) {
      this.log.error({ err }, 'media engine refused WhatsApp\'s SDP answer');
      await this.terminateWhatsApp();
      return this.fail({ status: 488, reason: 'Not Acceptable Here', warning: 'WhatsApp\'s SDP answer could not be applied', cause: 'media_error' });
    }
    if (this.stateValue === 'ended') return;
    this.pbxSdp = pbxSdp;
    this.reoffers = new PbxReoffers(this.d.media, this.log, this.d.leg.sdp, pbxSdp);
    // Early media: the PBX gets the media path now, so it hears the WhatsApp user from the first
    // word even though Meta's ACCEPTED arrives late (docs/whatsapp-calling.md#status-webhook).
    this.d.leg.progress(183, { sdp: pbxSdp, headers: this.waHeaders() });
    this.provisionalSent = true;
    this.record.firstResponse();
    this.d.onFirstResponse?.();
    this.stateValue = 'early_media';
    if (this.acceptedSeen) return this.answerPbx('accepted');
    if (this.d.timing.answerOnFirstMedia) this.pollForMedia();
  }

  private onRinging(): void {
    if (this.provisionalSent || (this.stateValue !== 'connecting' && this.stateValue !== 'ringing')) return;
    this.d.leg.progress(180, { headers: this.waHeaders() });
    this.provisionalSent = true;
    this.record.firstResponse();
    this.d.onFirstResponse?.();
  }

  private async onAccepted(): Promise<void> {
    this.acceptedSeen = true;
    if (this.stateValue === 'early_media') await this.answerPbx('accepted');
  }

  private async onTerminated(e: CallTerminated): Promise<void> {
    if (this.stateValue === 'answered') {
      await this.webhookToSip.send(this.d.leg.hangup(byeAfterWhatsAppEnded(e, this.waCallId)));
      return this.end(endedByWhatsApp(e, 'completed'));
    }
    const f = mapTerminateBeforeAnswer(e);
    this.log.info({ status: e.status, errors: e.errors.map((x) => x.code), sipStatus: f.status }, 'WhatsApp ended the call before answer');
    this.d.leg.reject(f.status, f.reason, failureHeaders(f));
    return this.end(endedByWhatsApp(e, 'failed', { sipStatus: f.status, cause: f.cause }));
  }

  // --- answer ---------------------------------------------------------------------------------

  /**
   * Meta's ACCEPTED status can arrive after media already flows (docs/whatsapp-calling.md#first-media-is-the-answer), so the PBX is
   * answered on whichever comes first: ACCEPTED, or the first media packets from WhatsApp.
   */
  private pollForMedia(): void {
    const tick = () => this.queue.push(async () => {
      if (this.stateValue !== 'early_media') return;
      try {
        const c = await this.d.media.counters();
        if (c.fromWhatsApp >= this.d.timing.firstMediaPackets) return this.answerPbx('first_media');
      } catch (err) {
        this.log.debug({ err }, 'media counters unavailable');
      }
      if (this.stateValue === 'early_media') this.mediaPoll = setTimeout(tick, this.d.timing.mediaPollMs);
    });
    this.mediaPoll = setTimeout(tick, this.d.timing.mediaPollMs);
  }

  private async answerPbx(trigger: 'accepted' | 'first_media'): Promise<void> {
    if (this.stateValue !== 'early_media' || this.pbxSdp === undefined) return;
    this.stateValue = 'answered';
    this.clearTimers();
    try {
      await this.webhookToSip.send(this.d.leg.answer(this.pbxSdp, this.waHeaders()));
    } catch (err) {
      this.log.warn({ err }, 'the PBX leg could not be answered (cancelled meanwhile?)');
      await this.terminateWhatsApp();
      return this.end({ outcome: 'pbx_gone', endedBy: 'pbx' });
    }
    this.record.answered();
    this.log.debug({ trigger }, 'call answered');
    this.watchMedia();
  }

  private watchMedia(): void {
    const timing = this.d.timing.mediaWatch;
    if (!timing) return;
    this.watch = new MediaWatch({
      media: this.d.media, timing, log: this.log,
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
    await this.d.leg.hangup(byeAfterMediaTimeout(cause, this.waCallId));
    await this.end({ outcome: 'media_timeout', endedBy: 'watrunk', cause });
  }


  // --- PBX side -------------------------------------------------------------------------------

  private async onPbxCancel(): Promise<void> {
    if (this.stateValue === 'ended') return;
    this.log.info('PBX cancelled the call');
    // setUp() runs first in the queue and calls this as soon as it sees the cancelled flag, so a
    // connect in flight is terminated the moment it returns its call id.
    await this.terminateWhatsApp();
    await this.end({ outcome: 'cancelled', endedBy: 'pbx', sipStatus: 487 });
  }

  private async onPbxHangup(info: SipHangup): Promise<void> {
    if (this.stateValue === 'ended') return;
    if (info.lost) this.log.warn({ cause: info.lost }, 'the PBX is gone (the SIP adapter ended the dialog): ending the call');
    else this.log.debug('PBX hung up');
    await this.terminateWhatsApp();
    await this.end(endingForPbxHangup(info));
  }


  private async onPbxReoffer(sdp: string): Promise<string> {
    if (!this.reoffers) throw new Error('re-offer before the call has media');
    return this.reoffers.answer(sdp);
  }

  // --- timers and teardown --------------------------------------------------------------------

  private async onNoAnswer(): Promise<void> {
    if (this.stateValue === 'answered' || this.stateValue === 'ended') return;
    this.log.info({ afterMs: this.d.timing.noAnswerTimeoutMs }, 'no answer from the WhatsApp user in time');
    await this.terminateWhatsApp();
    return this.fail(NO_ANSWER, 'watrunk');
  }

  private async terminateWhatsApp(): Promise<void> {
    if (this.waCallId) await endOnWhatsApp(this.d.calls, 'terminate', this.waCallId, this.log);
  }

  /** The call was never answered: the PBX gets `f` as the final response. */
  private async fail(f: SipFailureResponse, endedBy?: EndedBy, waErrorCode?: number): Promise<void> {
    if (this.stateValue === 'ended') return;
    this.d.leg.reject(f.status, f.reason, failureHeaders(f));
    await this.end(failed(f, endedBy, waErrorCode));
  }

  private end(ending: Ending): Promise<void> {
    this.stateValue = 'ended';
    this.clearTimers();
    return this.ending.run(ending);
  }

  private clearTimers(): void {
    this.watch?.stop();
    if (this.noAnswerTimer) clearTimeout(this.noAnswerTimer);
    if (this.mediaPoll) clearTimeout(this.mediaPoll);
    this.noAnswerTimer = undefined;
    this.mediaPoll = undefined;
  }

  private waHeaders(): SipHeaders {
    return this.waCallId ? { 'X-WA-Call-Id': this.waCallId } : {};
  }
}
