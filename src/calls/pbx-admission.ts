import type { NumberConfig, TrunkConfig } from '../config/schema.js';
import { normalizeDialed } from './dial-plan.js';
import type { PbxUasLeg } from './ports/sip.js';
import { TokenBucket } from './rate-limiter.js';

export type Admission =
  | { ok: true; number: NumberConfig; callee: string }
  | { ok: false; status: number; reason: string; warning: string; retryAfter?: number; cause: string };

function digitsOf(s: string): string {
  return s.replace(/[^0-9]/g, '');
}

/**
 * The checks an INVITE from a known trunk passes before anything is sent to Meta: which business
 * number it calls from, what it dialed (normalized), and capacity (trunk CPS, per-number cap).
 *
 * Business number selection, in order: the trunk's `number_header` (a number name or its digits),
 * then the From user when it equals one of the trunk's business numbers, then the trunk's first
 * number. A number the trunk may not use is refused with 403.
 */
export class PbxAdmission {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly numbers: ReadonlyMap<string, NumberConfig>,
    private readonly activeCalls: (numberName: string) => number,
    private readonly now: () => number = Date.now,
  ) {}

  admit(trunk: TrunkConfig, leg: PbxUasLeg): Admission {
    if (!leg.sdp) {
      return { ok: false, status: 488, reason: 'Not Acceptable Here', warning: 'INVITE without SDP (late offer) is not supported', cause: 'no_sdp' };
    }
    const picked = this.pickNumber(trunk, leg);
    if ('status' in picked) return picked;
    const dialed = normalizeDialed(leg.requestUser || leg.to.user, trunk.dial_plan);
    if (!dialed.ok) {
      return { ok: false, status: 484, reason: 'Address Incomplete', warning: `cannot turn the dialed number into a WhatsApp number: ${dialed.reason}`, cause: 'bad_number' };
    }
    if (!this.bucket(trunk).tryTake()) {
      return { ok: false, status: 503, reason: 'Trunk Call Rate Exceeded', warning: `more than ${trunk.max_cps} calls per second from trunk ${trunk.name}`, retryAfter: 1, cause: 'trunk_cps' };
    }
    if (this.activeCalls(picked.name) >= picked.max_concurrent_calls) {
      return { ok: false, status: 503, reason: 'Too Many Calls', warning: `business number ${picked.name} has ${picked.max_concurrent_calls} calls in progress`, retryAfter: 5, cause: 'number_concurrency' };
    }
    return { ok: true, number: picked, callee: dialed.digits };
  }

  private pickNumber(trunk: TrunkConfig, leg: PbxUasLeg): NumberConfig | Extract<Admission, { ok: false }> {
    const allowed = trunk.numbers.map((n) => this.numbers.get(n)).filter((n): n is NumberConfig => n !== undefined);
    const find = (wanted: string) => allowed.find((n) => n.name === wanted || (digitsOf(wanted) !== '' && n.display_number === digitsOf(wanted)));
    const fromHeader = leg.header(trunk.number_header);
    if (fromHeader !== undefined && fromHeader.trim() !== '') {
      const n = find(fromHeader.trim());
      if (n) return n;
      return { ok: false, status: 403, reason: 'Business Number Not Allowed', warning: `trunk ${trunk.name} may not call from "${fromHeader.trim()}"`, cause: 'number_not_allowed' };
    }
    const fromUser = allowed.find((n) => n.display_number === digitsOf(leg.from.user));
    if (fromUser) return fromUser;
    const first = allowed[0];
    if (!first) return { ok: false, status: 403, reason: 'Business Number Not Allowed', warning: `trunk ${trunk.name} has no usable business number`, cause: 'number_not_allowed' };
    return first;
  }

  private bucket(trunk: TrunkConfig): TokenBucket {
    let b = this.buckets.get(trunk.name);
    if (!b) {
      b = new TokenBucket(trunk.max_cps, Math.max(1, Math.ceil(trunk.max_cps)), this.now);
      this.buckets.set(trunk.name, b);
    }
    return b;
  }
}
