import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { D360WebhookVerifier, signD360Webhook } from '../../src/adapters/d360/d360-webhook-verifier.js';
import { parseD360Webhook } from '../../src/adapters/d360/d360-webhook-parser.js';

const SECRET = 'platform-secret-for-tests';
const BODY = Buffer.from(JSON.stringify({
  object: 'whatsapp_business_account',
  entry: [{ id: 'WABA', changes: [{ field: 'calls', value: {
    messaging_product: 'whatsapp',
    metadata: { display_phone_number: '15550001111', phone_number_id: '1056' },
    contacts: [{ profile: { name: 'Zoë' }, wa_id: '447700900123' }],
    calls: [{ id: 'wacid.ABC', from: '447700900123', to: '15550001111', event: 'connect', timestamp: '1724467313', direction: 'USER_INITIATED',
      session: { sdp_type: 'offer', sdp: 'v=0\r\n' } }],
  } }] }],
}), 'utf8');
const digest = createHmac('sha256', SECRET).update(BODY).digest();

describe('D360WebhookVerifier: x-360dialog-signature', () => {
  const v = new D360WebhookVerifier({ signatureSecret: SECRET });

  it.each([
    ['lower-case hex', digest.toString('hex')],
    ['upper-case hex', digest.toString('hex').toUpperCase()],
    ['"sha256=" + hex', `sha256=${digest.toString('hex')}`],
    ['base64', digest.toString('base64')],
    ['base64url without padding', digest.toString('base64url')],
    ['hex with surrounding spaces', ` ${digest.toString('hex')} `],
  ])('accepts the digest written as %s', (_label, header) => {
    expect(v.verifyRequest(BODY, { 'x-360dialog-signature': header })).toEqual({ ok: true });
  });

  it('signD360Webhook writes the lower-case hex digest', () => {
    expect(signD360Webhook(BODY, SECRET)).toBe(digest.toString('hex'));
    // Published HMAC-SHA256 vector: key "key", "The quick brown fox jumps over the lazy dog".
    expect(signD360Webhook('The quick brown fox jumps over the lazy dog', 'key')).toBe('f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
  });

  it('refuses unsigned, wrongly signed, malformed and tampered deliveries', () => {
    expect(v.verifyRequest(BODY, {})).toEqual({ ok: false, reason: 'missing_signature' });
    expect(v.verifyRequest(BODY, { 'x-360dialog-signature': '' })).toEqual({ ok: false, reason: 'missing_signature' });
    expect(v.verifyRequest(BODY, { 'x-360dialog-signature': signD360Webhook(BODY, 'other') })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(v.verifyRequest(BODY, { 'x-360dialog-signature': digest.toString('hex').slice(2) })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(v.verifyRequest(BODY, { 'x-360dialog-signature': `sha1=${digest.toString('hex')}` })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(v.verifyRequest(BODY, { 'x-360dialog-signature': [digest.toString('hex'), digest.toString('hex')] })).toEqual({ ok: false, reason: 'missing_signature' });
    const tampered = Buffer.from(BODY);
    tampered[20] = tampered[20]! ^ 0x01;
    expect(v.verifyRequest(tampered, { 'x-360dialog-signature': digest.toString('hex') })).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('accepts either secret during a rotation', () => {
    const rotating = new D360WebhookVerifier({ signatureSecret: ['new-secret', SECRET] });
    expect(rotating.verifyRequest(BODY, { 'x-360dialog-signature': digest.toString('hex') }).ok).toBe(true);
    expect(rotating.verifyRequest(BODY, { 'x-360dialog-signature': signD360Webhook(BODY, 'new-secret') }).ok).toBe(true);
  });
});

describe('D360WebhookVerifier: static header token', () => {
  const token = { name: 'X-Partner-Auth', value: 'static-token-123' };

  it('requires both the signature and the token when both are configured', () => {
    const v = new D360WebhookVerifier({ signatureSecret: SECRET, headerToken: token });
    const sig = digest.toString('hex');
    expect(v.verifyRequest(BODY, { 'x-360dialog-signature': sig, 'x-partner-auth': 'static-token-123' })).toEqual({ ok: true });
    expect(v.verifyRequest(BODY, { 'x-360dialog-signature': sig })).toEqual({ ok: false, reason: 'missing_header_token' });
    expect(v.verifyRequest(BODY, { 'x-360dialog-signature': sig, 'x-partner-auth': 'static-token-12' })).toEqual({ ok: false, reason: 'bad_header_token' });
    expect(v.verifyRequest(BODY, { 'x-partner-auth': 'static-token-123' })).toEqual({ ok: false, reason: 'missing_signature' });
    expect(() => v.deliveryVerifier()).toThrow(/verifyRequest/);
  });

  it('accepts a token-only setup only when allowHeaderTokenOnly is set', () => {
    expect(() => new D360WebhookVerifier({ headerToken: token })).toThrow(/allowHeaderTokenOnly/);
    const v = new D360WebhookVerifier({ headerToken: token, allowHeaderTokenOnly: true });
    expect(v.verifyRequest(BODY, { 'x-partner-auth': 'static-token-123' })).toEqual({ ok: true });
    expect(v.verifyRequest(BODY, { 'x-partner-auth': 'nope' })).toEqual({ ok: false, reason: 'bad_header_token' });
    const { header, verifier } = v.deliveryVerifier();
    expect(header).toBe('x-partner-auth');
    expect(verifier.verify(BODY, 'static-token-123')).toBe(true);
    expect(verifier.verify(BODY, undefined)).toBe(false);
  });

  it('several custom headers: all must match; a missing one is reported before a wrong one', () => {
    const headers = [token, { name: 'Authorization', value: 'Bearer hook-secret-456' }];
    const v = new D360WebhookVerifier({ signatureSecret: SECRET, headerToken: headers });
    const sig = digest.toString('hex');
    const good = { 'x-360dialog-signature': sig, 'x-partner-auth': 'static-token-123', authorization: 'Bearer hook-secret-456' };
    expect(v.verifyRequest(BODY, good)).toEqual({ ok: true });
    expect(v.verifyRequest(BODY, { ...good, authorization: undefined })).toEqual({ ok: false, reason: 'missing_header_token' });
    expect(v.verifyRequest(BODY, { ...good, authorization: 'Bearer hook-secret-457' })).toEqual({ ok: false, reason: 'bad_header_token' });
    expect(v.verifyRequest(BODY, { ...good, 'x-partner-auth': 'wrong', authorization: undefined })).toEqual({ ok: false, reason: 'missing_header_token' });
    // Each value belongs to its own header: swapped values fail.
    expect(v.verifyRequest(BODY, { ...good, 'x-partner-auth': 'Bearer hook-secret-456', authorization: 'static-token-123' })).toEqual({ ok: false, reason: 'bad_header_token' });
    // A repeated header is ambiguous: absent.
    expect(v.verifyRequest(BODY, { ...good, authorization: ['Bearer hook-secret-456', 'Bearer hook-secret-456'] })).toEqual({ ok: false, reason: 'missing_header_token' });
    expect(v.verifyRequest(BODY, { ...good, 'x-360dialog-signature': undefined })).toEqual({ ok: false, reason: 'missing_signature' });

    const tokensOnly = new D360WebhookVerifier({ headerToken: headers, allowHeaderTokenOnly: true });
    expect(tokensOnly.verifyRequest(BODY, { 'x-partner-auth': 'static-token-123', authorization: 'Bearer hook-secret-456' })).toEqual({ ok: true });
    expect(tokensOnly.verifyRequest(BODY, { 'x-partner-auth': 'static-token-123' })).toEqual({ ok: false, reason: 'missing_header_token' });
    expect(() => tokensOnly.deliveryVerifier()).toThrow(/several header tokens/);
    // A one-element list is the single-object form.
    expect(new D360WebhookVerifier({ headerToken: [token], allowHeaderTokenOnly: true }).deliveryVerifier().header).toBe('x-partner-auth');
  });

  it('the single-header form of a signature-only setup feeds the signature header', () => {
    const { header, verifier } = new D360WebhookVerifier({ signatureSecret: SECRET }).deliveryVerifier();
    expect(header).toBe('x-360dialog-signature');
    expect(verifier.verify(BODY, digest.toString('hex'))).toBe(true);
    expect(verifier.verify(BODY, 'ff')).toBe(false);
  });

  it.each([
    ['nothing configured', {}, /signature secret and\/or a header token/],
    ['an empty secret', { signatureSecret: '' }, /secret is empty/],
    ['an empty token value', { headerToken: { name: 'x-a', value: '' }, allowHeaderTokenOnly: true }, /empty/],
    ['an invalid header name', { headerToken: { name: 'bad header', value: 'v' }, allowHeaderTokenOnly: true }, /valid header name/],
    ['the token on the signature header', { signatureSecret: SECRET, headerToken: { name: 'x-360dialog-signature', value: 'v' } }, /both the signature and the token/],
    ['a header listed twice', { headerToken: [{ name: 'X-A', value: 'v' }, { name: 'x-a', value: 'w' }], allowHeaderTokenOnly: true }, /configured twice/],
    ['an empty value in a list', { headerToken: [{ name: 'x-a', value: 'v' }, { name: 'x-b', value: '' }], allowHeaderTokenOnly: true }, /header x-b is empty/],
    ['an empty list alone', { headerToken: [], allowHeaderTokenOnly: true }, /signature secret and\/or a header token/],
  ])('refuses to start with %s', (_label, opts, message) => {
    expect(() => new D360WebhookVerifier(opts)).toThrow(message);
  });
});

describe('parseD360Webhook', () => {
  it('reads Meta\'s forwarded calls webhook with Meta\'s parser', () => {
    const parsed = parseD360Webhook(JSON.parse(BODY.toString('utf8')));
    expect(parsed.events).toEqual([expect.objectContaining({
      kind: 'call.offered', phoneNumberId: '1056', callId: 'wacid.ABC', timestamp: 1724467313, businessNumber: '15550001111',
      user: { number: '447700900123', profileName: 'Zoë' }, sdpOffer: 'v=0\r\n',
    })]);
  });
});
