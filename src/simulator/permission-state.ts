import { GraphError } from './graph-error.js';
import type { SimulatedUser } from './user-rules.js';

/**
 * Business-initiated calling permissions and limits per (business number, user) (docs/whatsapp-calling.md#permissions, #limits):
 *  - permission: no_permission | temporary (7 days) | permanent; initial value from the user's rule;
 *  - permission requests: 1 per 24 h and 2 per 7 days → 138009; a permanent permission → 138017;
 *    any connected call between the pair resets the request limits;
 *  - connected business-initiated calls: 100 per 24 h → 138012;
 *  - 4 consecutive unanswered/rejected business-initiated calls auto-revoke the permission.
 * All times come from the injected clock (ms).
 */

const H24 = 24 * 3600 * 1000;
const D7 = 7 * H24;

export type PermissionStatus = 'no_permission' | 'temporary' | 'permanent';

export interface PermissionLimits {
  requestsPer24h: number;
  requestsPer7d: number;
  connectedCallsPer24h: number;
  autoRevokeAfterUnanswered: number;
  temporaryMs: number;
}

interface PairState {
  status: PermissionStatus;
  expiresAt?: number;
  requests: number[];
  connectedCalls: number[];
  unansweredStreak: number;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

export class PermissionStore {
  private readonly pairs = new Map<string, PairState>();
  constructor(private readonly limits: PermissionLimits, private readonly clock: () => number) {}

  private pair(pnid: string, user: SimulatedUser): PairState {
    const key = `${pnid}|${user.key}`;
    let s = this.pairs.get(key);
    if (!s) {
      const initial = user.rule.permission;
      s = { status: initial === 'none' ? 'no_permission' : initial, requests: [], connectedCalls: [], unansweredStreak: 0 };
      // A rule's temporary permission starts when the simulator first meets the user.
      if (initial === 'temporary') s.expiresAt = this.clock() + this.limits.temporaryMs;
      this.pairs.set(key, s);
    }
    const now = this.clock();
    if (s.status === 'temporary' && s.expiresAt !== undefined && s.expiresAt <= now) {
      s.status = 'no_permission';
      delete s.expiresAt;
    }
    s.requests = s.requests.filter((t) => t > now - D7);
    s.connectedCalls = s.connectedCalls.filter((t) => t > now - H24);
    return s;
  }

  status(pnid: string, user: SimulatedUser): { status: PermissionStatus; expiresAt?: number } {
    const s = this.pair(pnid, user);
    return { status: s.status, ...(s.expiresAt !== undefined ? { expiresAt: s.expiresAt } : {}) };
  }

  grant(pnid: string, user: SimulatedUser, permanent: boolean, expiresAt?: number): { status: PermissionStatus; expiresAt?: number } {
    const s = this.pair(pnid, user);
    if (permanent) {
      s.status = 'permanent';
      delete s.expiresAt;
    } else if (s.status !== 'permanent') {
      s.status = 'temporary';
      s.expiresAt = expiresAt ?? this.clock() + this.limits.temporaryMs;
    }
    s.unansweredStreak = 0;
    return this.status(pnid, user);
  }

  revoke(pnid: string, user: SimulatedUser): void {
    const s = this.pair(pnid, user);
    s.status = 'no_permission';
    delete s.expiresAt;
  }

  /** Throws 138006 unless the pair may be called, and 138012 when the connected-call limit is reached. */
  checkCanCall(pnid: string, user: SimulatedUser): void {
    const s = this.pair(pnid, user);
    if (s.status === 'no_permission') throw new GraphError(138006, `No approved call permission from ${user.number || user.userId}`);
    if (s.connectedCalls.length >= this.limits.connectedCallsPer24h) {
      const next = seconds(s.connectedCalls[0]! + H24);
      throw new GraphError(138012, `Limit of ${this.limits.connectedCallsPer24h} connected calls per 24 hours reached; next call allowed at ${next}`);
    }
  }

  /** Throws 138017 / 138009 when a permission request may not be sent now; otherwise counts it. */
  recordRequest(pnid: string, user: SimulatedUser): void {
    const s = this.pair(pnid, user);
    if (s.status === 'permanent') throw new GraphError(138017, 'The user has already granted a permanent call permission');
    const now = this.clock();
    const in24h = s.requests.filter((t) => t > now - H24).length;
    if (in24h >= this.limits.requestsPer24h) {
      throw new GraphError(138009, `Limit of ${this.limits.requestsPer24h} call permission request(s) per 24 hours reached for this user`);
    }
    if (s.requests.length >= this.limits.requestsPer7d) {
      throw new GraphError(138009, `Limit of ${this.limits.requestsPer7d} call permission requests per 7 days reached for this user`);
    }
    s.requests.push(now);
  }

  /** A connected call (either direction) resets the request limits; BIC calls count toward start_call. */
  recordConnected(pnid: string, user: SimulatedUser, businessInitiated: boolean): void {
    const s = this.pair(pnid, user);
    s.requests = [];
    s.unansweredStreak = 0;
    if (businessInitiated) s.connectedCalls.push(this.clock());
  }

  /** An unanswered or rejected BIC call. Returns true when this one auto-revoked the permission. */
  recordUnanswered(pnid: string, user: SimulatedUser): boolean {
    const s = this.pair(pnid, user);
    s.unansweredStreak += 1;
    const limit = this.limits.autoRevokeAfterUnanswered;
    if (limit > 0 && s.unansweredStreak >= limit && s.status !== 'no_permission') {
      s.status = 'no_permission';
      delete s.expiresAt;
      s.unansweredStreak = 0;
      return true;
    }
    return false;
  }

  /** The body of GET /{PNID}/call_permissions (docs/whatsapp-calling.md#permissions). */
  describe(pnid: string, user: SimulatedUser): Record<string, unknown> {
    const s = this.pair(pnid, user);
    const now = this.clock();
    const req24 = s.requests.filter((t) => t > now - H24);
    const limit = (period: string, max: number, used: number[], span: number) => ({
      time_period: period,
      max_allowed: max,
      current_usage: used.length,
      // present only when the limit is reached
      ...(used.length >= max ? { limit_expiration_time: seconds(used[used.length - max]! + span) } : {}),
    });
    const requestLimits = [
      limit('PT24H', this.limits.requestsPer24h, req24, H24),
      limit('P7D', this.limits.requestsPer7d, s.requests, D7),
    ];
    const callLimits = [limit('PT24H', this.limits.connectedCallsPer24h, s.connectedCalls, H24)];
    return {
      messaging_product: 'whatsapp',
      permission: {
        status: s.status,
        ...(s.status === 'temporary' && s.expiresAt !== undefined ? { expiration_time: seconds(s.expiresAt) } : {}),
      },
      actions: [
        {
          action_name: 'send_call_permission_request',
          can_perform_action: s.status !== 'permanent' && requestLimits.every((l) => l.current_usage < l.max_allowed),
          limits: requestLimits,
        },
        {
          action_name: 'start_call',
          can_perform_action: s.status !== 'no_permission' && callLimits.every((l) => l.current_usage < l.max_allowed),
          limits: callLimits,
        },
      ],
    };
  }

  reset(): void {
    this.pairs.clear();
  }
}
