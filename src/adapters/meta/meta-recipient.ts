/**
 * Users are addressed by phone number (digits) or by BSUID, a business-scoped user ID such as
 * "US.13491208655302741918" (docs/whatsapp-calling.md#user-identities). Phone numbers never contain a letter or a '.',
 * BSUIDs do, so that is the test.
 */
export function isBsuid(user: string): boolean {
  return /[A-Za-z.]/.test(user);
}

/** A phone number as Graph wants it: digits only ("+44 7700-900123" → "447700900123"). */
export function phoneDigits(user: string): string {
  return user.replace(/[^0-9]/g, '');
}

