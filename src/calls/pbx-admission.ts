import type { NumberConfig, TrunkConfig } from '../config/schema.js';
import { normalizeDialed } from './dial-plan.js';
import type { NumberDirectory } from './number-directory.js';
import type { SipFailureResponse } from './failure-mapping.js';
import type { PbxUasLeg, SipHeaders } from './ports/sip.js';
import { TokenBucket } from './rate-limiter.js';

/** A refusal of an INVITE: the SIP final response the PBX gets, with a Warning text. */
export type Refusal = SipFailureResponse & { headers?: SipHeaders };

/**
 * What an INVITE from a known trunk is checked against once its SDP is known to be usable: which
 * business number it calls from, what it dialed, and capacity. The order the checks run in is in
 * src/calls/pbx-invite-checks.ts.
 *
 * Business number selection, in order: the trunk's `number_header` (a number name or its digits),
 * then the From user when it equals one of the trunk's business numbers, then the trunk's first
 * number. A number the trunk may not use is refused with 403.
 */
export class PbxAdmission {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly numbers: NumberDirectory,
    private readonly activeCalls: (numberName: string) => number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The business number the call goes out from, or 403. */
  businessNumber(trunk: TrunkConfig, leg: PbxUasLeg): NumberConfig | Refusal {
    return this.pickNumber(trunk, leg);
  }

  /** The dialed number in WhatsApp's form (digits with country code), or 484. */
  dialed(trunk: TrunkConfig, leg: PbxUasLeg): { callee: string } | Refusal {
    const dialed = normalizeDialed(leg.requestUser || leg.to.user, trunk.dial_plan);
    if (dialed.ok) return { callee: dialed.digits };
    return { status: 484, reason: 'Address Incomplete', warning: `cannot turn the dialed number into a WhatsApp number: ${dialed.reason}`, cause: 'bad_number' };
  }

  /** Takes one call from the trunk's calls-per-second budget, or 503. */
  takeCallSlot(trunk: TrunkConfig): Refusal | undefined {
    if (this.bucket(trunk).tryTake()) return undefined;
    return { status: 503, reason: 'Trunk Call Rate Exceeded', warning: `more than ${trunk.max_cps} calls per second from trunk ${trunk.name}`, retryAfter: 1, cause: 'trunk_cps' };
  }

  /** Whether the business number is below max_concurrent_calls, or 503. */
  numberHasRoom(number: NumberConfig): Refusal | undefined {
    if (this.activeCalls(number.name) < number.max_concurrent_calls) return undefined;
    return { status: 503, reason: 'Too Many Calls', warning: `business number ${number.name} has ${number.max_concurrent_calls} calls in progress`, retryAfter: 5, cause: 'number_concurrency' };
  }

  private pickNumber(trunk: TrunkConfig, leg: PbxUasLeg): NumberConfig | Refusal {
    const allowed = trunk.numbers.map((n) => this.numbers.byName(n)).filter((n): n is NumberConfig => n !== undefined);
    const fromHeader = leg.header(trunk.number_header)?.trim();
    if (fromHeader) {
      const n = [this.numbers.byName(fromHeader), this.numbers.byDigits(fromHeader)].find((x) => x !== undefined && allowed.includes(x));
      if (n) return n;
      return { status: 403, reason: 'Business Number Not Allowed', warning: `trunk ${trunk.name} may not call from "${fromHeader}"`, cause: 'number_not_allowed' };
    }
    const fromUser = this.numbers.byDigits(leg.from.user);
    if (fromUser && allowed.includes(fromUser)) return fromUser;
    const first = allowed[0];
    if (!first) return { status: 403, reason: 'Business Number Not Allowed', warning: `trunk ${trunk.name} has no usable business number`, cause: 'number_not_allowed' };
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
