import type { InboundConfig, NumberConfig } from '../config/schema.js';
import type { CallOffered } from './ports/whatsapp-events.js';
import type { SipHeaders } from './ports/sip.js';

/** Where a user-initiated call goes, and who the PBX is told is calling. */
export interface InboundRoute {
  uri: string;
  callingNumber: string;
  callingName?: string;
  headers: SipHeaders;
}

/**
 * C0 controls and DEL. Values from WhatsApp users and buttons must carry none into the INVITE: a CR
 * or LF ends the header line (RFC 3261 §7.3.1), a NUL ends the message for some parsers.
 */
const CONTROL_CHARACTERS = /[\x00-\x1f\x7f]+/g;

function withoutControls(v: string): string {
  return v.replace(CONTROL_CHARACTERS, '');
}

/** Header values come from WhatsApp users and buttons: no control characters, bounded length. */
function headerValue(v: string): string {
  return withoutControls(v).slice(0, 512);
}

/** Percent-escapes (UTF-8) every character `keep` does not match; never throws on lone surrogates. */
function percentEscape(v: string, keep: RegExp): string {
  let out = '';
  for (const ch of v) {
    out += keep.test(ch) ? ch : [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  return out;
}

/** RFC 3986 unreserved plus the marks encodeURIComponent keeps. */
const URI_COMPONENT = /^[A-Za-z0-9\-_.!~*'()]$/;
/** The same plus "+", for E.164 numbers in the From/Contact user (RFC 3261 §25.1 `user`). */
const URI_USER = /^[A-Za-z0-9\-_.!~*'()+]$/;

/**
 * The user part of the From/Contact URI: control characters dropped, everything else that could
 * end the user part ("@", ">", ";", spaces) percent-escaped.
 */
function uriUser(v: string): string {
  return percentEscape(withoutControls(v).slice(0, 128), URI_USER);
}

function pickTarget(inbound: InboundConfig, offer: CallOffered): string {
  const rule = inbound.rules.find((r) => {
    const m = r.match;
    if (m.cta_payload !== undefined && m.cta_payload !== offer.ctaPayload) return false;
    if (m.deeplink_payload !== undefined && m.deeplink_payload !== offer.deeplinkPayload) return false;
    if (m.caller_country_code !== undefined && !offer.user.number.startsWith(m.caller_country_code)) return false;
    return true;
  });
  return rule?.target ?? inbound.target;
}

function expand(template: string, values: Record<string, string>): string {
  return template.replace(/\{(to|from|user_id|number)\}/g, (_m, key: string) => percentEscape(withoutControls(values[key] ?? ''), URI_COMPONENT));
}

/**
 * Builds the INVITE toward the PBX for a WhatsApp user's call. The From user is the caller's
 * number in E.164 (or the BSUID when Meta hides the number behind a username, docs/whatsapp-calling.md#user-identities), the
 * display name is the WhatsApp profile name, and X-WA-* headers carry what PBX dialplans and CDRs
 * need. `X-WA-Call: true` marks the call, so the PBX can refuse to send it to the PSTN: Meta's
 * terms forbid PSTN on any leg of a WhatsApp call (docs/whatsapp-calling.md#limits).
 */
export function routeInbound(number: NumberConfig, offer: CallOffered): InboundRoute | undefined {
  const inbound = number.inbound;
  if (!inbound) return undefined;
  const caller = uriUser(offer.user.number ? `+${offer.user.number}` : offer.user.userId ?? 'anonymous') || 'anonymous';
  let uri = expand(pickTarget(inbound, offer), {
    to: number.display_number,
    from: offer.user.number || offer.user.userId || 'anonymous',
    user_id: offer.user.userId ?? '',
    number: number.name,
  });
  if (inbound.transport !== 'udp' && !/;transport=/i.test(uri)) uri += `;transport=${inbound.transport}`;
  const headers: SipHeaders = {
    'X-WA-Call': 'true',
    'X-WA-Call-Id': headerValue(offer.callId),
    'X-WA-Business-Number': number.display_number,
  };
  if (offer.user.userId) headers['X-WA-User-Id'] = headerValue(offer.user.userId);
  if (offer.user.username) headers['X-WA-Username'] = headerValue(offer.user.username);
  if (offer.user.countryCode) headers['X-WA-User-Country'] = headerValue(offer.user.countryCode);
  if (offer.ctaPayload) headers['X-WA-CTA-Payload'] = headerValue(offer.ctaPayload);
  if (offer.deeplinkPayload) headers['X-WA-Deeplink-Payload'] = headerValue(offer.deeplinkPayload);
  return {
    uri,
    callingNumber: caller,
    ...(offer.user.profileName ? { callingName: headerValue(offer.user.profileName) } : {}),
    headers,
  };
}
