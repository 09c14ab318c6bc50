/**
 * SIP-mode digest pieces (src/adapters/meta-sip/sip-digest.ts): the 407 challenge
 * as Meta words it, the parsing of credentials, and the RFC 2617 §3.2.2 check with qop=auth.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { challengeHeader, digestMatches, parseDigest } from '../../src/adapters/meta-sip/sip-digest.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** RFC 2617 §3.5, the example: GET /dir/index.html as Mufasa with "Circle Of Life". */
const RFC2617_AUTHORIZATION = [
  'Digest username="Mufasa",',
  ' realm="testrealm@host.com",',
  ' nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",',
  ' uri="/dir/index.html",',
  ' qop=auth,',
  ' nc=00000001,',
  ' cnonce="0a4f113b",',
  ' response="6629fae49393a05397450978507c4ef1",',
  ' opaque="5ccc069c403ebaf9f0171e9517f40e41"',
].join('');

describe('challengeHeader', () => {
  it('Digest with realm, a hex nonce and opaque, algorithm=MD5 and qop="auth"', () => {
    const h = challengeHeader('wa.meta.vc');
    expect(h).toMatch(/^Digest realm="wa\.meta\.vc", nonce="[0-9a-f]{32}", opaque="[0-9a-f]{16}", algorithm=MD5, qop="auth"$/);
  });

  it('a fresh nonce and opaque every time', () => {
    const a = parseDigest(challengeHeader('wa.meta.vc'))!;
    const b = parseDigest(challengeHeader('wa.meta.vc'))!;
    expect(a['nonce']).not.toBe(b['nonce']);
    expect(a['opaque']).not.toBe(b['opaque']);
  });

  it('parses back into its parameters', () => {
    expect(parseDigest(challengeHeader('wa.meta.vc'))).toEqual({
      realm: 'wa.meta.vc', nonce: expect.stringMatching(/^[0-9a-f]{32}$/), opaque: expect.stringMatching(/^[0-9a-f]{16}$/), algorithm: 'MD5', qop: 'auth',
    });
  });
});

describe('parseDigest', () => {
  it('quoted and unquoted parameters, names lower-cased', () => {
    expect(parseDigest(RFC2617_AUTHORIZATION)).toEqual({
      username: 'Mufasa', realm: 'testrealm@host.com', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', uri: '/dir/index.html',
      qop: 'auth', nc: '00000001', cnonce: '0a4f113b', response: '6629fae49393a05397450978507c4ef1', opaque: '5ccc069c403ebaf9f0171e9517f40e41',
    });
    expect(parseDigest('digest UserName="a", URI="sip:x@y;transport=tls", Algorithm=MD5')).toEqual({ username: 'a', uri: 'sip:x@y;transport=tls', algorithm: 'MD5' });
  });

  it('a quoted value may hold commas and spaces', () => {
    expect(parseDigest('Digest realm="a, b c", nonce="n"')).toEqual({ realm: 'a, b c', nonce: 'n' });
  });

  it('undefined for anything that is not Digest credentials', () => {
    expect(parseDigest(undefined)).toBeUndefined();
    expect(parseDigest('')).toBeUndefined();
    expect(parseDigest('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==')).toBeUndefined();
    expect(parseDigest('Digestive username="x"')).toBeUndefined();
  });
});

describe('digestMatches', () => {
  const rfc = () => parseDigest(RFC2617_AUTHORIZATION)!;

  it('RFC 2617 §3.5: Mufasa / "Circle Of Life" / GET matches', () => {
    expect(digestMatches(rfc(), 'GET', 'Circle Of Life')).toBe(true);
  });

  it('a wrong password, another method, or a changed parameter does not', () => {
    expect(digestMatches(rfc(), 'GET', 'Circle of Life')).toBe(false);
    expect(digestMatches(rfc(), 'GET', '')).toBe(false);
    expect(digestMatches(rfc(), 'POST', 'Circle Of Life')).toBe(false);
    expect(digestMatches({ ...rfc(), nc: '00000002' }, 'GET', 'Circle Of Life')).toBe(false);
    expect(digestMatches({ ...rfc(), cnonce: 'ffffffff' }, 'GET', 'Circle Of Life')).toBe(false);
    expect(digestMatches({ ...rfc(), uri: '/dir/other.html' }, 'GET', 'Circle Of Life')).toBe(false);
    expect(digestMatches({ ...rfc(), username: 'Simba' }, 'GET', 'Circle Of Life')).toBe(false);
  });

  it('a SIP INVITE answered as watrunk does (username = business digits, qop=auth)', () => {
    const challenge = parseDigest(challengeHeader('wa.meta.vc'))!;
    const uri = 'sip:+447700900123@wa.meta.vc;transport=tls';
    const ha1 = md5(`15551112222:wa.meta.vc:meta-pw`);
    const ha2 = md5(`INVITE:${uri}`);
    const response = md5(`${ha1}:${challenge['nonce']}:00000001:abcdef01:auth:${ha2}`);
    const header = `Digest username="15551112222", realm="wa.meta.vc", nonce="${challenge['nonce']}", uri="${uri}", response="${response}", `
      + `algorithm=MD5, cnonce="abcdef01", opaque="${challenge['opaque']}", qop=auth, nc=00000001`;
    const creds = parseDigest(header)!;
    expect(digestMatches(creds, 'INVITE', 'meta-pw')).toBe(true);
    expect(digestMatches(creds, 'INVITE', 'stale-pw')).toBe(false);
  });

  it('without qop: the RFC 2069 form MD5(HA1:nonce:HA2)', () => {
    const ha1 = md5('Mufasa:testrealm@host.com:Circle Of Life');
    const ha2 = md5('GET:/dir/index.html');
    const creds = { username: 'Mufasa', realm: 'testrealm@host.com', nonce: 'abc', uri: '/dir/index.html', response: md5(`${ha1}:abc:${ha2}`) };
    expect(digestMatches(creds, 'GET', 'Circle Of Life')).toBe(true);
    expect(digestMatches(creds, 'GET', 'wrong')).toBe(false);
  });
});
