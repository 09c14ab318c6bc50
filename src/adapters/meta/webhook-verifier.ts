import { createHmac, timingSafeEqual } from 'node:crypto';
import type { DeliveryVerifier } from '../../webhooks/ingress.js';

const PREFIX = 'sha256=';
const SHA256_HEX = /^[0-9a-f]{64}$/i;

/**
 * Checks Meta's `X-Hub-Signature-256: sha256=<hex>` header (docs/whatsapp-calling.md#delivery): the hex is
 * HMAC-SHA256 of the raw request bytes keyed with the app secret. The HMAC is computed over the
 * exact bytes received, never over re-serialised JSON (Meta escapes non-ASCII characters, so a
 * re-serialisation would not match). Comparison is constant-time.
 */
export class WebhookVerifier implements DeliveryVerifier {
  private readonly appSecret: string;

  constructor(appSecret: string) {
    // An empty key would make every signature computable by anyone: refuse to start instead.
    if (appSecret === '') throw new Error('WebhookVerifier: the app secret is empty');
    this.appSecret = appSecret;
  }

  /** True only for a well-formed header whose digest matches. Never throws. */
  verify(rawBody: Buffer, signatureHeader: string | undefined): boolean {
    if (typeof signatureHeader !== 'string' || !Buffer.isBuffer(rawBody)) return false;
    const header = signatureHeader.trim();
    // Meta sends lower-case "sha256=" and lower-case hex; either case is accepted for both.
    if (header.slice(0, PREFIX.length).toLowerCase() !== PREFIX) return false;
    const hex = header.slice(PREFIX.length);
    if (!SHA256_HEX.test(hex)) return false;
    const received = Buffer.from(hex, 'hex');
    const expected = hmac(rawBody, this.appSecret);
    // timingSafeEqual throws on a length mismatch; the regex already fixes the length, this is a guard.
    return received.length === expected.length && timingSafeEqual(received, expected);
  }
}

/** The full `X-Hub-Signature-256` header value Meta would send for this body (used by the simulator and tests). */
export function signMetaWebhook(rawBody: Buffer | string, appSecret: string): string {
  return PREFIX + hmac(typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody, appSecret).toString('hex');
}

function hmac(body: Buffer, secret: string): Buffer {
  return createHmac('sha256', secret).update(body).digest();
}
