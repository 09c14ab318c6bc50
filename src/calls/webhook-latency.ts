import type { Metrics } from '../metrics.js';
import type { CallEvent } from './ports/whatsapp-events.js';

/**
 * Webhook-to-SIP latency: from the delivery's arrival (stamped by the webhook ingress) to the call
 * having acted on the event, i.e. the 18x/200/BYE/INVITE it causes has been handed to the SIP
 * stack. Events that arrived another way (tests, crash recovery) carry no arrival time.
 */
export function observeWebhookToSip(metrics: Metrics, e: CallEvent): void {
  if (e.receivedAt === undefined) return;
  metrics.webhookToSip.observe({ event: e.kind }, (performance.now() - e.receivedAt) / 1000);
}
