import { describe, expect, it } from 'vitest';
import { DEFAULT_DIAL_PLAN, normalizeDialed, type DialPlanRules } from '../../src/calls/dial-plan.js';
import { TokenBucket } from '../../src/calls/rate-limiter.js';
import { TrunkDirectory } from '../../src/calls/trunk-directory.js';
import { trunkSchema } from '../../src/config/schema.js';

const uk: DialPlanRules = { ...DEFAULT_DIAL_PLAN, strip_prefixes: ['9'], international_prefixes: ['00'], national_prefix: '0', default_country_code: '44' };

describe('normalizeDialed', () => {
  it.each([
    ['+447700900123', DEFAULT_DIAL_PLAN, '447700900123'],
    ['00447700900123', DEFAULT_DIAL_PLAN, '447700900123'],
    ['447700900123', DEFAULT_DIAL_PLAN, '447700900123'],
    ['+44 (7700) 900-123', DEFAULT_DIAL_PLAN, '447700900123'],
    ['907700900123', uk, '447700900123'],
    ['07700900123', uk, '447700900123'],
    ['9004915112345678', uk, '4915112345678'],
    ['+4915112345678', uk, '4915112345678'],
  ])('%s → %s', (dialed, rules, expected) => {
    expect(normalizeDialed(dialed, rules)).toEqual({ ok: true, digits: expected });
  });

  it.each([['', 'empty'], ['12345', 'too few'], ['+1234567890123456', 'too many'], ['sip*me', 'characters other than digits'], ['+44abc', 'characters']])('%j is refused (%s)', (dialed, reason) => {
    const r = normalizeDialed(dialed, DEFAULT_DIAL_PLAN);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(reason);
  });
});

describe('TrunkDirectory', () => {
  const ipTrunk = trunkSchema.parse({ name: 'office', sources: ['192.0.2.0/24', '2001:db8::/32'], numbers: ['sales'] });
  const digestTrunk = trunkSchema.parse({ name: 'roaming', auth: { username: 'pbx7', password_env: 'P' }, numbers: ['sales'] });
  const dir = new TrunkDirectory([ipTrunk, digestTrunk]);

  it('identifies by source address (IPv4 and IPv6 CIDRs)', () => {
    expect(dir.identify('192.0.2.77')).toMatchObject({ kind: 'trunk', trunk: { name: 'office' } });
    expect(dir.identify('2001:db8::5')).toMatchObject({ kind: 'trunk', trunk: { name: 'office' } });
  });
  it('asks for a challenge from other sources when a digest-only trunk exists, then identifies by username', () => {
    expect(dir.identify('198.51.100.1')).toEqual({ kind: 'challenge', realm: 'watrunk' });
    expect(dir.identify('198.51.100.1', 'pbx7')).toMatchObject({ kind: 'trunk', trunk: { name: 'roaming' } });
    expect(dir.identify('198.51.100.1', 'mallory')).toEqual({ kind: 'unknown' });
  });
  it('without digest-only trunks, an unknown source is unknown', () => {
    expect(new TrunkDirectory([ipTrunk]).identify('198.51.100.1')).toEqual({ kind: 'unknown' });
    expect(new TrunkDirectory([ipTrunk]).knowsSource('198.51.100.1')).toBe(false);
  });
});

describe('TokenBucket', () => {
  it('allows a burst, refuses beyond it, refills with time', () => {
    let t = 0;
    const b = new TokenBucket(2, 2, () => t);
    expect([b.tryTake(), b.tryTake(), b.tryTake()]).toEqual([true, true, false]);
    t = 500;
    expect(b.tryTake()).toBe(true);
    expect(b.tryTake()).toBe(false);
  });
});
