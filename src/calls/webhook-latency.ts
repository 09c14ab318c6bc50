import type { Metrics } from '../metrics.js';
import type { CallEvent } from './ports/whatsapp-events.js';

/**
 * Webhook-to-SIP latency: from the delivery's arrival (stamped by the webhook ingress) to the call
 * having handed the 18x/200/BYE/CANCEL the event causes to the SIP stack, i.e. written it to
 * drachtio-server. Where the call then waits for drachtio-server's confirmation that the message
 * left (a 200 OK creating the dialog, a BYE), that wait is drachtio-server's work and is not
 * counted; the SIPp figures of bench:cps include it. Events that cause no SIP message are timed
 * to the end of their handling. Events that arrived another way (tests, crash recovery) carry no
 * arrival time.
 */
export class WebhookToSipTimer {
  private handedAt?: number;

  constructor(private readonly metrics: Metrics) {}

  /** Handles `e` with `handle`, which passes the SIP message it writes through send(). */
  async time(e: CallEvent, handle: () => Promise<void>): Promise<void> {
    this.handedAt = undefined;
    await handle();
    if (e.receivedAt === undefined) return;
    const end = this.handedAt ?? performance.now();
    this.metrics.webhookToSip.observe({ event: e.kind }, (end - e.receivedAt) / 1000);
  }

  /**
   * Stamps the hand-over once `sending` has been started (the message is written to drachtio-server),
   * then waits for it (drachtio-server's confirmation, not counted).
   */
  async send<T>(sending: Promise<T>): Promise<T> {
    this.handedAt ??= performance.now();
    return sending;
  }
}
