import { describe, expect, it } from 'vitest';
import { signMetaWebhook, WebhookVerifier } from '../../src/adapters/meta/webhook-verifier.js';

const SECRET = 'test-app-secret';
const BODY = Buffer.from('{"object":"whatsapp_business_account","entry":[]}', 'utf8');

describe('signMetaWebhook', () => {
  it('matches the RFC 4231-style known answer for HMAC-SHA256', () => {
    // Widely published vector: HMAC-SHA256(key="key", "The quick brown fox jumps over the lazy dog").
    expect(signMetaWebhook('The quick brown fox jumps over the lazy dog', 'key'))
      .toBe('sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
  });

  it('signs a string as its UTF-8 bytes (same as the Buffer)', () => {
    const text = '{"name":"Zoë 📞"}';
    expect(signMetaWebhook(text, SECRET)).toBe(signMetaWebhook(Buffer.from(text, 'utf8'), SECRET));
  });
});

describe('WebhookVerifier', () => {
  const verifier = new WebhookVerifier(SECRET);

  it('accepts the correct signature', () => {
    expect(verifier.verify(BODY, signMetaWebhook(BODY, SECRET))).toBe(true);
  });

  it('rejects a signature made with another secret', () => {
    expect(verifier.verify(BODY, signMetaWebhook(BODY, 'other-secret'))).toBe(false);
  });

  it('rejects a body with one byte changed', () => {
    const header = signMetaWebhook(BODY, SECRET);
    const tampered = Buffer.from(BODY);
    tampered[10] = tampered[10]! ^ 0x01;
    expect(verifier.verify(tampered, header)).toBe(false);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['prefix only', 'sha256='],
  ])('rejects a %s header', (_label, header) => {
    expect(verifier.verify(BODY, header)).toBe(false);
  });

  it.each([
    ['sha1 prefix', (hex: string) => `sha1=${hex}`],
    ['no prefix', (hex: string) => hex],
    ['prefix without "="', (hex: string) => `sha256${hex}`],
    ['other separator', (hex: string) => `sha256:${hex}`],
  ])('rejects a wrong prefix (%s)', (_label, make) => {
    const hex = signMetaWebhook(BODY, SECRET).slice('sha256='.length);
    expect(verifier.verify(BODY, make(hex))).toBe(false);
  });

  it.each([
    ['one hex digit short', (hex: string) => hex.slice(1)],
    ['one byte too long', (hex: string) => `${hex}00`],
    ['non-hex character', (hex: string) => `${hex.slice(0, -1)}g`],
    ['base64 instead of hex', (hex: string) => Buffer.from(hex, 'hex').toString('base64')],
  ])('rejects a malformed digest (%s) without throwing', (_label, make) => {
    const hex = signMetaWebhook(BODY, SECRET).slice('sha256='.length);
    expect(() => verifier.verify(BODY, `sha256=${make(hex)}`)).not.toThrow();
    expect(verifier.verify(BODY, `sha256=${make(hex)}`)).toBe(false);
  });

  it('accepts upper-case hex (and an upper-case prefix)', () => {
    const hex = signMetaWebhook(BODY, SECRET).slice('sha256='.length);
    expect(hex).toMatch(/[a-f]/); // the test would prove nothing on an all-digit digest
    expect(verifier.verify(BODY, `sha256=${hex.toUpperCase()}`)).toBe(true);
    expect(verifier.verify(BODY, `SHA256=${hex.toUpperCase()}`)).toBe(true);
  });

  it('signs the raw bytes: non-ASCII bodies verify as received, not as re-serialised JSON', () => {
    // Meta sends non-ASCII characters \u-escaped; the same JSON value written with raw UTF-8 has other bytes.
    const asSent = Buffer.from('{"profile":{"name":"Zo\\u00eb \\ud83d\\udcde"}}', 'utf8');
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(asSent.toString('utf8'))), 'utf8');
    expect(reserialised.equals(asSent)).toBe(false);
    const header = signMetaWebhook(asSent, SECRET);
    expect(verifier.verify(asSent, header)).toBe(true);
    expect(verifier.verify(reserialised, header)).toBe(false);

    const rawUtf8 = Buffer.from('{"profile":{"name":"Zoë 📞"}}', 'utf8');
    expect(verifier.verify(rawUtf8, signMetaWebhook(rawUtf8, SECRET))).toBe(true);
    // A latin-1 re-encoding of the same text is different bytes, so it must fail.
    expect(verifier.verify(Buffer.from(rawUtf8.toString('utf8'), 'latin1'), signMetaWebhook(rawUtf8, SECRET))).toBe(false);
  });

  it('verifies an empty body and tolerates surrounding whitespace in the header', () => {
    const empty = Buffer.alloc(0);
    expect(verifier.verify(empty, `  ${signMetaWebhook(empty, SECRET)} `)).toBe(true);
  });

  it('returns false (no throw) for a body that is not a Buffer', () => {
    expect(verifier.verify('not a buffer' as unknown as Buffer, signMetaWebhook('not a buffer', SECRET))).toBe(false);
  });

  it('refuses an empty app secret at construction', () => {
    expect(() => new WebhookVerifier('')).toThrow(/app secret is empty/);
  });
});
