import type { WhatsAppUser } from '../../calls/ports/whatsapp-events.js';

/**
 * The shapes of Meta's SIP-mode messages, both ways (docs/sip-mode.md#messages; Meta's page:
 * https://developers.facebook.com/docs/whatsapp/cloud-api/calling/sip). Header names are matched
 * case-insensitively; everything here is pure.
 */

/** A user handle that is not phone digits is a business-scoped user id (BSUID), e.g. "US.1349…". */
const isBsuid = (to: string) => !/^[0-9]+$/.test(to);

/** Request-URI of a business-initiated INVITE: sip:+<digits>@wa.meta.vc;transport=tls, or <BSUID>@… */
export function requestUriForUser(to: string, domain: string): string {
  const user = isBsuid(to) ? to : `+${to}`;
  return `sip:${user}@${domain};transport=tls`;
}

/** To of that INVITE: the same user, without transport. */
export function toForUser(to: string, domain: string): string {
  return `<sip:${isBsuid(to) ? to : `+${to}`}@${domain}>`;
}

/**
 * From of that INVITE: the business number, E.164 with '+', in watrunk's own SIP domain. Meta
 * matches this host against the number's configured SIP server (docs/sip-mode.md#from-domain) and
 * the digest username against this user (without '+').
 */
export function fromForBusiness(displayNumber: string, hostname: string): string {
  return `<sip:+${displayNumber}@${hostname}>`;
}

/** The user part of a SIP URI (before '@'), without its ;parameters. */
export function uriUser(uri: string): string | undefined {
  const m = /^<?sips?:([^@;>]+)(?:;[^@>]*)?@/i.exec(uri.trim());
  return m?.[1] !== undefined ? decodeURIComponent(m[1]) : undefined;
}

/** The host of a SIP URI, lower-cased. */
export function uriHost(uri: string): string | undefined {
  const m = /^<?sips?:(?:[^@>]*@)?\[?([^\]:;>?]+)/i.exec(uri.trim());
  return m?.[1]?.toLowerCase();
}

/** Digits of a "+<digits>" user part (Meta's INVITE Request-URI names the business number so). */
export function e164Digits(user: string | undefined): string | undefined {
  const m = /^\+?([0-9]{4,20})$/.exec(user ?? '');
  return m?.[1];
}

export type HeaderGetter = (name: string) => string | undefined;

/** Meta marks all its SIP traffic with X-FB-External-Domain: wa.meta.vc (docs/sip-mode.md#identifying-meta). */
export function carriesMetaDomainHeader(get: HeaderGetter, domain: string): boolean {
  return (get('X-FB-External-Domain') ?? '').trim().toLowerCase() === domain.toLowerCase();
}

/**
 * The WhatsApp call id of Meta's INVITE: x-wa-meta-wacid when present, else the Call-ID, which Meta
 * sends as "outgoing:wacid.…" (the prefix is dropped so the id matches Meta's webhooks and support).
 */
export function waCallIdOf(get: HeaderGetter, sipCallId: string): string {
  const header = get('x-wa-meta-wacid')?.trim();
  if (header) return header;
  return sipCallId.replace(/^outgoing:/i, '');
}

/**
 * The user behind Meta's INVITE or 200 OK: digits of the From user (a BSUID there when Meta hides
 * the number), plus x-wa-meta-user-id / -user-name (also spelled -username) / -user-country-code.
 */
export function userFromHeaders(get: HeaderGetter, userPart: string | undefined): WhatsAppUser {
  const digits = e164Digits(userPart);
  const userId = get('x-wa-meta-user-id')?.trim() || (userPart && !digits ? userPart : undefined);
  const username = (get('x-wa-meta-user-name') ?? get('x-wa-meta-username'))?.trim();
  const countryCode = get('x-wa-meta-user-country-code')?.trim();
  return {
    number: digits ?? '',
    ...(userId && { userId }),
    ...(username && { username }),
    ...(countryCode && { countryCode }),
  };
}

/** x-wa-meta-call-duration on Meta's BYE: seconds, or undefined when absent or not a number. */
export function callDurationOf(get: HeaderGetter): number | undefined {
  const v = Number.parseInt(get('x-wa-meta-call-duration') ?? '', 10);
  return Number.isFinite(v) && v >= 0 ? v : undefined;
}
