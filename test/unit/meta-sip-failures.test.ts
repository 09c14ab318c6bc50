/**
 * Meta's SIP final answers to watrunk's INVITE → the SIP failure the PBX gets
 * (src/calls/meta-sip-failures.ts), with the 403 reason phrases of Meta's troubleshooting page.
 */
import { describe, expect, it } from 'vitest';
import {
  isDigestFailure, mapMetaSipAnswer, metaSipTableRows, shouldRefetchPassword, type MetaSipAnswer,
} from '../../src/calls/meta-sip-failures.js';

/** The 403 phrases Meta lists (https://developers.facebook.com/docs/whatsapp/cloud-api/calling/troubleshooting). */
const PERMISSION = 'No Approved Call Permission Found';
const DAILY_LIMIT = 'Business Initiated Connected Call Per Day Limit Hit';
const DOMAIN_MISMATCH = 'SIP server x from INVITE does not match any SIP server configured for phone number id 1';
const APP_NOT_AUTHORIZED = 'The app 1 configured for SIP server x is not authorized for phone number id 1';

/** Every Warning names Meta's status and phrase, so the PBX admin sees what Meta said. */
function expectWarningNamesMeta(answer: MetaSipAnswer): void {
  const { warning } = mapMetaSipAnswer(answer);
  expect(warning).toContain(`Meta SIP ${answer.status}`);
  if (answer.reason) expect(warning).toContain(`"${answer.reason}"`);
}

describe('Meta\'s 403s, told apart by their phrase', () => {
  it('no call permission → 403 no_permission, quiet, no password re-fetch', () => {
    const a = { status: 403, reason: PERMISSION, afterCredentials: true };
    expect(mapMetaSipAnswer(a)).toEqual({
      status: 403, reason: 'No WhatsApp Call Permission', cause: 'no_permission',
      warning: `the user has not granted call permission (or is not on WhatsApp) (Meta SIP 403 "${PERMISSION}")`,
    });
    expect(isDigestFailure(a)).toBe(false);
    expect(shouldRefetchPassword(a)).toBe(false);
  });

  it('per-day connected-call limit → 403 daily_limit, quiet, no re-fetch', () => {
    const a = { status: 403, reason: DAILY_LIMIT, afterCredentials: true };
    const f = mapMetaSipAnswer(a);
    expect(f).toMatchObject({ status: 403, reason: 'WhatsApp Daily Call Limit', cause: 'daily_limit' });
    expect(f.loud).toBeUndefined();
    expectWarningNamesMeta(a);
    expect(shouldRefetchPassword(a)).toBe(false);
  });

  it('From domain matches no configured SIP server → loud 503 sip_domain naming meta_sip.hostname, no re-fetch', () => {
    const a = { status: 403, reason: DOMAIN_MISMATCH, afterCredentials: true };
    const f = mapMetaSipAnswer(a);
    expect(f).toMatchObject({ status: 503, reason: 'WhatsApp SIP Domain Mismatch', cause: 'sip_domain', loud: true });
    expect(f.warning).toContain('meta_sip.hostname');
    expectWarningNamesMeta(a);
    expect(isDigestFailure(a)).toBe(false);
    expect(shouldRefetchPassword(a)).toBe(false);
  });

  it('the app is not authorized for the number → loud 503 sip_app (not a digest failure), no re-fetch', () => {
    const a = { status: 403, reason: APP_NOT_AUTHORIZED, afterCredentials: true };
    const f = mapMetaSipAnswer(a);
    expect(f).toMatchObject({ status: 503, reason: 'WhatsApp SIP App Not Authorized', cause: 'sip_app', loud: true });
    expect(f.warning).toContain('whatsapp_business_messaging');
    expectWarningNamesMeta(a);
    // "not authorized" is an app permission problem: a new password cannot cure it.
    expect(isDigestFailure(a)).toBe(false);
    expect(shouldRefetchPassword(a)).toBe(false);
  });

  it('phrases are matched case-insensitively', () => {
    expect(mapMetaSipAnswer({ status: 403, reason: PERMISSION.toUpperCase() }).cause).toBe('no_permission');
    expect(mapMetaSipAnswer({ status: 403, reason: DAILY_LIMIT.toLowerCase() }).cause).toBe('daily_limit');
  });

  it('a 403 naming the digest → loud 503 sip_auth, and a re-fetch is worth trying', () => {
    const a = { status: 403, reason: 'Bad digest response', afterCredentials: true };
    expect(mapMetaSipAnswer(a)).toMatchObject({ status: 503, reason: 'WhatsApp SIP Auth Failed', cause: 'sip_auth', loud: true });
    expect(isDigestFailure(a)).toBe(true);
    expect(shouldRefetchPassword(a)).toBe(true);
    expectWarningNamesMeta(a);
  });

  it('a bare 403 → a re-fetch is worth trying, but it is mapped as a generic forbidden (quiet)', () => {
    const a = { status: 403, reason: 'Forbidden', afterCredentials: true };
    expect(isDigestFailure(a)).toBe(false);
    expect(shouldRefetchPassword(a)).toBe(true);
    expect(mapMetaSipAnswer(a)).toEqual({
      status: 403, reason: 'WhatsApp Forbidden', cause: 'forbidden', warning: 'Meta refused the call (Meta SIP 403 "Forbidden")',
    });
  });

  it('a 403 without a phrase still says "Meta SIP 403"', () => {
    expect(mapMetaSipAnswer({ status: 403, reason: '' })).toEqual({
      status: 403, reason: 'WhatsApp Forbidden', cause: 'forbidden', warning: 'Meta refused the call (Meta SIP 403)',
    });
  });
});

describe('Meta\'s answers by status', () => {
  it.each([
    // status, reason, PBX status, PBX reason, cause, loud
    [400, 'Bad Request', 503, 'WhatsApp Number Not Found', 'asset_not_found', true],
    [404, 'Not Found', 404, 'Not Found', 'not_found', false],
    [408, 'Request Timeout', 408, 'Request Timeout', 'media_timeout', false],
    [480, 'Temporarily Unavailable', 480, 'Temporarily Unavailable', 'no_answer', false],
    // The user's decline: 603 as in API mode (failure-mapping.ts), never 486 "busy".
    [486, 'Busy Here', 603, 'Decline', 'rejected', false],
    [487, 'Request Terminated', 487, 'Request Terminated', 'cancelled', false],
    [488, 'Not Acceptable Here', 488, 'Not Acceptable Here', 'sdp_refused', true],
    [603, 'Decline', 603, 'Decline', 'rejected', false],
  ] as const)('%d %s → %d %s (%s, loud: %s)', (status, reason, pbxStatus, pbxReason, cause, loud) => {
    const a = { status, reason, afterCredentials: true };
    const f = mapMetaSipAnswer(a);
    expect(f).toMatchObject({ status: pbxStatus, reason: pbxReason, cause });
    expect(f.loud === true).toBe(loud);
    expect(f.retryAfter).toBeUndefined();
    expect(f.warning).toMatch(new RegExp(`\\(Meta SIP ${status} "${reason}"\\)$`));
    expect(isDigestFailure(a)).toBe(false);
    expect(shouldRefetchPassword(a)).toBe(false);
  });

  it('488 tells the admin to check meta_sip.srtp against srtp_key_exchange_protocol', () => {
    expect(mapMetaSipAnswer({ status: 488, reason: 'Not Acceptable Here' }).warning).toMatch(/meta_sip\.srtp.*srtp_key_exchange_protocol/);
  });

  it('503 → 503 with Retry-After, provider_5xx, quiet', () => {
    const a = { status: 503, reason: 'Service Unavailable' };
    expect(mapMetaSipAnswer(a)).toEqual({
      status: 503, reason: 'WhatsApp Unavailable', retryAfter: 5, cause: 'provider_5xx',
      warning: 'Meta\'s SIP edge is unavailable (Meta SIP 503 "Service Unavailable")',
    });
  });

  it.each([[500, 'Server Internal Error'], [502, 'Bad Gateway'], [504, 'Server Time-out'], [599, 'Whatever']])(
    'unknown %d → 503 with Retry-After, naming Meta\'s status and phrase', (status, reason) => {
      const a = { status, reason };
      expect(mapMetaSipAnswer(a)).toMatchObject({ status: 503, reason: 'WhatsApp Unavailable', retryAfter: 5, cause: 'provider_5xx' });
      expectWarningNamesMeta(a);
    },
  );

  it('an unknown 4xx keeps its status, names Meta\'s answer', () => {
    const a = { status: 415, reason: 'Unsupported Media Type' };
    expect(mapMetaSipAnswer(a)).toEqual({
      status: 415, reason: 'Unsupported Media Type', cause: 'failed', warning: 'Meta refused the call (Meta SIP 415 "Unsupported Media Type")',
    });
  });
});

describe('digest failures', () => {
  it('a final 407 after credentials → loud 503 sip_auth, and a re-fetch is worth trying', () => {
    const a = { status: 407, reason: 'Proxy Authentication Required', afterCredentials: true };
    expect(isDigestFailure(a)).toBe(true);
    expect(shouldRefetchPassword(a)).toBe(true);
    expect(mapMetaSipAnswer(a)).toEqual({
      status: 503, reason: 'WhatsApp SIP Auth Failed', cause: 'sip_auth', loud: true,
      warning: 'Meta refused watrunk\'s SIP digest credentials (Meta SIP 407 "Proxy Authentication Required")',
    });
  });

  it('a final 401 after credentials is the same', () => {
    const a = { status: 401, reason: 'Unauthorized', afterCredentials: true };
    expect(isDigestFailure(a)).toBe(true);
    expect(mapMetaSipAnswer(a)).toMatchObject({ status: 503, cause: 'sip_auth', loud: true });
    expectWarningNamesMeta(a);
  });

  it('a 407 before any credentials were sent is a challenge, not a digest failure', () => {
    const a = { status: 407, reason: 'Proxy Authentication Required', afterCredentials: false };
    expect(isDigestFailure(a)).toBe(false);
    expect(mapMetaSipAnswer(a).cause).not.toBe('sip_auth');
  });
});

describe('the table for the README', () => {
  it('lists every phrase row and every status row once, with the loud markings', () => {
    const rows = metaSipTableRows();
    expect(rows.map((r) => r.cause)).toEqual([
      'no_permission', 'daily_limit', 'sip_domain', 'sip_app', 'sip_auth',
      'asset_not_found', 'not_found', 'media_timeout', 'no_answer', 'rejected', 'cancelled', 'sdp_refused', 'provider_5xx', 'rejected',
    ]);
    expect(rows.find((r) => r.meta === '486')).toMatchObject({ status: 603, reason: 'Decline' });
    expect(rows.filter((r) => r.loud).map((r) => r.cause)).toEqual(['sip_domain', 'sip_app', 'sip_auth', 'asset_not_found', 'sdp_refused']);
    expect(rows[0]!.meta).toBe('403 "call permission…"');
  });
});
