import { createHash, randomBytes } from 'node:crypto';

/**
 * SIP digest pieces (RFC 2617 §3.2.2 with qop=auth; RFC 3261 §22.4) used on both sides of SIP
 * mode: the challenge in the shape Meta's edge sends it (407, realm "wa.meta.vc", nonce, opaque,
 * algorithm=MD5, qop="auth"; docs/sip-mode.md#business-initiated), the parsing of a credentials
 * header, and the check of a response. watrunk's own challenge is digest-challenge.ts; the
 * simulator's edge uses these directly.
 */

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

export function challengeHeader(realm: string): string {
  const nonce = randomBytes(16).toString('hex');
  const opaque = randomBytes(8).toString('hex');
  return `Digest realm="${realm}", nonce="${nonce}", opaque="${opaque}", algorithm=MD5, qop="auth"`;
}

/** The parameters of a Digest credentials header (Proxy-Authorization / Authorization). */
export function parseDigest(header: string | undefined): Record<string, string> | undefined {
  if (!header || !/^\s*Digest\s/i.test(header)) return undefined;
  const out: Record<string, string> = {};
  for (const m of header.replace(/^\s*Digest\s+/i, '').matchAll(/([A-Za-z-]+)\s*=\s*(?:"([^"]*)"|([^\s,]+))/g)) {
    out[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  }
  return out;
}

/** Whether `creds` answer the challenge for `method` with `password`. */
export function digestMatches(creds: Record<string, string>, method: string, password: string): boolean {
  const ha1 = md5(`${creds['username']}:${creds['realm']}:${password}`);
  const ha2 = md5(`${method}:${creds['uri']}`);
  const expected = creds['qop']
    ? md5(`${ha1}:${creds['nonce']}:${creds['nc']}:${creds['cnonce']}:${creds['qop']}:${ha2}`)
    : md5(`${ha1}:${creds['nonce']}:${ha2}`);
  return expected === creds['response'];
}
