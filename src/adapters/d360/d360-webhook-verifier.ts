import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { DeliveryVerifier } from '../../webhooks/ingress.js';

/**
 * How 360dialog webhook deliveries are authenticated (docs/providers.md#360dialog). 360dialog
 * forwards Meta's raw webhooks, but Meta's X-Hub-Signature-256 is keyed with 360dialog's own app
 * secret, so it is of no use here. Two mechanisms remain:
 *  - `x-360dialog-signature`: HMAC-SHA256 of the raw body keyed with 360dialog's platform secret
 *    (https://docs.360dialog.com/partner/onboarding/webhook-events-and-setup/signature-validation).
 *    The page does not say how the digest is written; hex (with or without a "sha256=" prefix)
 *    and base64 are all accepted.
 *  - static headers set together with the webhook URL, 360dialog's "custom headers"
 *    (https://docs.360dialog.com/docs/hub/webhook-url), e.g. `Authorization: <secret>`: one or
 *    several, every one of which must be present with its value.
 * Whatever is configured is required. Header tokens alone are weaker (replayable static secrets,
 * no integrity), so they are accepted as the only check only when allowHeaderTokenOnly says so.
 */
export interface D360HeaderToken { name: string; value: string }

export interface D360WebhookAuthOptions {
  /** The signing secret; a list during a rotation (any one may match). */
  signatureSecret?: string | readonly string[];
  /** Header carrying the signature. Default x-360dialog-signature. */
  signatureHeader?: string;
  /** Static headers configured on the 360dialog webhook: all must match, each compared in constant time. */
  headerToken?: D360HeaderToken | readonly D360HeaderToken[];
  /** Must be true for header tokens to be the only check (no signatureSecret). */
  allowHeaderTokenOnly?: boolean;
}

export type D360DeliveryCheck =
  | { ok: true }
  | { ok: false; reason: 'missing_signature' | 'bad_signature' | 'missing_header_token' | 'bad_header_token' };

/** Request headers as Node gives them: lower-case names. */
export type RequestHeaders = Record<string, string | string[] | undefined>;

export const D360_SIGNATURE_HEADER = 'x-360dialog-signature';

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEX_DIGEST = /^[0-9a-f]{64}$/i;
const BASE64_DIGEST = /^[A-Za-z0-9+/_-]{43}={0,1}$/;
const PREFIX = 'sha256=';
const DIGEST_BYTES = 32;

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

function hmac(body: Buffer, secret: string): Buffer {
  return createHmac('sha256', secret).update(body).digest();
}

/** The 32 digest bytes a signature header names, or undefined when it is not a SHA-256 digest. */
function digestOf(header: string): Buffer | undefined {
  let s = header.trim();
  if (s.slice(0, PREFIX.length).toLowerCase() === PREFIX) s = s.slice(PREFIX.length);
  if (HEX_DIGEST.test(s)) return Buffer.from(s, 'hex');
  if (BASE64_DIGEST.test(s)) {
    const bytes = Buffer.from(s, 'base64');
    return bytes.length === DIGEST_BYTES ? bytes : undefined;
  }
  return undefined;
}

/** One value of a header; a repeated header (an array) is ambiguous and counts as absent. */
function single(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export class D360WebhookVerifier {
  readonly signatureHeader: string;
  private readonly secrets: readonly string[];
  private readonly tokens: readonly { name: string; digest: Buffer }[];

  /** Throws on a configuration that would accept unauthenticated deliveries. */
  constructor(opts: D360WebhookAuthOptions) {
    const secrets = opts.signatureSecret === undefined ? [] : typeof opts.signatureSecret === 'string' ? [opts.signatureSecret] : [...opts.signatureSecret];
    // An empty key would make every signature computable by anyone.
    if (secrets.some((s) => s === '')) throw new Error('360dialog webhook: a signature secret is empty');
    this.secrets = secrets;
    this.signatureHeader = (opts.signatureHeader ?? D360_SIGNATURE_HEADER).toLowerCase();
    if (!HEADER_NAME.test(this.signatureHeader)) throw new Error('360dialog webhook: the signature header name is not a valid header name');
    const configured: readonly D360HeaderToken[] = opts.headerToken === undefined ? [] : 'name' in opts.headerToken ? [opts.headerToken] : opts.headerToken;
    const tokens: { name: string; digest: Buffer }[] = [];
    for (const t of configured) {
      const name = t.name.toLowerCase();
      if (!HEADER_NAME.test(name)) throw new Error('360dialog webhook: the header token name is not a valid header name');
      if (t.value === '') throw new Error(`360dialog webhook: the value for header ${name} is empty`);
      if (secrets.length > 0 && name === this.signatureHeader) throw new Error(`360dialog webhook: header ${name} cannot be both the signature and the token`);
      if (tokens.some((x) => x.name === name)) throw new Error(`360dialog webhook: header ${name} is configured twice`);
      tokens.push({ name, digest: sha256(t.value) });
    }
    this.tokens = tokens;
    if (secrets.length === 0 && tokens.length === 0) {
      throw new Error('360dialog webhook: configure a signature secret and/or a header token; unauthenticated deliveries are refused');
    }
    if (secrets.length === 0 && opts.allowHeaderTokenOnly !== true) {
      throw new Error('360dialog webhook: only a header token is configured; set allowHeaderTokenOnly to accept deliveries without a signature');
    }
  }

  /** Checks every configured mechanism over the raw body bytes and the request headers. Never throws. */
  verifyRequest(rawBody: Buffer, headers: RequestHeaders): D360DeliveryCheck {
    if (!Buffer.isBuffer(rawBody)) return { ok: false, reason: 'bad_signature' };
    if (this.secrets.length > 0) {
      const check = this.checkSignature(rawBody, single(headers[this.signatureHeader]));
      if (!check.ok) return check;
    }
    return this.checkTokens((name) => single(headers[name]));
  }

  /**
   * The verifier in the single-header form the webhook ingress takes (src/webhooks/ingress.ts),
   * with the header it must be fed. Only possible when a single header is checked; with more, the
   * ingress must pass all headers to verifyRequest (throws, so wiring fails at start-up).
   */
  deliveryVerifier(): { header: string; verifier: DeliveryVerifier } {
    if (this.secrets.length > 0 && this.tokens.length > 0) {
      throw new Error('360dialog webhook: signature and header token both configured; use verifyRequest with all headers');
    }
    if (this.tokens.length > 1) {
      throw new Error('360dialog webhook: several header tokens configured; use verifyRequest with all headers');
    }
    const [token] = this.tokens;
    if (token) {
      return { header: token.name, verifier: { verify: (_raw, value) => this.checkTokens(() => value).ok } };
    }
    return { header: this.signatureHeader, verifier: { verify: (raw, value) => Buffer.isBuffer(raw) && this.checkSignature(raw, value).ok } };
  }

  private checkSignature(rawBody: Buffer, header: string | undefined): D360DeliveryCheck {
    if (header === undefined || header.trim() === '') return { ok: false, reason: 'missing_signature' };
    const received = digestOf(header);
    if (!received) return { ok: false, reason: 'bad_signature' };
    // Every secret is tried (no early exit), so timing does not tell which one matched.
    let match = false;
    for (const secret of this.secrets) {
      const expected = hmac(rawBody, secret);
      if (timingSafeEqual(received, expected)) match = true;
    }
    return match ? { ok: true } : { ok: false, reason: 'bad_signature' };
  }

  /** Every configured header, by its (lower-case) name; a missing one is reported before a wrong one. */
  private checkTokens(valueOf: (name: string) => string | undefined): D360DeliveryCheck {
    let missing = false;
    let bad = false;
    // Every header is compared (no early exit), so timing does not tell which one was wrong.
    for (const token of this.tokens) {
      const value = valueOf(token.name);
      if (value === undefined || value === '') {
        missing = true;
        continue;
      }
      // Hashing both sides gives equal lengths, so the comparison time does not depend on the guess.
      if (!timingSafeEqual(sha256(value), token.digest)) bad = true;
    }
    if (missing) return { ok: false, reason: 'missing_header_token' };
    return bad ? { ok: false, reason: 'bad_header_token' } : { ok: true };
  }
}

/** The x-360dialog-signature value (lower-case hex) for a body: for tests and a simulator. */
export function signD360Webhook(rawBody: Buffer | string, secret: string): string {
  return hmac(typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody, secret).toString('hex');
}
