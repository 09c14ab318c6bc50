import { mapProviderError } from '../calls/failure-mapping.js';
import type { Logger } from '../logging.js';
import { ProviderError } from '../calls/ports/whatsapp-errors.js';
import type { PermissionPolicy, PermissionTemplate } from '../config/permission-policy.js';
import {
  isGranted, PermissionLookupThrottled, userKey, type CachedPermission, type CallPermissionCache, type PermissionMetrics,
} from './permission-cache.js';
import { OUTSIDE_WINDOW_CODE, type PermissionRequestSender } from './permission-requests.js';

/**
 * The decision taken before a business-initiated `connect` (docs/whatsapp-calling.md#permissions), per trunk policy:
 *   off      allow.
 *   check    granted (temporary, not expired, or permanent) → allow; else 403, nothing sent to Meta.
 *   request  as check; without permission, when `send_call_permission_request.can_perform_action`
 *            is true, send a request (interactive; the template when configured and Meta answers that
 *            the 24-hour window is closed, 131047) and answer 403 saying so.
 *
 * Failing safe: when call_permissions cannot be read (613 rate limit, timeout, network, our own
 * 100/s guard), policy `on_lookup_error: allow` (the default) places the call anyway with a warning
 * log, because Meta enforces permission itself — `connect` then fails with 138006, which the call
 * flow already answers 403 — whereas refusing would turn a Graph hiccup into lost calls.
 * `on_lookup_error: reject` answers with the mapped Graph error instead (the README error table).
 *
 * The 24-hour window: watrunk does not track the user's last message, so it cannot know whether the
 * window is open. It sends the interactive request by default. Note that Meta may also accept a
 * free-form message and report the closed window later in a message status webhook; watrunk does not
 * follow message statuses, so configure `request.message: template` when users rarely write first.
 */

export type PermissionDenial = {
  allow: false;
  status: number;
  reason: string;
  /** For the Warning header (failureHeaders() in src/calls/failure-mapping.ts takes this object). */
  warning: string;
  /** True when a permission request was sent to the user for this call. */
  requested: boolean;
  /** Short label for metrics and the CDR. */
  cause: string;
  retryAfter?: number;
};
export type PermissionDecision = { allow: true; warning?: string } | PermissionDenial;

export type RequestOutcome =
  | { sent: true; messageId: string; via: 'interactive' | 'template' }
  | { sent: false; why: string; code?: number; limitReached?: boolean; permanentExists?: boolean };

export interface RequestOptions {
  message?: 'auto' | 'interactive' | 'template';
  bodyText?: string;
  template?: PermissionTemplate;
}

/** A trunk's `permission_policy.request` as the options of request(). */
export function requestOptionsOf(r: PermissionPolicy['request']): RequestOptions {
  return { message: r.message, ...(r.body_text !== undefined && { bodyText: r.body_text }), ...(r.template && { template: r.template }) };
}

export interface GateNumber {
  cache: CallPermissionCache;
  requests: PermissionRequestSender;
}

export interface PermissionGateOptions {
  numbers: ReadonlyMap<string, GateNumber>;
  logger: Logger;
  metrics?: PermissionMetrics;
  clock?: () => number;
}

const NO_PERMISSION = 'No WhatsApp Call Permission';

/** When the request limits free up again, from `limit_expiration_time` (only present when a limit is reached). */
function nextRequestTime(p: CachedPermission): string {
  const times = (p.requestLimits ?? []).map((l) => l.limitExpiresAt).filter((t): t is number => t !== undefined);
  return times.length ? `; next request possible after ${new Date(Math.max(...times) * 1000).toISOString()}` : '';
}

export class PermissionGate {
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly requesting = new Map<string, Promise<RequestOutcome>>();

  constructor(private readonly opts: PermissionGateOptions) {
    this.log = opts.logger.child({ component: 'permissions' });
    this.clock = opts.clock ?? Date.now;
  }

  private number(numberName: string): GateNumber {
    const n = this.opts.numbers.get(numberName);
    if (!n) throw new Error(`no business number named "${numberName}"`);
    return n;
  }

  /** The permission as Meta (or the cache) reports it. Throws on Graph errors. */
  async check(numberName: string, user: string, opts: { fresh?: boolean } = {}): Promise<{ permission: CachedPermission; cached: boolean; granted: boolean }> {
    const r = await this.number(numberName).cache.lookup(user, opts);
    return { ...r, granted: isGranted(r.permission, this.clock() / 1000) };
  }

  /**
   * Sends a permission request (for `decide` and for people: CLI, admin API). Never throws for
   * Graph errors: 138009 (limit) and 138017 (a permanent permission exists) are reported as such.
   * Concurrent requests for one user share one message.
   */
  async request(numberName: string, user: string, opts: RequestOptions = {}): Promise<RequestOutcome> {
    const n = this.number(numberName);
    const key = `${numberName}|${userKey(user)}`;
    let pending = this.requesting.get(key);
    if (!pending) {
      pending = this.send(n, user, opts).finally(() => this.requesting.delete(key));
      this.requesting.set(key, pending);
    }
    return pending;
  }

  private async send(n: GateNumber, user: string, opts: RequestOptions): Promise<RequestOutcome> {
    const message = opts.message ?? 'auto';
    const viaTemplate = async (): Promise<RequestOutcome> => {
      if (!opts.template) return { sent: false, why: 'no template configured (permission_policy.request.template)' };
      const { messageId } = await n.requests.sendTemplate(user, opts.template);
      return { sent: true, messageId, via: 'template' };
    };
    try {
      let outcome: RequestOutcome;
      if (message === 'template') {
        outcome = await viaTemplate();
      } else {
        try {
          const { messageId } = await n.requests.sendInteractive(user, opts.bodyText);
          outcome = { sent: true, messageId, via: 'interactive' };
        } catch (err) {
          // Outside the 24-hour window only a template may be sent (docs/whatsapp-calling.md#permission-requests).
          if (message === 'auto' && opts.template && err instanceof ProviderError && err.code === OUTSIDE_WINDOW_CODE) {
            outcome = await viaTemplate();
          } else {
            throw err;
          }
        }
      }
      if (outcome.sent) n.cache.noteRequestSent(user);
      return outcome;
    } catch (err) {
      const code = err instanceof ProviderError ? err.code : undefined;
      if (code === 138017) n.cache.invalidate(user);
      return {
        sent: false,
        why: err instanceof Error ? err.message : String(err),
        ...(code !== undefined && { code }),
        ...(code === 138009 && { limitReached: true }),
        ...(code === 138017 && { permanentExists: true }),
      };
    }
  }

  /** The decision before `connect` for a call from `numberName` to `user` (digits or BSUID). */
  async decide(policy: PermissionPolicy | undefined, numberName: string, user: string): Promise<PermissionDecision> {
    const mode = policy?.mode ?? 'off';
    if (mode === 'off') return { allow: true };
    let permission: CachedPermission;
    try {
      permission = (await this.number(numberName).cache.lookup(user)).permission;
    } catch (err) {
      return this.lookupFailed(policy!, numberName, user, err);
    }
    if (isGranted(permission, this.clock() / 1000)) return this.outcome(numberName, 'allowed', { allow: true });
    if (mode === 'check') {
      return this.outcome(numberName, 'denied', this.deny(false, 'no_permission',
        'the WhatsApp user has not granted call permission (checked before calling; no call was placed)'));
    }
    return this.requestAndDeny(policy!, numberName, user, permission);
  }

  private async requestAndDeny(policy: PermissionPolicy, numberName: string, user: string, known: CachedPermission): Promise<PermissionDecision> {
    let permission = known;
    if (permission.canRequest === undefined) {
      // Known from a webhook: whether a request may be sent is only in Meta's answer.
      try {
        permission = (await this.number(numberName).cache.lookup(user, { fresh: true })).permission;
      } catch (err) {
        return this.lookupFailed(policy, numberName, user, err);
      }
      if (isGranted(permission, this.clock() / 1000)) return this.outcome(numberName, 'allowed', { allow: true });
    }
    if (!permission.canRequest) {
      return this.outcome(numberName, 'denied', this.deny(false, 'permission_request_limit',
        `the WhatsApp user has not granted call permission, and Meta allows no permission request now (1 per 24 h, 2 per 7 days)${nextRequestTime(permission)}`));
    }
    const outcome = await this.request(numberName, user, requestOptionsOf(policy.request));
    if (outcome.sent) {
      this.log.info({ number: numberName, user, via: outcome.via, messageId: outcome.messageId }, 'call permission requested');
      return this.outcome(numberName, 'requested', {
        allow: false, status: 403, reason: 'WhatsApp Call Permission Requested', requested: true, cause: 'permission_requested',
        warning: `the WhatsApp user has not granted call permission; a permission request was sent (${outcome.via} message); call again once the user accepts`,
      });
    }
    if (outcome.permanentExists) {
      // 138017: the user has a permanent permission the cache did not know of.
      return this.outcome(numberName, 'allowed', { allow: true });
    }
    this.log.warn({ number: numberName, user, code: outcome.code, why: outcome.why }, 'call permission request not sent');
    const why = outcome.limitReached ? 'the permission request limit is reached (138009)' : `sending a permission request failed: ${outcome.why}`;
    return this.outcome(numberName, 'denied', this.deny(false, outcome.limitReached ? 'permission_request_limit' : 'no_permission',
      `the WhatsApp user has not granted call permission; ${why}`));
  }

  private lookupFailed(policy: PermissionPolicy, numberName: string, user: string, err: unknown): PermissionDecision {
    const details = err instanceof ProviderError ? err.toLog() : { message: (err as Error)?.message ?? String(err) };
    if (policy.on_lookup_error === 'allow') {
      this.log.warn({ number: numberName, user, err: details }, 'call permission look-up failed: placing the call anyway (Meta enforces permission: 138006 → 403)');
      return this.outcome(numberName, 'error_allowed', { allow: true, warning: 'call permission could not be checked' });
    }
    this.log.warn({ number: numberName, user, err: details }, 'call permission look-up failed: call refused (on_lookup_error: reject)');
    if (err instanceof ProviderError) {
      const f = mapProviderError(err);
      return this.outcome(numberName, 'error_rejected', {
        allow: false, status: f.status, reason: f.reason, warning: `call permission could not be checked: ${f.warning}`,
        requested: false, cause: f.cause, ...(f.retryAfter !== undefined && { retryAfter: f.retryAfter }),
      });
    }
    const throttled = err instanceof PermissionLookupThrottled;
    return this.outcome(numberName, 'error_rejected', {
      allow: false, status: 503, reason: throttled ? 'WhatsApp Rate Limited' : 'Permission Check Failed', requested: false,
      warning: `call permission could not be checked: ${(err as Error)?.message ?? String(err)}`, cause: throttled ? 'rate_limited' : 'permission_check_failed',
      retryAfter: 1,
    });
  }

  private deny(requested: boolean, cause: string, warning: string): PermissionDenial {
    return { allow: false, status: 403, reason: NO_PERMISSION, warning, requested, cause };
  }

  private outcome(numberName: string, outcome: string, d: PermissionDecision): PermissionDecision {
    this.opts.metrics?.permissionDecisions.inc({ number: numberName, outcome });
    return d;
  }
}
