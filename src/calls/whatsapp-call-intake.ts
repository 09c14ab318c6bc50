import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import type { CallOffered } from '../whatsapp/events.js';
import type { CallRegistry } from './call-registry.js';
import { InboundCall } from './inbound-call.js';
import type { MediaWatchTiming } from './media-watch.js';
import { routeInbound } from './inbound-route.js';
import { newCallId, type BusinessNumber } from './pbx-call-intake.js';
import type { MediaEngine } from './ports/media-engine.js';
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
}

/**
 * Takes a WhatsApp user's call (connect webhook with an offer) and makes one InboundCall of it —
 * or rejects it at once when it cannot ring anything: a user left ringing into nothing is worse
 * than a clear "not available".
 */
export class WhatsAppCallIntake {
  private readonly log: Logger;

  constructor(private readonly d: WhatsAppCallIntakeDeps) {
    this.log = d.logger.child({ component: 'calls' });
  }

  async handleOffer(offer: CallOffered, numberName: string): Promise<InboundCall | undefined> {
    const business = this.d.numbers.get(numberName);
    if (!business) return undefined;
    const refuse = async (cause: string, why: string) => {
      this.log.warn({ waCallId: offer.callId, number: numberName, from: offer.user.number, cause }, `WhatsApp call rejected: ${why}`);
      this.d.metrics.callFailures.inc({ direction: 'whatsapp-to-pbx', cause });
      await business.calls.reject(offer.callId).catch((err: unknown) => this.log.error({ err, waCallId: offer.callId }, 'reject failed'));
      return undefined;
    };
    const route = routeInbound(business.config, offer);
    if (!route) return refuse('no_route', `business number ${numberName} has no inbound route`);
    if (!this.d.dialer?.ready) return refuse('sip_down', 'the SIP side (drachtio-server) is not connected');
    if (!this.d.media || !(await this.d.media.ping())) return refuse('media_down', 'the media engine (rtpengine) is unavailable');
    if (this.d.registry.countForNumber(numberName) >= business.config.max_concurrent_calls) {
      return refuse('number_concurrency', `business number ${numberName} is at max_concurrent_calls`);
    }
    const inbound = business.config.inbound!;
    const password = this.d.inboundPasswords.get(numberName);
    const id = (this.d.newId ?? newCallId)();
    const call: InboundCall = new InboundCall({
      id,
      offer,
      route,
      dialer: this.d.dialer,
      ...(inbound.auth && password !== undefined ? { auth: { username: inbound.auth.username, password } } : {}),
      media: this.d.media.createSession(id),
      calls: business.calls,
      numberName,
      ringTimeoutMs: inbound.ring_timeout_s * 1000,
      ...(this.d.mediaWatch ? { mediaWatch: this.d.mediaWatch } : {}),
      logger: this.d.logger,
      metrics: this.d.metrics,
      onEnded: () => this.d.registry.remove(call),
    });
    this.d.registry.add(call);
    this.d.registry.bindWhatsAppId(call, offer.callId);
    await call.start();
    return call;
  }
}
