import { LRUCache } from 'lru-cache';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import type { NumberDirectory, NumberIdentity } from '../calls/number-directory.js';
import { eventKey, type WhatsAppEvent } from '../calls/ports/whatsapp-events.js';

export interface DispatcherOptions {
  /** The configured business numbers: events are routed by their phone_number_id. */
  numbers: NumberDirectory<NumberIdentity>;
  maxEventAgeS: number;
  dedupeCapacity: number;
  logger: Logger;
  metrics: Metrics;
  /** Receives every event that survives the filters. May be async; errors are logged, never thrown. */
  handle: (event: WhatsAppEvent, numberName: string | undefined) => void | Promise<void>;
  now?: () => number;
}

export type Disposition = 'dispatched' | 'duplicate' | 'stale' | 'unknown_number' | 'after_terminate';

/**
 * Filters parsed webhook events before the call logic sees them (docs/whatsapp-calling.md#delivery):
 *  - routes by phone_number_id; an unknown number was already answered 200 (so Meta does not retry
 *    for days), and is logged and counted here;
 *  - drops duplicates (same call id, event and timestamp) — Meta delivers at least once;
 *  - does not act on events older than max_event_age_s ("do not act on stale events"), except a
 *    terminate: ending a call that is over at Meta is always right, however late the news;
 *  - ordering is not guaranteed: a terminate can come before its connect. The terminate is
 *    remembered, and a later connect/status for that call is dropped, so nothing is set up for a
 *    call that already ended.
 */
export class EventDispatcher {
  private readonly seen: LRUCache<string, true>;
  private readonly ended: LRUCache<string, true>;
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly opts: DispatcherOptions) {
    this.seen = new LRUCache({ max: opts.dedupeCapacity });
    this.ended = new LRUCache({ max: opts.dedupeCapacity, ttl: 3_600_000 });
    this.now = opts.now ?? Date.now;
    this.log = opts.logger.child({ component: 'events' });
  }

  /**
   * Returns what happened to each event (for tests and metrics). `receivedAt` (performance.now() at
   * the delivery's arrival) is stamped on each event for the webhook-to-SIP latency metric.
   */
  async dispatch(events: readonly WhatsAppEvent[], receivedAt?: number): Promise<Disposition[]> {
    const out: Disposition[] = [];
    for (const e of events) {
      if (receivedAt !== undefined && 'callId' in e) e.receivedAt = receivedAt;
      out.push(await this.dispatchOne(e));
    }
    return out;
  }

  private async dispatchOne(e: WhatsAppEvent): Promise<Disposition> {
    const disposition = this.classify(e);
    this.opts.metrics.webhookEvents.inc({ kind: e.kind, disposition });
    // The log context is built only for a line that is written (the common path writes none).
    if (disposition === 'unknown_number') {
      this.opts.metrics.webhookUnknownNumber.inc();
      this.log.warn(this.context(e), 'webhook event for a phone_number_id that is not configured: ignored');
      return disposition;
    }
    if (disposition !== 'dispatched') {
      this.log.info(this.context(e), `webhook event not acted upon: ${disposition}`);
      return disposition;
    }
    if (this.log.isLevelEnabled('debug')) this.log.debug(this.context(e), 'webhook event');
    try {
      await this.opts.handle(e, this.numberName(e));
    } catch (err) {
      this.log.error({ ...this.context(e), err }, 'handling a webhook event failed');
    }
    return disposition;
  }

  private classify(e: WhatsAppEvent): Disposition {
    // Account notices may carry no phone number (WABA-level); everything else must be ours.
    if (e.kind !== 'account.notice' && !this.opts.numbers.byPhoneNumberId(e.phoneNumberId)) return 'unknown_number';
    const key = eventKey(e);
    if (this.seen.has(key)) return 'duplicate';
    this.seen.set(key, true);
    // Timestamp 0 means the delivery carried none: its age is unknown, so it is acted upon.
    const stale = e.timestamp > 0 && this.now() / 1000 - e.timestamp > this.opts.maxEventAgeS;
    // A terminate is acted upon however late it comes: it can only end what is still open, and a
    // call Meta has ended must not stay up on the PBX side (docs/whatsapp-calling.md#delivery).
    if (stale && e.kind !== 'call.terminated') return 'stale';
    if ('callId' in e) {
      if (e.kind === 'call.terminated') this.ended.set(e.callId, true);
      else if (this.ended.has(e.callId)) return 'after_terminate';
    }
    return 'dispatched';
  }

  /** The configured name of the event's business number. */
  private numberName(e: WhatsAppEvent): string | undefined {
    return this.opts.numbers.byPhoneNumberId(e.phoneNumberId)?.name;
  }

  private context(e: WhatsAppEvent): Record<string, unknown> {
    const base: Record<string, unknown> = { event: e.kind, phoneNumberId: e.phoneNumberId, number: this.numberName(e), ts: e.timestamp };
    if ('callId' in e) base['waCallId'] = e.callId;
    switch (e.kind) {
      case 'call.offered': return { ...base, from: e.user.number, fromUserId: e.user.userId, cta: e.ctaPayload };
      case 'call.answered': return { ...base, to: e.user.number, tracking: e.trackingData };
      case 'call.terminated': return { ...base, status: e.status, durationS: e.durationS, errors: e.errors.map((x) => x.code), tracking: e.trackingData };
      case 'call.ringing': case 'call.accepted': case 'call.rejected': return { ...base, tracking: e.trackingData };
      case 'permission.replied': return { ...base, user: e.user.number, userId: e.user.userId, response: e.response, permanent: e.permanent };
      case 'account.notice': return { ...base, accountEvent: e.event };
    }
  }
}
