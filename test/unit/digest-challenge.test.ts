/**
 * watrunk's digest challenge to Meta's INVITEs (src/adapters/meta-sip/digest-challenge.ts): a
 * response counts only for a nonce watrunk issued, within its lifetime, in watrunk's realm.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DigestChallenges } from '../../src/adapters/meta-sip/digest-challenge.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const URI = 'sip:+15551112222@sip.watrunk.test;transport=tls';

function answer(challenge: string, o: { username?: string; realm?: string; password?: string } = {}): string {
  const nonce = /nonce="([^"]+)"/.exec(challenge)![1]!;
  const realm = o.realm ?? /realm="([^"]+)"/.exec(challenge)![1]!;
  const username = o.username ?? '15551112222';
  const ha1 = md5(`${username}:${realm}:${o.password ?? 'pw'}`);
  const ha2 = md5(`INVITE:${URI}`);
  const response = md5(`${ha1}:${nonce}:00000001:c0ffee:auth:${ha2}`);
  return `Digest username="${username}", realm="${realm}", nonce="${nonce}", uri="${URI}", response="${response}", qop=auth, nc=00000001, cnonce="c0ffee", algorithm=MD5`;
}

describe('DigestChallenges', () => {
  const expectCreds = { username: '15551112222', password: 'pw' };

  it('accepts a correct answer to its own challenge; no header is "missing"', () => {
    const d = new DigestChallenges({ realm: 'sip.watrunk.test' });
    expect(d.verify(undefined, 'INVITE', expectCreds)).toBe('missing');
    const c = d.challenge();
    expect(c).toMatch(/^Digest realm="sip\.watrunk\.test", nonce="[0-9a-f]{32}", algorithm=MD5, qop="auth"$/);
    expect(d.verify(answer(c), 'INVITE', expectCreds)).toBe('ok');
  });

  it('a nonce it never issued, or one past its lifetime, is "stale" (challenge again), however right the response', () => {
    let now = 1_000_000;
    const d = new DigestChallenges({ realm: 'sip.watrunk.test', nonceTtlMs: 60_000, now: () => now });
    const other = new DigestChallenges({ realm: 'sip.watrunk.test' });
    expect(d.verify(answer(other.challenge()), 'INVITE', expectCreds)).toBe('stale');
    const c = d.challenge();
    now += 60_001;
    expect(d.verify(answer(c), 'INVITE', expectCreds)).toBe('stale');
  });

  it('another realm, another username, a wrong password or no password to check against is "wrong"', () => {
    const d = new DigestChallenges({ realm: 'sip.watrunk.test' });
    expect(d.verify(answer(d.challenge(), { realm: 'wa.meta.vc' }), 'INVITE', expectCreds)).toBe('wrong');
    expect(d.verify(answer(d.challenge(), { username: '15559990000' }), 'INVITE', expectCreds)).toBe('wrong');
    expect(d.verify(answer(d.challenge(), { password: 'nope' }), 'INVITE', expectCreds)).toBe('wrong');
    expect(d.verify(answer(d.challenge()), 'INVITE', { username: '15551112222', password: undefined })).toBe('wrong');
  });

  it('keeps at most maxNonces: the oldest are forgotten first', () => {
    const d = new DigestChallenges({ realm: 'r.example', maxNonces: 2 });
    const first = d.challenge();
    d.challenge();
    d.challenge();
    expect(d.verify(answer(first), 'INVITE', expectCreds)).toBe('stale');
  });
});
