import type { WhatsAppSettings } from '../../calls/ports/whatsapp-provider.js';
import { fetchSipCredentials } from '../../control/sip/sip-credentials.js';
import type { Logger } from '../../logging.js';

/**
 * The Meta-generated SIP password of one business number (docs/sip-mode.md#password): from the
 * environment when configured, else GET /settings?include_sip_credentials=true (the entry whose
 * hostname is watrunk's, else the first), cached for `ttlMs`. A digest Meta refuses makes the
 * caller ask for `refresh()`: one fetch at a time, at most once per `minRefreshMs`, so a burst of
 * failing calls costs one settings request, not one each. The password itself is never logged.
 */
export class MetaSipPassword {
  private cached?: { password: string; at: number };
  private inFlight?: Promise<string>;
  private lastRefreshAt = Number.NEGATIVE_INFINITY;
  /** How many times the password was fetched from Meta (metrics, tests). */
  fetches = 0;

  constructor(private readonly d: {
    fixed?: string;
    settings?: WhatsAppSettings;
    hostname: string;
    ttlMs: number;
    minRefreshMs?: number;
    log: Logger;
    now?: () => number;
  }) {}

  private now(): number { return (this.d.now ?? Date.now)(); }

  /** The password to answer a challenge with; rejects when there is none. */
  async get(): Promise<string> {
    if (this.d.fixed !== undefined) return this.d.fixed;
    if (this.cached && this.now() - this.cached.at < this.d.ttlMs) return this.cached.password;
    return this.fetch();
  }

  /**
   * After Meta refused the digest: fetch again. `changed` when a different password came back
   * (worth one more attempt); `fetched` when this call asked Meta (not fixed, not joined to a fetch
   * in flight, not within minRefreshMs of the last re-fetch).
   */
  async refresh(): Promise<{ fetched: boolean; changed: boolean }> {
    if (this.d.fixed !== undefined) return { fetched: false, changed: false };
    const before = this.cached?.password;
    if (this.inFlight) return { fetched: false, changed: (await this.inFlight.catch(() => before)) !== before };
    if (this.now() - this.lastRefreshAt < (this.d.minRefreshMs ?? 10_000)) return { fetched: false, changed: false };
    this.lastRefreshAt = this.now();
    try {
      const after = await this.fetch();
      if (after === before) this.d.log.error('Meta refused the SIP digest and its settings still return the same password: check the number\'s SIP server entry and app');
      else this.d.log.warn('Meta refused the SIP digest: a new SIP password was fetched from its settings');
      return { fetched: true, changed: after !== before };
    } catch (err) {
      this.d.log.error({ err: (err as Error).message }, 'Meta refused the SIP digest and the password could not be fetched again');
      return { fetched: true, changed: false };
    }
  }

  private fetch(): Promise<string> {
    if (!this.d.settings) return Promise.reject(new Error('no settings API to read the SIP password from, and no meta_sip.password_env'));
    this.inFlight ??= (async () => {
      this.fetches++;
      const creds = await fetchSipCredentials(this.d.settings!);
      const chosen = creds.find((c) => c.hostname === this.d.hostname) ?? creds[0];
      if (!chosen) throw new Error('Meta\'s settings carry no SIP password (is a SIP server configured for the number?)');
      this.cached = { password: chosen.password, at: this.now() };
      return chosen.password;
    })().finally(() => { this.inFlight = undefined; });
    return this.inFlight;
  }
}
