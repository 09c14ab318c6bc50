import { LRUCache } from 'lru-cache';
import type { Counter } from 'prom-client';
import { isBsuid, phoneDigits } from '../adapters/meta/meta-recipient.js';
import { TokenBucket } from '../calls/rate-limiter.js';
import type { PermissionReplied } from '../calls/ports/whatsapp-events.js';
import type { CallPermission, PermissionLimit, WhatsAppPermissions } from '../calls/ports/whatsapp-provider.js';

/**
 * Business-initiated call permissions of one business number, cached per user (docs/whatsapp-calling.md#permissions).
 *  - Keyed by the user's digits or BSUID. A permission reply names both, and updates both keys.
 *  - A granted permission is kept until its expiry (`expiration_time` or `expiration`: the parser
 *    accepts both spellings) and at most `ttlMs`; "no permission" only `negativeTtlMs`, since the
 *    user may grant it from the business profile at any time. Meta sends NO webhook when a temporary
 *    permission expires (docs/whatsapp-calling.md#permission-replies), so an expired one simply stops counting.
 *  - `call_permission_reply` webhooks update the cache at once (applyReply): accept (temporary or
 *    permanent), reject, and the automatic revocation after unanswered calls (reject/automatic).
 *  - Look-ups stay under Meta's 100 requests per second per number (613 above it): a token
 *    bucket; an empty bucket throws PermissionLookupThrottled (the gate treats it like a 613).
 *  - Concurrent look-ups for one user share one request.
 */

const META_LOOKUPS_PER_SECOND = 100;
/** Temporary permissions last 7 days (docs/whatsapp-calling.md#permissions); used when a reply carries no expiration_timestamp. */
const TEMPORARY_PERMISSION_S = 7 * 24 * 3600;

/** The counters of call permission look-ups and decisions (registered by src/control/control-metrics.ts). */
export interface PermissionMetrics {
  /** call_permissions look-ups, by number and source (cache, graph, throttled, error). */
  permissionLookups: Counter<'number' | 'source'>;
  /** Permission gate decisions, by number and outcome (allowed, denied, requested, error_allowed, error_rejected). */
  permissionDecisions: Counter<'number' | 'outcome'>;
}

export interface CachedPermission {
  status: string;
  /** Unix seconds; temporary permissions only. */
  expiresAt?: number;
  /** send_call_permission_request.can_perform_action; unknown after a webhook. */
  canRequest?: boolean;
  requestLimits?: PermissionLimit[];
  /** start_call.can_perform_action; unknown after a webhook. */
  canStartCall?: boolean;
  source: 'lookup' | 'reply' | 'request_sent';
  storedAtMs: number;
}

export class PermissionLookupThrottled extends Error {
  override readonly name = 'PermissionLookupThrottled';
  constructor(numberName: string) {
    super(`call_permissions look-ups for ${numberName} are over ${META_LOOKUPS_PER_SECOND}/s (Meta's limit, error 613)`);
  }
}

export interface PermissionCacheOptions {
  numberName: string;
  clock?: () => number;
  /** Longest a granted permission is trusted without asking again (default 1 h). */
  ttlMs?: number;
  /** How long "no permission" is trusted (default 30 s). */
  negativeTtlMs?: number;
  maxEntries?: number;
  lookupsPerSecond?: number;
  metrics?: PermissionMetrics;
}

interface Entry { permission: CachedPermission; validUntilMs: number }

/** The cache key of a user: a BSUID as given, a number as digits. */
export function userKey(user: string): string {
  return isBsuid(user) ? user.trim() : phoneDigits(user);
}

/** Whether a permission lets the business call at `nowS` (Unix seconds). */
export function isGranted(p: Pick<CachedPermission, 'status' | 'expiresAt'>, nowS: number): boolean {
  if (p.status === 'permanent') return true;
  if (p.status === 'temporary') return p.expiresAt === undefined || p.expiresAt > nowS;
  return false;
}

export class CallPermissionCache {
  private readonly entries: LRUCache<string, Entry>;
  private readonly inflight = new Map<string, Promise<CachedPermission>>();
  private readonly bucket: TokenBucket;
  private readonly clock: () => number;
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;

  constructor(private readonly port: WhatsAppPermissions, private readonly opts: PermissionCacheOptions) {
    this.clock = opts.clock ?? Date.now;
    this.ttlMs = opts.ttlMs ?? 3_600_000;
    this.negativeTtlMs = opts.negativeTtlMs ?? 30_000;
    this.entries = new LRUCache({ max: opts.maxEntries ?? 50_000 });
    const rate = opts.lookupsPerSecond ?? META_LOOKUPS_PER_SECOND;
    this.bucket = new TokenBucket(rate, rate, this.clock);
  }

  get numberName(): string { return this.opts.numberName; }

  /** The cached permission, if still valid. */
  peek(user: string): CachedPermission | undefined {
    const key = userKey(user);
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.validUntilMs <= this.clock()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.permission;
  }

  /**
   * The user's permission: from the cache, else GET call_permissions. `fresh` skips the cache.
   * Rejects with ProviderError (Graph) or PermissionLookupThrottled.
   */
  async lookup(user: string, opts: { fresh?: boolean } = {}): Promise<{ permission: CachedPermission; cached: boolean }> {
    const key = userKey(user);
    if (!opts.fresh) {
      const hit = this.peek(key);
      if (hit) {
        this.count('cache');
        return { permission: hit, cached: true };
      }
    }
    let pending = this.inflight.get(key);
    if (!pending) {
      if (!this.bucket.tryTake()) {
        this.count('throttled');
        throw new PermissionLookupThrottled(this.opts.numberName);
      }
      pending = this.fetch(key).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return { permission: await pending, cached: false };
  }

  private async fetch(key: string): Promise<CachedPermission> {
    let p: CallPermission;
    try {
      p = await this.port.getCallPermission(key);
    } catch (err) {
      this.count('error');
      throw err;
    }
    this.count('graph');
    const request = p.actions.find((a) => a.name === 'send_call_permission_request');
    const start = p.actions.find((a) => a.name === 'start_call');
    const permission: CachedPermission = {
      status: p.status,
      ...(p.expiresAt !== undefined && { expiresAt: p.expiresAt }),
      ...(request && { canRequest: request.canPerform, requestLimits: request.limits }),
      ...(start && { canStartCall: start.canPerform }),
      source: 'lookup',
      storedAtMs: this.clock(),
    };
    this.store([key], permission);
    return permission;
  }

  private store(keys: string[], permission: CachedPermission): void {
    const now = this.clock();
    let validUntilMs = now + (isGranted(permission, now / 1000) ? this.ttlMs : this.negativeTtlMs);
    if (permission.status === 'temporary' && permission.expiresAt !== undefined) {
      validUntilMs = Math.min(validUntilMs, permission.expiresAt * 1000);
    }
    for (const k of keys) {
      if (validUntilMs > now) this.entries.set(k, { permission, validUntilMs });
      else this.entries.delete(k);
    }
  }

  /** A call_permission_reply webhook for this number (docs/whatsapp-calling.md#permission-replies): takes effect at once. */
  applyReply(e: PermissionReplied): CachedPermission {
    const keys = [e.user.number, e.user.userId].filter((k): k is string => !!k).map(userKey).filter((k) => k !== '');
    const base = { source: 'reply' as const, storedAtMs: this.clock() };
    let permission: CachedPermission;
    if (e.response === 'accept') {
      permission = e.permanent
        ? { ...base, status: 'permanent', canStartCall: true }
        : { ...base, status: 'temporary', expiresAt: e.expiresAt ?? Math.floor(this.clock() / 1000) + TEMPORARY_PERMISSION_S, canStartCall: true };
    } else {
      // reject by the user, or the automatic revocation after unanswered calls (docs/whatsapp-calling.md#permissions)
      permission = { ...base, status: 'no_permission', canStartCall: false };
    }
    this.store(keys, permission);
    return permission;
  }

  /** After a permission request was sent: no second request until Meta says one may be sent. */
  noteRequestSent(user: string): void {
    const key = userKey(user);
    const current = this.peek(key);
    this.store([key], { ...(current ?? { status: 'no_permission' }), canRequest: false, source: 'request_sent', storedAtMs: this.clock() });
  }

  invalidate(user: string): void {
    this.entries.delete(userKey(user));
  }

  get size(): number {
    return this.entries.size;
  }

  private count(source: 'cache' | 'graph' | 'throttled' | 'error'): void {
    this.opts.metrics?.permissionLookups.inc({ number: this.opts.numberName, source });
  }
}
