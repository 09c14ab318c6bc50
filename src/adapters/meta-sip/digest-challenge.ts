import { randomBytes } from 'node:crypto';
import { digestMatches, parseDigest } from './sip-digest.js';

/**
 * watrunk's digest challenge to Meta's INVITEs (RFC 3261 §22.4, RFC 2617 §3.2.2 with qop=auth):
 * a response counts only for a nonce watrunk issued, not yet expired, in watrunk's own realm, so a
 * captured Authorization header cannot be replayed once its nonce has aged out (drachtio's digest
 * middleware checks neither the realm nor the nonce).
 */
export class DigestChallenges {
  private readonly nonces = new Map<string, number>();

  constructor(private readonly opts: { realm: string; nonceTtlMs?: number; maxNonces?: number; now?: () => number }) {}

  private now(): number { return (this.opts.now ?? Date.now)(); }

  /** A WWW-Authenticate value with a fresh nonce. */
  challenge(): string {
    this.prune();
    const nonce = randomBytes(16).toString('hex');
    this.nonces.set(nonce, this.now());
    const max = this.opts.maxNonces ?? 10_000;
    while (this.nonces.size > max) this.nonces.delete(this.nonces.keys().next().value!);
    return `Digest realm="${this.opts.realm}", nonce="${nonce}", algorithm=MD5, qop="auth"`;
  }

  /**
   * 'missing': no credentials (challenge); 'stale': a nonce watrunk did not issue or that expired
   * (challenge again); 'wrong': realm, user or response do not match; 'ok'.
   */
  verify(header: string | undefined, method: string, expect: { username: string; password: string | undefined }): 'missing' | 'stale' | 'wrong' | 'ok' {
    const creds = parseDigest(header);
    if (!creds) return 'missing';
    const issued = this.nonces.get(creds['nonce'] ?? '');
    if (issued === undefined || this.now() - issued > (this.opts.nonceTtlMs ?? 300_000)) return 'stale';
    if (creds['realm'] !== this.opts.realm || creds['username'] !== expect.username || expect.password === undefined) return 'wrong';
    return digestMatches(creds, method, expect.password) ? 'ok' : 'wrong';
  }

  private prune(): void {
    const ttl = this.opts.nonceTtlMs ?? 300_000;
    const now = this.now();
    for (const [nonce, at] of this.nonces) {
      if (now - at <= ttl) break; // insertion order = issue order
      this.nonces.delete(nonce);
    }
  }
}
