import { NO_CALL_JOURNAL, type CallJournal } from '../journal/call-journal.js';
import { JournaledWhatsAppCalls } from '../journal/journaled-calls.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import type { CallOffered } from './ports/whatsapp-events.js';
import { WhatsAppCallEnder } from './call-ending.js';
import type { CallRegistry } from './call-registry.js';
import { UserInitiatedCall } from './user-initiated-call.js';
import type { MediaWatchTiming } from './media-watch.js';
import { routeInbound } from './inbound-route.js';
import { newCallId, type BusinessNumber } from './pbx-call-intake.js';
import type { MediaEngine } from './ports/media-engine.js';
import { whatsappMediaOf } from '../config/meta-sip-schema.js';
import type { PbxDialer } from './ports/sip.js';

export interface WhatsAppCallIntakeDeps {
  registry: CallRegistry;
  numbers: ReadonlyMap<string, BusinessNumber>;
  media: MediaEngine | undefined;
  dialer: PbxDialer | undefined;
  /** digest password for INVITEs to the PBX, per number name */
  inboundPasswords: ReadonlyMap<string, string>;
  logger: Logger;
  metrics: Metrics;
  newId?: () => string;
  /** Dead-peer detection from RTP once answered (absent: off). */
  mediaWatch?: MediaWatchTiming;
  /** Ends calls on WhatsApp, retrying until Meta confirms (default: one of this intake's own). */
  ender?: WhatsAppCallEnder;
  /** Live WhatsApp calls on disk for crash recovery (default: none). */
  journal?: CallJournal;
  /** Load shedding shared with the PBX side (calls.overload, docs/sip.md#overload); absent: none. */
  overload?: { check(): { warning: string } | undefined };
}

/**
 * Takes a WhatsApp user's call (connect webhook with an offer) and makes one UserInitiatedCall of it —
 * or rejects it at once when it cannot ring anything: a user left ringing into nothing is worse
 * than a clear "not available".
 */
export class WhatsAppCallIntake {
  private readonly log: Logger;
  private readonly ender: WhatsAppCallEnder;

  constructor(private readonly d: WhatsAppCallIntakeDeps) {
    this.log = d.logger.child({ component: 'calls' });
    this.ender = d.ender ?? new WhatsAppCallEnder({ logger: d.logger, metrics: d.metrics });
  }

  async handleOffer(offer: CallOffered, numberName: string): Promise<UserInitiatedCall | undefined> {
    const business = this.d.numbers.get(numberName);
    if (!business) return undefined;
    const refuse = (cause: string, why: string) => {
      const log = this.log.child({ waCallId: offer.callId, number: numberName });
      log.warn({ from: offer.user.number, cause }, `WhatsApp call rejected: ${why}`);
      this.d.metrics.callFailures.inc({ direction: 'USER_INITIATED', cause });
      // Retried until Meta confirms; not waited for (the webhook was answered long ago).
      void this.ender.end({ calls: business.calls, action: 'reject', waCallId: offer.callId, log });
      return undefined;
    };
    if (!this.d.registry.takingCalls) return refuse('shutdown', 'watrunk is shutting down');
    // An overloaded bridge would ring the PBX late and set up media late: a clear "not available" now.
    const overloaded = this.d.overload?.check();
    if (overloaded) return refuse('overload', overloaded.warning);
    const route = routeInbound(business.config, offer);
    if (!route) return refuse('no_route', `business number ${numberName} has no inbound route`);
    if (!this.d.dialer?.ready) return refuse('sip_down', 'the SIP side (drachtio-server) is not connected');
    if (!this.d.media || !(await this.d.media.canTakeCalls())) return refuse('media_down', 'the media engine (rtpengine) is unavailable');
    if (this.d.registry.countForNumber(numberName) >= business.config.max_concurrent_calls) {
      return refuse('number_concurrency', `business number ${numberName} is at max_concurrent_calls`);
    }
    const inbound = business.config.inbound!;
    const password = this.d.inboundPasswords.get(numberName);
    const id = (this.d.newId ?? newCallId)();
    const whatsapp = new JournaledWhatsAppCalls({
      calls: business.calls, journal: this.d.journal ?? NO_CALL_JOURNAL, ender: this.ender, callId: id, numberName,
      direction: 'USER_INITIATED', log: this.d.logger.child({ callId: id, number: numberName, waCallId: offer.callId }), metrics: this.d.metrics,
      user: offer.user.number || offer.user.userId,
    });
    const call: UserInitiatedCall = new UserInitiatedCall({
      id,
      offer,
      route,
      dialer: this.d.dialer,
      ...(inbound.auth && password !== undefined ? { auth: { username: inbound.auth.username, password } } : {}),
      media: this.d.media.createSession(id, { whatsappMedia: whatsappMediaOf(business.config) }),
      calls: whatsapp,
      numberName,
      ringTimeoutMs: inbound.ring_timeout_s * 1000,
      ...(this.d.mediaWatch ? { mediaWatch: this.d.mediaWatch } : {}),
      logger: this.d.logger,
      metrics: this.d.metrics,
      onEnded: () => { this.d.registry.remove(call); whatsapp.ended(); },
    });
    this.d.registry.add(call);
    this.d.registry.bindWhatsAppId(call, offer.callId);
    await call.start();
    return call;
  }
}
