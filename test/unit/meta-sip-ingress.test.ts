/**
 * Meta's INVITEs for numbers in SIP mode (src/adapters/meta-sip/meta-sip-ingress.ts): which
 * requests it claims, and the checks of handleInvite in order — Meta's marks, the business number,
 * TLS, allowed_sources, digest (drachtio-mw-digest-auth, RFC 2617 qop=auth) — before the offer.
 */
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { MetaSipCalls } from '../../src/adapters/meta-sip/meta-sip-calls.js';
import { MetaSipIngress, type MetaSipEdgeNumber } from '../../src/adapters/meta-sip/meta-sip-ingress.js';
import { MetaSipPassword } from '../../src/adapters/meta-sip/meta-sip-password.js';
import type { SrfLike, SrfRequest, SrfResponse } from '../../src/adapters/drachtio/srf-types.js';
import type { CallOffered } from '../../src/calls/ports/whatsapp-events.js';
import { metaSipSchema, resolveMetaSip, type MetaSipConfig } from '../../src/config/meta-sip-schema.js';

const HOST = 'sip.example.com';
const DISPLAY = '15551112222';
const OTHER_DISPLAY = '15553334444';
const PASSWORD = 'meta-generated-pw';
const USER = '447700900123';
const SDP = 'v=0\r\no=- 1 1 IN IP4 157.240.0.10\r\ns=-\r\n';
const RURI = `sip:+${DISPLAY}@${HOST}:5061;transport=tls`;

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const silent = pino({ level: 'silent' });

function edgeNumber(o: { name?: string; display?: string; password?: string; meta_sip?: Partial<MetaSipConfig> } = {}): MetaSipEdgeNumber {
  const sip = resolveMetaSip({ meta_sip: metaSipSchema.parse({ hostname: HOST, ...o.meta_sip }) })!;
  const display = o.display ?? DISPLAY;
  const name = o.name ?? 'sales';
  const password = new MetaSipPassword(o.password === undefined
    ? { fixed: PASSWORD, hostname: HOST, ttlMs: 60_000, log: silent }
    : o.password === ''
      ? { hostname: HOST, ttlMs: 60_000, log: silent } // no password source at all
      : { fixed: o.password, hostname: HOST, ttlMs: 60_000, log: silent });
  const calls = new MetaSipCalls({
    srf: {} as SrfLike, connected: () => true, number: { name, displayNumber: display, eventKey: `pnid-${name}` },
    sip, password, emit: () => undefined, logger: silent,
  });
  return { name, displayNumber: display, sip, calls, password };
}

interface Sent { status: number; reason?: string; headers?: Record<string, string> }

function fakeInvite(o: {
  uri?: string; headers?: Record<string, string>; fromUri?: string; callId?: string; source?: string; protocol?: string;
} = {}) {
  const headers: Record<string, string> = { 'X-FB-External-Domain': 'wa.meta.vc', ...o.headers };
  const lower = () => new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const req = {
    method: 'INVITE', uri: o.uri ?? RURI, body: SDP, callId: o.callId ?? 'outgoing:wacid.HBgLNDQ3', source_address: o.source ?? '157.240.0.10',
    source_port: 5061, protocol: o.protocol ?? 'tls',
    get: (n: string) => lower().get(n.toLowerCase()),
    has: (n: string) => lower().has(n.toLowerCase()),
    getParsedHeader: (n: 'from' | 'to') => (n === 'from' ? { uri: o.fromUri ?? `sip:+${USER}@wa.meta.vc` } : { uri: `sip:+${DISPLAY}@${HOST}` }),
    on: () => undefined,
  } satisfies SrfRequest;
  const sent: Sent[] = [];
  const res: SrfResponse = {
    finalResponseSent: false,
    send(status, reason, opts) {
      const r = typeof reason === 'string' ? reason : undefined;
      const h = (typeof reason === 'object' ? reason : typeof opts === 'object' ? opts : undefined)?.headers;
      sent.push({ status, ...(r !== undefined && { reason: r }), ...(h && { headers: h }) });
      this.finalResponseSent = status >= 200;
    },
  };
  return { req, res, sent, headers };
}

function ingressOf(numbers: MetaSipEdgeNumber[]) {
  const offers: CallOffered[] = [];
  const refused: string[] = [];
  const ingress = new MetaSipIngress(numbers, { logger: silent, offer: (e) => { offers.push(e); }, onRefused: (why) => { refused.push(why); } });
  return { ingress, offers, refused };
}

/** An RFC 2617 qop=auth answer to a challenge, as Meta's edge (or any UAC) computes it. */
function authorization(o: { username?: string; realm: string; password?: string; uri?: string; nonce?: string; method?: string }): string {
  const username = o.username ?? DISPLAY;
  const uri = o.uri ?? RURI;
  const nonce = o.nonce ?? 'dcd98b7102dd2f0e8b11d0f600bfb0c093';
  const cnonce = '0a4f113b';
  const nc = '00000001';
  const ha1 = md5(`${username}:${o.realm}:${o.password ?? PASSWORD}`);
  const ha2 = md5(`${o.method ?? 'INVITE'}:${uri}`);
  const response = md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `Digest username="${username}", realm="${o.realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=${nc}, cnonce="${cnonce}"`;
}

/** The nonce of the 401 watrunk answers a credential-less INVITE with (responses count only for nonces it issued). */
async function challengeNonce(ingress: MetaSipIngress, uri?: string): Promise<string> {
  const x = fakeInvite(uri ? { uri } : {});
  await ingress.handleInvite(x.req, x.res);
  const m = /nonce="([^"]+)"/.exec(x.sent[0]?.headers?.['WWW-Authenticate'] ?? '');
  if (!m) throw new Error(`no challenge: ${JSON.stringify(x.sent)}`);
  return m[1]!;
}

const warningOf = (s: Sent | undefined) => s?.headers?.['Warning'] ?? '';

describe('claims(): what is Meta\'s to answer', () => {
  const { ingress } = ingressOf([edgeNumber()]);

  it('an INVITE with X-FB-External-Domain: wa.meta.vc', () => {
    expect(ingress.claims(fakeInvite({ fromUri: 'sip:+447700900123@pbx.example.com' }).req)).toBe(true);
  });

  it('an INVITE whose From host is wa.meta.vc, even without the header', () => {
    const { req, headers } = fakeInvite();
    delete headers['X-FB-External-Domain'];
    expect(ingress.claims(req)).toBe(true);
  });

  it('not a PBX\'s INVITE', () => {
    const { req, headers } = fakeInvite({ fromUri: 'sip:1001@pbx.example.com', uri: 'sip:+447700900123@watrunk.example.com' });
    delete headers['X-FB-External-Domain'];
    expect(ingress.claims(req)).toBe(false);
  });

  it('an ingress without numbers is empty and claims nothing', () => {
    const none = ingressOf([]).ingress;
    expect(none.empty).toBe(true);
    expect(ingress.empty).toBe(false);
    const { req, headers } = fakeInvite({ fromUri: 'sip:1001@pbx.example.com' });
    delete headers['X-FB-External-Domain'];
    expect(none.claims(req)).toBe(false);
  });
});

describe('handleInvite(): the checks, in order', () => {
  it('without both of Meta\'s marks → 403 with a Warning naming them', async () => {
    const { ingress, offers, refused } = ingressOf([edgeNumber()]);
    const headerOnly = fakeInvite({ fromUri: 'sip:+447700900123@pbx.example.com' });
    await ingress.handleInvite(headerOnly.req, headerOnly.res);
    expect(headerOnly.sent).toHaveLength(1);
    expect(headerOnly.sent[0]).toMatchObject({ status: 403, reason: 'Forbidden' });
    expect(warningOf(headerOnly.sent[0])).toMatch(/^399 watrunk ".*X-FB-External-Domain: wa\.meta\.vc.*From host of wa\.meta\.vc"$/);

    const fromOnly = fakeInvite();
    delete fromOnly.headers['X-FB-External-Domain'];
    await ingress.handleInvite(fromOnly.req, fromOnly.res);
    expect(fromOnly.sent[0]).toMatchObject({ status: 403 });
    expect(warningOf(fromOnly.sent[0])).toContain('X-FB-External-Domain');
    expect(offers).toEqual([]);
    expect(refused).toHaveLength(2);
  });

  it('an unknown business number → 404', async () => {
    const { ingress, offers } = ingressOf([edgeNumber()]);
    const x = fakeInvite({ uri: `sip:+19998887777@${HOST};transport=tls` });
    await ingress.handleInvite(x.req, x.res);
    expect(x.sent).toHaveLength(1);
    expect(x.sent[0]).toMatchObject({ status: 404, reason: 'Not Found' });
    expect(warningOf(x.sent[0])).toContain('+19998887777');
    expect(offers).toEqual([]);
  });

  it('require_tls (the default): an INVITE over udp → 403 naming meta_sip.require_tls', async () => {
    const { ingress, offers } = ingressOf([edgeNumber()]);
    const x = fakeInvite({ protocol: 'udp' });
    await ingress.handleInvite(x.req, x.res);
    expect(x.sent[0]).toMatchObject({ status: 403 });
    expect(warningOf(x.sent[0])).toContain('meta_sip.require_tls');
    expect(offers).toEqual([]);
  });

  it('require_tls: false lets udp through to the digest challenge', async () => {
    const { ingress } = ingressOf([edgeNumber({ meta_sip: { require_tls: false } })]);
    const x = fakeInvite({ protocol: 'udp' });
    await ingress.handleInvite(x.req, x.res);
    expect(x.sent[0]?.status).toBe(401);
  });

  it('allowed_sources (IPv4 CIDR and single address): outside → 403, inside → on to the challenge', async () => {
    const { ingress, offers } = ingressOf([edgeNumber({ meta_sip: { allowed_sources: ['157.240.0.0/16', '31.13.64.7'] } })]);
    const outside = fakeInvite({ source: '203.0.113.5' });
    await ingress.handleInvite(outside.req, outside.res);
    expect(outside.sent[0]).toMatchObject({ status: 403 });
    expect(warningOf(outside.sent[0])).toContain('source 203.0.113.5 is not in meta_sip.allowed_sources');

    for (const source of ['157.240.12.34', '31.13.64.7']) {
      const inside = fakeInvite({ source });
      await ingress.handleInvite(inside.req, inside.res);
      expect(inside.sent[0]?.status).toBe(401);
    }
    const neighbour = fakeInvite({ source: '31.13.64.8' });
    await ingress.handleInvite(neighbour.req, neighbour.res);
    expect(neighbour.sent[0]?.status).toBe(403);
    expect(offers).toEqual([]);
  });

  it('allowed_sources with an IPv6 block', async () => {
    const { ingress } = ingressOf([edgeNumber({ meta_sip: { allowed_sources: ['2a03:2880::/32'] } })]);
    const inside = fakeInvite({ source: '2a03:2880:f12f:83:face:b00c:0:25de' });
    await ingress.handleInvite(inside.req, inside.res);
    expect(inside.sent[0]?.status).toBe(401);
    const outside = fakeInvite({ source: '2001:db8::1' });
    await ingress.handleInvite(outside.req, outside.res);
    expect(outside.sent[0]?.status).toBe(403);
    const v4 = fakeInvite({ source: '157.240.0.10' });
    await ingress.handleInvite(v4.req, v4.res);
    expect(v4.sent[0]?.status).toBe(403);
  });

  it('no credentials → 401 with WWW-Authenticate Digest in realm meta_sip.realm (default: hostname)', async () => {
    for (const [meta_sip, realm] of [[{}, HOST], [{ realm: 'watrunk-edge' }, 'watrunk-edge']] as const) {
      const { ingress, offers } = ingressOf([edgeNumber({ meta_sip })]);
      const x = fakeInvite();
      await ingress.handleInvite(x.req, x.res);
      expect(x.sent).toHaveLength(1);
      expect(x.sent[0]!.status).toBe(401);
      const challenge = x.sent[0]!.headers?.['WWW-Authenticate'] ?? '';
      expect(challenge).toMatch(/^Digest /);
      expect(challenge).toContain(`realm="${realm}"`);
      expect(challenge).toContain('qop="auth"');
      expect(challenge).toMatch(/nonce="[^"]+"/);
      expect(offers).toEqual([]);
    }
  });

  it('correct digest → call.offered, call id from x-wa-meta-wacid; nothing answered yet', async () => {
    const { ingress, offers, refused } = ingressOf([edgeNumber()]);
    const x = fakeInvite({
      headers: { Authorization: authorization({ nonce: await challengeNonce(ingress), realm: HOST }), 'x-wa-meta-wacid': 'wacid.FROMHEADER', 'x-wa-meta-cta-payload': 'promo' },
      callId: 'outgoing:wacid.FROMCALLID',
    });
    await ingress.handleInvite(x.req, x.res);
    expect(x.sent).toEqual([]);
    expect(refused).toEqual([]);
    expect(offers).toHaveLength(1);
    expect(offers[0]).toMatchObject({
      kind: 'call.offered', direction: 'USER_INITIATED', callId: 'wacid.FROMHEADER', phoneNumberId: 'pnid-sales',
      businessNumber: DISPLAY, user: { number: USER }, sdpOffer: SDP, ctaPayload: 'promo',
    });
  });

  it('correct digest without x-wa-meta-wacid → the Call-ID without "outgoing:"', async () => {
    const { ingress, offers } = ingressOf([edgeNumber()]);
    const x = fakeInvite({ headers: { Authorization: authorization({ nonce: await challengeNonce(ingress), realm: HOST }) }, callId: 'outgoing:wacid.HBgLNDQ3' });
    await ingress.handleInvite(x.req, x.res);
    expect(offers.map((o) => o.callId)).toEqual(['wacid.HBgLNDQ3']);
  });

  it('Meta\'s Request-URI with request_uri_user_params still names the number', async () => {
    const { ingress, offers } = ingressOf([edgeNumber()]);
    const uri = `sip:+${DISPLAY};tgrp=wacall;trunk-context=wa@${HOST};transport=tls`;
    const x = fakeInvite({ uri, headers: { Authorization: authorization({ nonce: await challengeNonce(ingress, uri), realm: HOST, uri }) } });
    await ingress.handleInvite(x.req, x.res);
    expect(x.sent).toEqual([]);
    expect(offers).toHaveLength(1);
  });

  it('the offer goes to the number the Request-URI names, with that number\'s password', async () => {
    const other = edgeNumber({ name: 'support', display: OTHER_DISPLAY, password: 'other-pw' });
    const { ingress, offers } = ingressOf([edgeNumber(), other]);
    const uri = `sip:+${OTHER_DISPLAY}@${HOST};transport=tls`;
    const x = fakeInvite({ uri, headers: { Authorization: authorization({ nonce: await challengeNonce(ingress, uri), realm: HOST, uri, username: OTHER_DISPLAY, password: 'other-pw' }) } });
    await ingress.handleInvite(x.req, x.res);
    expect(offers).toHaveLength(1);
    expect(offers[0]).toMatchObject({ phoneNumberId: 'pnid-support', businessNumber: OTHER_DISPLAY });
    expect(other.calls.openCalls).toBe(1);
  });

  it('wrong password → 403, no offer', async () => {
    const { ingress, offers } = ingressOf([edgeNumber()]);
    const x = fakeInvite({ headers: { Authorization: authorization({ nonce: await challengeNonce(ingress), realm: HOST, password: 'not-it' }) } });
    await ingress.handleInvite(x.req, x.res);
    expect(x.sent).toHaveLength(1);
    expect(x.sent[0]!.status).toBe(403);
    expect(offers).toEqual([]);
  });

  it('wrong password → the Meta SIP password is re-fetched (for the next call); a challenge or success does not', async () => {
    const n = edgeNumber();
    const refresh = vi.spyOn(n.password, 'refresh');
    const { ingress } = ingressOf([n]);
    const challenged = fakeInvite();
    await ingress.handleInvite(challenged.req, challenged.res);
    const ok = fakeInvite({ headers: { Authorization: authorization({ nonce: await challengeNonce(ingress), realm: HOST }) } });
    await ingress.handleInvite(ok.req, ok.res);
    expect(refresh).not.toHaveBeenCalled();
    const wrong = fakeInvite({ headers: { Authorization: authorization({ nonce: await challengeNonce(ingress), realm: HOST, password: 'not-it' }) } });
    await ingress.handleInvite(wrong.req, wrong.res);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('a digest username other than the number\'s digits → 403, no offer', async () => {
    const { ingress, offers } = ingressOf([edgeNumber()]);
    const x = fakeInvite({ headers: { Authorization: authorization({ nonce: await challengeNonce(ingress), realm: HOST, username: OTHER_DISPLAY }) } });
    await ingress.handleInvite(x.req, x.res);
    expect(x.sent[0]?.status).toBe(403);
    expect(offers).toEqual([]);
  });

  it('a response to a nonce watrunk never issued (a replayed header) is challenged again, never accepted', async () => {
    const { ingress, offers } = ingressOf([edgeNumber()]);
    const x = fakeInvite({ headers: { Authorization: authorization({ nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', realm: HOST }) } });
    await ingress.handleInvite(x.req, x.res);
    expect(x.sent[0]?.status).toBe(401);
    expect(x.sent[0]?.headers?.['WWW-Authenticate']).toMatch(/^Digest realm=/);
    expect(offers).toEqual([]);
  });

  it('a response computed in another realm → 403, even with the right password', async () => {
    const { ingress, offers } = ingressOf([edgeNumber()]);
    const x = fakeInvite({ headers: { Authorization: authorization({ nonce: await challengeNonce(ingress), realm: 'wa.meta.vc' }) } });
    await ingress.handleInvite(x.req, x.res);
    expect(x.sent[0]?.status).toBe(403);
    expect(offers).toEqual([]);
  });

  it('no SIP password to check against → 403, no offer', async () => {
    const { ingress, offers } = ingressOf([edgeNumber({ password: '' })]);
    const x = fakeInvite({ headers: { Authorization: authorization({ nonce: await challengeNonce(ingress), realm: HOST }) } });
    await ingress.handleInvite(x.req, x.res);
    expect(x.sent[0]?.status).toBe(403);
    expect(offers).toEqual([]);
  });
});

describe('handleOptions()', () => {
  it('answers Meta\'s keep-alive 200 with Allow', () => {
    const { ingress } = ingressOf([edgeNumber()]);
    const x = fakeInvite();
    const send = vi.spyOn(x.res, 'send');
    ingress.handleOptions(x.req, x.res);
    expect(send).toHaveBeenCalledWith(200, { headers: { Allow: 'INVITE, ACK, BYE, CANCEL, OPTIONS' } });
  });
});
