import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseMetaWebhook } from '../../src/adapters/meta/webhook-parser.js';
import { routeInbound } from '../../src/calls/inbound-route.js';
import { validateConfig } from '../../src/config/load.js';
import type { CallOffered } from '../../src/calls/ports/whatsapp-events.js';

/**
 * Values from WhatsApp (BSUIDs, numbers, profile names, CTA and deep-link payloads) end up in the
 * INVITE to the PBX: Request-URI, From/Contact user, display name, X-WA-* headers. A CR or LF there
 * would end the header line and let the caller write headers of their own (RFC 3261 §7.3.1).
 */

const C0 = /[\x00-\x1f\x7f]/;
const EVIL = '\r\nX-Injected: 1\r\n\0\x07\x1b';

const number = validateConfig({
  numbers: [{
    name: 'sales', phone_number_id: '105615555715855', display_number: '15551112222', access_token_env: 'T',
    inbound: {
      target: 'sip:{to}@pbx.example.com',
      rules: [{ match: { cta_payload: 'vip' }, target: 'sip:{from}.{user_id}@vip.example.com' }],
    },
  }],
}).numbers[0]!;

function offer(user: CallOffered['user'], extra: Partial<CallOffered> = {}): CallOffered {
  return {
    kind: 'call.offered', direction: 'USER_INITIATED', phoneNumberId: '105615555715855', callId: 'wacid.1', timestamp: 1,
    businessNumber: '15551112222', sdpOffer: 'v=0\r\n', user, ...extra,
  };
}

function expectNoControlCharacters(route: NonNullable<ReturnType<typeof routeInbound>>): void {
  expect(route.uri).not.toMatch(C0);
  expect(route.uri).not.toMatch(/%0[0-9a-f]|%1[0-9a-f]|%7f/i);
  expect(route.callingNumber).not.toMatch(C0);
  expect(route.callingName ?? '').not.toMatch(C0);
  for (const [name, value] of Object.entries(route.headers)) expect([name, value]).not.toSatisfy(([, v]) => C0.test(String(v)));
}

describe('routeInbound: nothing from WhatsApp can break a SIP header or URI', () => {
  it('a BSUID with CR/LF/NUL: From/Contact user, Request-URI and X-WA-User-Id carry none of them', () => {
    const route = routeInbound(number, offer({ number: '', userId: `US.1349${EVIL}1208`, profileName: `Sam${EVIL}` }))!;
    expectNoControlCharacters(route);
    expect(route.callingNumber).toBe('US.1349X-Injected%3A%2011208');
    expect(route.headers['X-WA-User-Id']).toBe('US.1349X-Injected: 11208');
    expect(route.callingName).toBe('SamX-Injected: 1');
  });

  it('a number with CR/LF: the From user is the E.164 number without them', () => {
    const route = routeInbound(number, offer({ number: `4477009${EVIL}00123`, userId: 'GB.1' }))!;
    expectNoControlCharacters(route);
    expect(route.callingNumber).toBe('+4477009X-Injected%3A%20100123');
  });

  it('characters that would end the URI user part (@ > ; space) are escaped, not passed through', () => {
    const route = routeInbound(number, offer({ number: '', userId: 'US.1@evil.example>;tag=1 x' }))!;
    expect(route.callingNumber).not.toMatch(/[@> ]/);
    expect(decodeURIComponent(route.callingNumber)).toBe('US.1@evil.example>;tag=1 x');
  });

  it('payloads, username and country with control characters: rule matching still sees them, headers do not', () => {
    const route = routeInbound(number, offer(
      { number: '447700900123', userId: `GB.1${EVIL}`, username: `ann${EVIL}`, countryCode: `GB${EVIL}` },
      { ctaPayload: `ctx${EVIL}`, deeplinkPayload: `dl${EVIL}`, callId: `wacid.2${EVIL}` },
    ))!;
    expectNoControlCharacters(route);
    expect(route.headers).toMatchObject({
      'X-WA-CTA-Payload': 'ctxX-Injected: 1', 'X-WA-Deeplink-Payload': 'dlX-Injected: 1', 'X-WA-Username': 'annX-Injected: 1',
      'X-WA-User-Country': 'GBX-Injected: 1', 'X-WA-Call-Id': 'wacid.2X-Injected: 1',
    });
  });

  it('a rule target built from {from} and {user_id}: the Request-URI has no (escaped) control characters', () => {
    const route = routeInbound(number, offer({ number: '', userId: `US.9${EVIL}` }, { ctaPayload: 'vip' }))!;
    expectNoControlCharacters(route);
    expect(route.uri).toBe('sip:US.9X-Injected%3A%201.US.9X-Injected%3A%201@vip.example.com');
  });

  it('from a signed connect webhook whose from_user_id, name and cta_payload carry CR/LF', () => {
    const doc = JSON.parse(readFileSync(new URL('../fixtures/meta/webhooks/uic-connect-bsuid-only.json', import.meta.url), 'utf8')) as {
      entry: Array<{ changes: Array<{ value: { calls: Array<Record<string, unknown>>; contacts: Array<{ user_id: string; profile: { name: string } }> } }> }>;
    };
    const value = doc.entry[0]!.changes[0]!.value;
    value.calls[0]!['from_user_id'] = `US.1349${EVIL}`;
    value.calls[0]!['cta_payload'] = `ctx${EVIL}`;
    value.contacts[0]!.user_id = `US.1349${EVIL}`;
    value.contacts[0]!.profile.name = `Sam${EVIL}`;
    const event = parseMetaWebhook(doc).events.find((e): e is CallOffered => e.kind === 'call.offered');
    expect(event).toBeDefined();
    expectNoControlCharacters(routeInbound(number, event!)!);
  });
});

describe('routeInbound: odd Unicode', () => {
  it('a lone surrogate or an emoji in a BSUID does not throw and is escaped as UTF-8', () => {
    const route = routeInbound(number, offer({ number: '', userId: 'US.\uD800x😀' }, { ctaPayload: 'vip' }))!;
    expect(route.callingNumber).toBe('US.%EF%BF%BDx%F0%9F%98%80');
    expect(route.uri).toContain('US.%EF%BF%BDx%F0%9F%98%80');
  });
});
