import { bsuidPattern, type SimulatorConfig, type UserRule } from './config.js';
import { countryOf, derivedBsuid } from './ids.js';
import type { UserIdentity } from './webhook-payloads.js';

/**
 * The scripted WhatsApp users. `users[]` is matched in order (first match wins): `match` is an exact
 * number, a number prefix ending in "*", or an exact BSUID; `default_user` covers everyone else.
 */

export interface SimulatedUser extends UserIdentity {
  /** Stable key for per-user state: the number, or the BSUID when the number is unknown/hidden. */
  key: string;
  rule: UserRule;
}

export const isBsuid = (s: string): boolean => bsuidPattern.test(s);

function matches(match: string, number: string, userId: string | undefined): boolean {
  if (isBsuid(match)) return userId === match;
  if (match.endsWith('*')) return number !== '' && number.startsWith(match.slice(0, -1));
  return match === number;
}

export class UserDirectory {
  constructor(private readonly config: SimulatorConfig) {}

  private ruleFor(number: string, userId: string | undefined): UserRule {
    return this.config.users.find((r) => matches(r.match, number, userId)) ?? this.config.default_user;
  }

  /**
   * A user addressed by number (digits) or by BSUID, as `to`, `user_wa_id` or `recipient` allow
   * (docs/whatsapp-calling.md#user-identities). A BSUID that an exact-number rule claims resolves to that number.
   */
  resolve(address: string, overrides: { userId?: string; name?: string } = {}): SimulatedUser {
    let number = address;
    let userId = overrides.userId;
    if (isBsuid(address)) {
      userId = address;
      const owner = this.config.users.find((r) => r.user_id === address && /^[0-9]+$/.test(r.match));
      number = owner?.match ?? '';
    }
    const rule = this.ruleFor(number, userId);
    // A rule's user_id names one user: use it only for an exact-number (or BSUID) rule.
    if (!userId && rule.user_id && rule.match && !rule.match.endsWith('*')) userId = rule.user_id;
    if (!userId && number) userId = derivedBsuid(number, this.config.seed);
    const name = overrides.name ?? rule.name;
    return {
      key: number || (userId ?? address),
      number,
      rule,
      ...(userId ? { userId } : {}),
      ...(name !== undefined ? { name } : {}),
      ...(rule.username !== undefined ? { username: rule.username } : {}),
      countryCode: rule.country_code ?? (number ? countryOf(number) : userId?.slice(0, 2) ?? 'ZZ'),
    };
  }
}
