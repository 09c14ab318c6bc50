/**
 * The pure shapes of Meta's SIP-mode messages (src/adapters/meta-sip/meta-sip-identity.ts):
 * Request-URI, To and From of watrunk's INVITE, parsing of SIP URIs, Meta's marks, the WhatsApp
 * call id and user of Meta's INVITE, and x-wa-meta-call-duration.
 */
import { describe, expect, it } from 'vitest';
import {
  callDurationOf, carriesMetaDomainHeader, e164Digits, fromForBusiness, requestUriForUser, toForUser,
  uriHost, uriUser, userFromHeaders, waCallIdOf, type HeaderGetter,
} from '../../src/adapters/meta-sip/meta-sip-identity.js';

/** A case-insensitive header getter over a plain object, as drachtio's req.get is. */
const headers = (h: Record<string, string>): HeaderGetter => {
  const lower = new Map(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
  return (name) => lower.get(name.toLowerCase());
};
const none: HeaderGetter = () => undefined;

describe('watrunk\'s INVITE toward Meta', () => {
  it('Request-URI: a phone number gets "+" and transport=tls', () => {
    expect(requestUriForUser('447700900123', 'wa.meta.vc')).toBe('sip:+447700900123@wa.meta.vc;transport=tls');
  });

  it('Request-URI: a BSUID is used as it is, without "+"', () => {
    expect(requestUriForUser('US.13491208655302741918', 'wa.meta.vc')).toBe('sip:US.13491208655302741918@wa.meta.vc;transport=tls');
  });

  it('To: the same user in angle brackets, without transport', () => {
    expect(toForUser('447700900123', 'wa.meta.vc')).toBe('<sip:+447700900123@wa.meta.vc>');
    expect(toForUser('US.13491208655302741918', 'wa.meta.vc')).toBe('<sip:US.13491208655302741918@wa.meta.vc>');
  });

  it('From: the business number with "+" in watrunk\'s own host name', () => {
    expect(fromForBusiness('15551112222', 'sip.example.com')).toBe('<sip:+15551112222@sip.example.com>');
  });
});

describe('SIP URI parts', () => {
  it.each([
    ['sip:+15551112222@wa.meta.vc', '+15551112222'],
    ['<sip:+15551112222@wa.meta.vc;transport=tls>', '+15551112222'],
    ['sips:+15551112222@wa.meta.vc:5061', '+15551112222'],
    // Meta appends request_uri_user_params to the user part: they are not the user.
    ['sip:+15551112222;tgrp=wacall;trunk-context=x@sip.example.com', '+15551112222'],
    ['sip:US.1349%2E1@wa.meta.vc', 'US.1349.1'],
    ['  SIP:alice@Example.COM  ', 'alice'],
  ])('uriUser(%s) = %s', (uri, user) => {
    expect(uriUser(uri)).toBe(user);
  });

  it('uriUser: undefined without a user part or for other schemes', () => {
    expect(uriUser('sip:wa.meta.vc;transport=tls')).toBeUndefined();
    expect(uriUser('tel:+15551112222')).toBeUndefined();
    expect(uriUser('')).toBeUndefined();
  });

  it.each([
    ['sip:+15551112222@WA.Meta.VC;transport=tls', 'wa.meta.vc'],
    ['<sip:+15551112222@wa.meta.vc:5061>', 'wa.meta.vc'],
    ['sip:wa.meta.vc:5061;transport=tls', 'wa.meta.vc'],
    ['sips:alice@sip.example.com?subject=x', 'sip.example.com'],
    ['sip:1001@192.0.2.7:5060', '192.0.2.7'],
  ])('uriHost(%s) = %s', (uri, host) => {
    expect(uriHost(uri)).toBe(host);
  });

  it('uriHost: undefined for something that is not a SIP URI', () => {
    expect(uriHost('tel:+15551112222')).toBeUndefined();
    expect(uriHost('"Alice" <mailto:a@b.c>')).toBeUndefined();
  });

  it('e164Digits: digits of a "+<digits>" or bare digits user, nothing else', () => {
    expect(e164Digits('+15551112222')).toBe('15551112222');
    expect(e164Digits('15551112222')).toBe('15551112222');
    expect(e164Digits('US.13491208655302741918')).toBeUndefined();
    expect(e164Digits('+1 555')).toBeUndefined();
    expect(e164Digits('+123')).toBeUndefined(); // too short for a phone number
    expect(e164Digits('+' + '1'.repeat(21))).toBeUndefined();
    expect(e164Digits(undefined)).toBeUndefined();
    expect(e164Digits('')).toBeUndefined();
  });
});

describe('Meta\'s marks', () => {
  it('X-FB-External-Domain must name the domain (any case, any header-name case, trimmed)', () => {
    expect(carriesMetaDomainHeader(headers({ 'X-FB-External-Domain': 'wa.meta.vc' }), 'wa.meta.vc')).toBe(true);
    expect(carriesMetaDomainHeader(headers({ 'x-fb-external-domain': ' WA.META.VC ' }), 'wa.meta.vc')).toBe(true);
    expect(carriesMetaDomainHeader(headers({ 'X-FB-External-Domain': 'evil.example.com' }), 'wa.meta.vc')).toBe(false);
    expect(carriesMetaDomainHeader(headers({ 'X-FB-External-Domain': 'wa.meta.vc.evil.example.com' }), 'wa.meta.vc')).toBe(false);
    expect(carriesMetaDomainHeader(none, 'wa.meta.vc')).toBe(false);
  });
});

describe('the WhatsApp call id of Meta\'s INVITE', () => {
  it('x-wa-meta-wacid wins over the Call-ID', () => {
    expect(waCallIdOf(headers({ 'x-wa-meta-wacid': ' wacid.HBgLMTIz ' }), 'outgoing:wacid.OTHER')).toBe('wacid.HBgLMTIz');
  });

  it('else the Call-ID without Meta\'s "outgoing:" prefix', () => {
    expect(waCallIdOf(none, 'outgoing:wacid.HBgLMTIz')).toBe('wacid.HBgLMTIz');
    expect(waCallIdOf(headers({ 'x-wa-meta-wacid': '  ' }), 'Outgoing:wacid.X')).toBe('wacid.X');
  });

  it('a Call-ID without the prefix is kept whole; the prefix is only dropped at the start', () => {
    expect(waCallIdOf(none, 'abc@10.0.0.1')).toBe('abc@10.0.0.1');
    expect(waCallIdOf(none, 'wacid.outgoing:1')).toBe('wacid.outgoing:1');
  });
});

describe('the user behind Meta\'s INVITE', () => {
  it('digits of the From user, and every x-wa-meta-user-* header', () => {
    const get = headers({
      'x-wa-meta-user-id': 'US.13491208655302741918', 'x-wa-meta-user-name': ' alice ', 'x-wa-meta-user-country-code': 'GB',
    });
    expect(userFromHeaders(get, '+447700900123')).toEqual({
      number: '447700900123', userId: 'US.13491208655302741918', username: 'alice', countryCode: 'GB',
    });
  });

  it('x-wa-meta-username is the other spelling of x-wa-meta-user-name', () => {
    expect(userFromHeaders(headers({ 'x-wa-meta-username': 'bob' }), '+447700900123')).toEqual({ number: '447700900123', username: 'bob' });
    expect(userFromHeaders(headers({ 'X-WA-Meta-Username': 'bob' }), '+447700900123').username).toBe('bob');
  });

  it('x-wa-meta-user-name wins when both spellings come', () => {
    expect(userFromHeaders(headers({ 'x-wa-meta-user-name': 'alice', 'x-wa-meta-username': 'bob' }), undefined).username).toBe('alice');
  });

  it('a BSUID From user (hidden number) becomes the userId, with an empty number', () => {
    expect(userFromHeaders(none, 'US.13491208655302741918')).toEqual({ number: '', userId: 'US.13491208655302741918' });
    // The header names the user id when both are there.
    expect(userFromHeaders(headers({ 'x-wa-meta-user-id': 'US.1' }), 'US.2')).toEqual({ number: '', userId: 'US.1' });
  });

  it('no From user and no headers: an empty user, no undefined keys', () => {
    const u = userFromHeaders(none, undefined);
    expect(u).toEqual({ number: '' });
    expect(Object.keys(u)).toEqual(['number']);
  });

  it('blank headers are left out', () => {
    expect(userFromHeaders(headers({ 'x-wa-meta-user-id': '  ', 'x-wa-meta-user-country-code': ' ' }), '+447700900123')).toEqual({ number: '447700900123' });
  });
});

describe('x-wa-meta-call-duration on Meta\'s BYE', () => {
  it.each([
    ['42', 42],
    ['0', 0],
    [' 17 ', 17],
  ])('%j → %d seconds', (v, s) => {
    expect(callDurationOf(headers({ 'x-wa-meta-call-duration': v }))).toBe(s);
  });

  it.each([['abc'], ['-3'], ['']])('%j → undefined', (v) => {
    expect(callDurationOf(headers({ 'x-wa-meta-call-duration': v }))).toBeUndefined();
  });

  it('absent → undefined', () => {
    expect(callDurationOf(none)).toBeUndefined();
  });
});
