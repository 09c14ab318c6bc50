import { parseMetaWebhook, type ParsedDelivery } from '../meta/webhook-parser.js';

/**
 * 360dialog forwards Meta's raw Cloud API webhooks unchanged (object "whatsapp_business_account",
 * fields `calls` and `messages`, value.metadata.phone_number_id naming the number:
 * https://docs.360dialog.com/docs/waba-messaging/making-and-receiving-calls/inbound-calls/how-to-handle-inbound-calls),
 * so Meta's parser reads them. Verify the delivery first (d360-webhook-verifier.ts).
 *
 * 360dialog's partner pages also mention a `call_permission_status` event (GRANTED, REJECTED,
 * REVOKED) whose shape is not published; until a sample exists it lands in `ignored` like any
 * other unknown content (docs/providers.md#360dialog).
 */
export function parseD360Webhook(body: unknown): ParsedDelivery {
  return parseMetaWebhook(body);
}
