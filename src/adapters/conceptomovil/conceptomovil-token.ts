import { asNonEmptyString, asNumber, asRecord } from '../meta/coerce.js';
import type { ConceptoMovilHttp } from './conceptomovil-http.js';

/**
 * The bearer token every Concepto Móvil request carries. It is exchanged for the account's API key
 * and API token with GET {token path}, headers `Api-Key` and `Api-Token`, answer {"token": "..."}
 * (docs/providers.md#concepto-movil). The lifetime is not documented: an `expires_in` (seconds) or
 * a JWT `exp` claim in the answer is honoured, otherwise the token is kept for `ttlMs`. A 401 on
 * an API request makes the client drop the token (invalidate) and fetch a new one once.
 */
export interface ConceptoMovilTokenOptions {
  /** The account's API key (sent as Api-Key). */
  apiKey: string;
  /** The account's API token (sent as Api-Token; a secret). */
  apiToken: string;
  /** Path of the token endpoint under the tenant base URL. */
  path: string;
  timeoutMs: number;
  /** How long a token without a stated expiry is used. Default 1 hour. */
  ttlMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export const DEFAULT_TOKEN_TTL_MS = 60 * 60_000;
/** A token is replaced this long before its stated expiry (at most a tenth of its lifetime). */
const EXPIRY_MARGIN_MS = 60_000;
/** A token is reused for at least this long, even when its stated expiry looks past (clock skew). */
const MIN_REUSE_MS = 10_000;

interface CachedToken { value: string; expiresAt: number }

/** Seconds-since-epoch `exp` of a JWT, or undefined when the token is not a readable JWT. */
function jwtExpiry(token: string): number | undefined {
  const part = token.split('.')[1];
  if (token.split('.').length !== 3 || !part) return undefined;
  try {
    return asNumber(asRecord(JSON.parse(Buffer.from(part, 'base64url').toString('utf8')))?.['exp']);
  } catch {
    return undefined;
  }
}

export class ConceptoMovilTokenSource {
  private cached?: CachedToken;
  private pending?: Promise<string>;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(private readonly http: ConceptoMovilHttp, private readonly opts: ConceptoMovilTokenOptions) {
    if (opts.apiKey === '' || opts.apiToken === '') throw new Error('Concepto Móvil: the API key or API token is empty');
    this.ttlMs = opts.ttlMs ?? DEFAULT_TOKEN_TTL_MS;
    this.now = opts.now ?? Date.now;
  }

  /** The current token; fetched when there is none or it is about to expire. Concurrent callers share one fetch. */
  async get(): Promise<string> {
    if (this.cached && this.now() < this.cached.expiresAt) return this.cached.value;
    this.pending ??= this.fetch().finally(() => { this.pending = undefined; });
    return this.pending;
  }

  /** Forgets `token` if it is still the cached one (a 401 showed it is no longer accepted). */
  invalidate(token: string): void {
    if (this.cached?.value === token) this.cached = undefined;
  }

  /** Secrets to scrub from error texts: the API token and the current bearer token. */
  secrets(): string[] {
    return this.cached ? [this.opts.apiToken, this.cached.value] : [this.opts.apiToken];
  }

  private async fetch(): Promise<string> {
    const requestedAt = this.now();
    const token = await this.http.exchange(
      {
        operation: 'get_token', method: 'GET', path: this.opts.path, timeoutMs: this.opts.timeoutMs,
        headers: { 'Api-Key': this.opts.apiKey, 'Api-Token': this.opts.apiToken },
        secrets: [this.opts.apiToken],
      },
      (doc) => this.parse(doc, requestedAt),
    );
    this.cached = token;
    return token.value;
  }

  private parse(doc: unknown, requestedAt: number): CachedToken {
    const body = asRecord(doc);
    if (!body) throw new Error('token answer is not a JSON object');
    const value = asNonEmptyString(body['token'])?.trim() ?? asNonEmptyString(body['access_token'])?.trim();
    if (!value) throw new Error('token answer has no "token"');
    const expiresIn = asNumber(body['expires_in']);
    const exp = jwtExpiry(value);
    const stated = expiresIn !== undefined && expiresIn > 0 ? requestedAt + expiresIn * 1000
      : exp !== undefined ? exp * 1000 : undefined;
    if (stated === undefined) return { value, expiresAt: requestedAt + this.ttlMs };
    const margin = Math.min(EXPIRY_MARGIN_MS, Math.max(0, (stated - requestedAt) / 10));
    return { value, expiresAt: Math.max(stated - margin, requestedAt + MIN_REUSE_MS) };
  }
}
