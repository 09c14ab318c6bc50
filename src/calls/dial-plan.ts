/**
 * Turns what a PBX dialed into WhatsApp's form: digits only, with country code, no '+'
 * (docs/whatsapp-calling.md#call-actions: `to` is digits).
 */
export interface DialPlanRules {
  /** Removed from the front first, longest match wins (e.g. an outside-line "9"). */
  strip_prefixes: string[];
  /** International access prefixes replaced by nothing (e.g. "00", "011"). A leading '+' always is. */
  international_prefixes: string[];
  /** National trunk prefix (e.g. "0"), removed from national numbers before the country code is added. */
  national_prefix?: string;
  /**
   * Added to every number that was not dialed in international form ('+', or an international
   * prefix). Without it, such numbers are taken to include their country code already.
   */
  default_country_code?: string;
  min_digits: number;
  max_digits: number;
}

export const DEFAULT_DIAL_PLAN: DialPlanRules = {
  strip_prefixes: [],
  international_prefixes: ['00'],
  min_digits: 8,
  max_digits: 15,
};

export type NormalizeResult = { ok: true; digits: string } | { ok: false; reason: string };

function stripLongest(s: string, prefixes: readonly string[]): string {
  const match = [...prefixes].sort((a, b) => b.length - a.length).find((p) => p && s.startsWith(p));
  return match ? s.slice(match.length) : s;
}

export function normalizeDialed(dialed: string, rules: DialPlanRules): NormalizeResult {
  // Visual separators are tolerated (RFC 3966 allows them in tel URIs); anything else is not.
  let s = dialed.trim().replace(/[\s\-().]/g, '');
  if (s === '') return { ok: false, reason: 'empty number' };
  let international = false;
  s = stripLongest(s, rules.strip_prefixes);
  if (s.startsWith('+')) {
    international = true;
    s = s.slice(1);
  } else {
    const after = stripLongest(s, rules.international_prefixes);
    if (after !== s) {
      international = true;
      s = after;
    }
  }
  if (!/^[0-9]+$/.test(s)) return { ok: false, reason: `"${dialed}" contains characters other than digits` };
  if (!international && rules.default_country_code) {
    if (rules.national_prefix && s.startsWith(rules.national_prefix)) s = s.slice(rules.national_prefix.length);
    s = rules.default_country_code + s;
  }
  if (s.length < rules.min_digits) return { ok: false, reason: `"${dialed}" has too few digits (${s.length} < ${rules.min_digits})` };
  if (s.length > rules.max_digits) return { ok: false, reason: `"${dialed}" has too many digits (${s.length} > ${rules.max_digits})` };
  return { ok: true, digits: s };
}
