/**
 * Meta's SIP mode with a real record-routing proxy in the path (docs/sip-mode.md#record-route):
 * Meta's INVITEs reach the business through Meta's proxies, which Record-Route; the business's
 * 200 OK must carry that Record-Route unchanged and in order (RFC 3261 §12.1.1,
 * https://www.rfc-editor.org/rfc/rfc3261#section-12.1.1), or Meta's ACK never arrives. The
 * simulator's SIP edge cannot add a Record-Route to its own INVITE (drachtio-server, a UA, drops
 * one an application adds to a new request), so two Kamailios play Meta's two proxies, over TLS
 * on every hop, each adding one Record-Route entry (`;transport=tls;lr`):
 *
 *   simulated Meta SIP edge --TLS--> Kamailio "far" --TLS--> Kamailio "near" --TLS--> watrunk's drachtio-server
 *
 * and, the other way, watrunk's `meta_sip.edge_uri` is a third Kamailio in front of the edge. The
 * PBX is a real SIP phone (baresip); media is SDES-SRTP toward the edge (one flavour is enough
 * here: the SDP does not touch routing). Checked from the SIP messages themselves: watrunk's
 * drachtio-server log holds every message it sent and received, Kamailio logs every request.
 * Skips loudly without drachtio-server, baresip, rtpengine, libwebrtc, openssl or Kamailio's TLS module.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeIfDrachtio } from '../support/drachtio-server.js';
import { kamailioTlsSkipReason, startKamailio, type KamailioInstance } from '../support/kamailio.js';
import { waitFor } from '../support/media/wait.js';
import { tail } from '../support/phones/process.js';
import { sipModeSkipReason, startSipModeStack, type SipModeStack } from '../support/sip-mode-stack.js';

const skip = (await sipModeSkipReason()) ?? kamailioTlsSkipReason();
if (skip) console.warn(`\n${'!'.repeat(78)}\n!!  SKIPPING SIP-mode Record-Route e2e tests: ${skip}\n${'!'.repeat(78)}\n`);

/** One SIP message as drachtio-server logged it: `recv|send N bytes from|to tls/[ip]:port …` + the message. */
interface LoggedSip {
  dir: 'recv' | 'send';
  transport: string;
  startLine: string;
  headers: [name: string, value: string][];
}

/**
 * The SIP messages in a drachtio-server log, in order. drachtio logs each as a line
 * `… recv|send <n> bytes from|to <transport>/[<ip>]:<port> at …` followed by the message text; the
 * message ends at its blank line (bodies are not needed here).
 */
function sipMessages(log: string): LoggedSip[] {
  const out: LoggedSip[] = [];
  const lines = log.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const m = /\b(recv|send) \d+ bytes (?:from|to) ([a-z]+)\//.exec(lines[i]!);
    if (!m) continue;
    const start = lines[i + 1]?.trim() ?? '';
    if (!/^(SIP\/2\.0 \d{3}|[A-Z]+ \S+ SIP\/2\.0)/.test(start)) continue;
    const headers: [string, string][] = [];
    let j = i + 2;
    for (; j < lines.length && lines[j]!.trim() !== ''; j++) {
      const line = lines[j]!;
      if (/^[ \t]/.test(line) && headers.length) { headers[headers.length - 1]![1] += ` ${line.trim()}`; continue; }
      const colon = line.indexOf(':');
      if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    }
    out.push({ dir: m[1] as 'recv' | 'send', transport: m[2]!, startLine: start, headers });
    i = j;
  }
  return out;
}

const header = (msg: LoggedSip, name: string): string | undefined =>
  msg.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];

/** Every Record-Route entry of a message, in order (header lines and comma-separated values alike). */
function recordRoutes(msg: LoggedSip): string[] {
  return msg.headers
    .filter(([n]) => n.toLowerCase() === 'record-route')
    .flatMap(([, v]) => splitNameAddrs(v));
}

/** Splits a comma-separated list of name-addrs, keeping commas inside <…> and quotes. */
function splitNameAddrs(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let angle = 0;
  let quoted = false;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '<') angle++;
    else if (!quoted && ch === '>') angle--;
    if (ch === ',' && angle === 0 && !quoted) { out.push(cur.trim()); cur = ''; continue; }
    cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

const cseqOf = (msg: LoggedSip): string => header(msg, 'CSeq') ?? '';
const isFinalToInvite = (msg: LoggedSip, status: number): boolean => msg.startLine.startsWith(`SIP/2.0 ${status} `) && / INVITE$/.test(cseqOf(msg));
const requestUri = (msg: LoggedSip): string => msg.startLine.split(' ')[1] ?? '';
/** The URI inside a Contact header value. */
const contactUri = (msg: LoggedSip): string => /<([^>]+)>/.exec(header(msg, 'Contact') ?? '')?.[1] ?? '';
/** A Record-Route entry Kamailio on `port` adds over TLS: its address, transport=tls, loose routing, the From tag. */
const kamailioRr = (port: number): RegExp => new RegExp(`^<sip:127\\.0\\.0\\.1:${port};transport=tls;lr;ftag=[^;>]+>$`);
const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describeIfDrachtio(describe, 'e2e Meta SIP mode through record-routing TLS proxies (Kamailio)', () => {
  describe.skipIf(skip !== undefined)(`Kamailio over TLS, SDES media${skip ? ` (skipped: ${skip})` : ''}`, () => {
    /** Meta's proxies toward watrunk: the edge sends to `far`, `far` to `near`, `near` to watrunk. */
    let far: KamailioInstance;
    let near: KamailioInstance;
    /** Meta's proxy in front of the edge: watrunk's INVITEs (meta_sip.edge_uri) go through it. */
    let toEdge: KamailioInstance;
    let s: SipModeStack;

    beforeAll(async () => {
      s = await startSipModeStack({
        srtp: 'sdes',
        users: [{ match: '4477009*', behaviour: 'answer', answer_after_ms: 200, permission: 'temporary' }],
        route: async ({ ca, watrunkSip, edgeSip }) => {
          const proxyCert = await ca.issueServerCert({ dnsNames: ['proxy.wa.meta.vc', 'localhost'], ipAddresses: ['127.0.0.1'], name: 'proxy' });
          const proxyTls = { certFile: proxyCert.fullChainFile, keyFile: proxyCert.keyFile, caFile: proxyCert.caBundleFile };
          near = await startKamailio({ tls: proxyTls, forwardTo: { host: '127.0.0.1', port: watrunkSip.tlsPort, transport: 'tls' } });
          far = await startKamailio({ tls: proxyTls, forwardTo: { host: '127.0.0.1', port: near.tlsPort!, transport: 'tls' } });
          toEdge = await startKamailio({ tls: proxyTls, forwardTo: { host: '127.0.0.1', port: edgeSip.tlsPort, transport: 'tls' } });
          return {
            edgeUri: toEdge.tlsUri!,
            bridgeUri: far.tlsUri!,
            logs: () => [
              `--- Kamailio far ---\n${tail(far.logs(), 3_000)}`,
              `--- Kamailio near ---\n${tail(near.logs(), 3_000)}`,
              `--- Kamailio toward the edge ---\n${tail(toEdge.logs(), 3_000)}`,
            ],
            stop: async () => { for (const k of [far, near, toEdge]) await k?.stop(); },
          };
        },
      });
    });
    afterEach(async () => { await s?.stopPhone(); });
    afterAll(async () => { await s?.stop(); });

    /** Kamailio's `rx METHOD R-URI from …` lines logged after `mark` (a logs() length). */
    const proxyRx = (proxy: KamailioInstance, mark: number, method: string, ruri?: string): string[] =>
      proxy.logs().slice(mark).split('\n').filter((l) => new RegExp(`rx ${method} ${ruri ? `${escapeRe(ruri)} ` : ''}`).test(l));

    /** watrunk's SIP messages of one dialog, from its drachtio-server log. */
    const watrunkMessages = (sipCallId: string): LoggedSip[] => sipMessages(s.watrunkSip.logs()).filter((m) => header(m, 'Call-ID') === sipCallId);

    it('a WhatsApp user calls baresip through Meta\'s proxies: watrunk\'s 200 OK keeps their Record-Route in order, the ACK and the BYE go through them', async () => {
      const p = await s.startPhone(s.ringPort);
      const before = s.peers.length;
      const marks = { far: far.logs().length, near: near.logs().length };
      const { callId } = await s.stack.sim.startUserCall({ from: '447700900150' });
      const sipCallId = `outgoing:${callId}`;
      await p.waitForEvent('CALL_ESTABLISHED', 15_000);
      await waitFor('accepted', () => s.stack.sim.getCall(callId)?.acceptedAt, { timeoutMs: 10_000 });

      // The INVITE watrunk accepted (the one after its 401 challenge) and its 200 OK to it.
      const ok = await waitFor('watrunk sent its 200 OK to Meta\'s INVITE', () =>
        watrunkMessages(sipCallId).find((m) => m.dir === 'send' && isFinalToInvite(m, 200)), { timeoutMs: 5_000, intervalMs: 50 });
      const invite = watrunkMessages(sipCallId).find((m) => m.dir === 'recv' && m.startLine.startsWith('INVITE ') && cseqOf(m) === cseqOf(ok));
      expect(invite, 'the INVITE watrunk answered 200').toBeDefined();
      const rrIn = recordRoutes(invite!);
      const rrOut = recordRoutes(ok);
      console.info(`[sip-mode-record-route] Record-Route of Meta's INVITE as watrunk received it: ${JSON.stringify(rrIn)}`);
      console.info(`[sip-mode-record-route] Record-Route of watrunk's 200 OK: ${JSON.stringify(rrOut)}`);
      // One entry per proxy (both legs of each are TLS on one socket: no double Record-Route), the nearest first.
      expect(rrIn).toHaveLength(2);
      expect(rrIn[0]).toMatch(kamailioRr(near.tlsPort!));
      expect(rrIn[1]).toMatch(kamailioRr(far.tlsPort!));
      // (b) RFC 3261 §12.1.1: the 2xx carries the request's Record-Route, unchanged and in order.
      expect(rrOut).toEqual(rrIn);

      // (c) The edge's ACK to the 200 OK (Request-URI: watrunk's Contact) came through both proxies.
      const ackUri = contactUri(ok);
      expect(ackUri).not.toBe('');
      await waitFor('the ACK passed both proxies', () =>
        proxyRx(far, marks.far, 'ACK', ackUri).length > 0 && proxyRx(near, marks.near, 'ACK', ackUri).length > 0, { timeoutMs: 5_000, intervalMs: 50 });
      const ack = await waitFor('watrunk received the ACK', () =>
        watrunkMessages(sipCallId).find((m) => m.dir === 'recv' && m.startLine.startsWith('ACK ') && cseqOf(m).split(' ')[0] === cseqOf(ok).split(' ')[0]), { timeoutMs: 5_000, intervalMs: 50 });
      expect(requestUri(ack)).toBe(ackUri);
      expect(header(ack, 'Via')).toMatch(new RegExp(`^SIP/2\\.0/TLS 127\\.0\\.0\\.1:${near.tlsPort};`));

      // (a) Media both ways.
      const heard = await s.hearsBothWays(p, s.peers[before]!);
      expect(heard.atUser).toBeGreaterThan(0.8);
      expect(heard.atPhone).toBeGreaterThan(0.8);

      // (d) The phone hangs up: watrunk's BYE toward Meta follows the route set (the Record-Route, in order) through both proxies.
      await p.hangup();
      const bye = await waitFor('watrunk sent a BYE toward Meta', () =>
        watrunkMessages(sipCallId).find((m) => m.dir === 'send' && m.startLine.startsWith('BYE ')), { timeoutMs: 5_000, intervalMs: 50 });
      expect(bye.headers.filter(([n]) => n.toLowerCase() === 'route').flatMap(([, v]) => splitNameAddrs(v))).toEqual(rrIn);
      await waitFor('the BYE passed both proxies', () =>
        proxyRx(near, marks.near, 'BYE').length > 0 && proxyRx(far, marks.far, 'BYE').length > 0, { timeoutMs: 5_000, intervalMs: 50 });
      await s.ended(callId);
      expect(s.stack.sim.getCall(callId)!.endedBy).toBe('business');
    });

    it('baresip calls a WhatsApp user through Meta\'s proxy: watrunk\'s ACK and BYE follow the Record-Route of the edge\'s 200 OK', async () => {
      const p = await s.startPhone();
      const before = s.peers.length;
      const mark = toEdge.logs().length;
      const ruri = 'sip:+447700900123@wa.meta.vc;transport=tls';
      await p.dial(`sip:+447700900123@127.0.0.1:${s.watrunkSip.sipPort}`);
      await p.waitForEvent('CALL_ESTABLISHED', 15_000);
      const peer = await waitFor('WhatsApp user media', () => s.peers[before], { timeoutMs: 10_000 });
      const view = await waitFor('call accepted at the edge', () => s.stack.sim.listCalls().find((c) => c.acceptedAt && c.state !== 'ended'), { timeoutMs: 10_000 });
      expect(view.offerSdp).toMatch(/^m=audio \d+ RTP\/SAVP /m);

      // watrunk's INVITE went to edge_uri, the proxy; the edge's 200 OK carries the proxy's Record-Route.
      expect(proxyRx(toEdge, mark, 'INVITE', ruri).length).toBeGreaterThan(0);
      const sent = sipMessages(s.watrunkSip.logs()).filter((m) => m.dir === 'send' && m.startLine === `INVITE ${ruri} SIP/2.0`);
      expect(sent.length, 'watrunk\'s drachtio-server logged the INVITE it sent').toBeGreaterThan(0);
      const sipCallId = header(sent[sent.length - 1]!, 'Call-ID')!;
      const ok = await waitFor('watrunk received the edge\'s 200 OK', () =>
        watrunkMessages(sipCallId).find((m) => m.dir === 'recv' && isFinalToInvite(m, 200)), { timeoutMs: 5_000, intervalMs: 50 });
      const rr = recordRoutes(ok);
      console.info(`[sip-mode-record-route] Record-Route of the edge's 200 OK as watrunk received it: ${JSON.stringify(rr)}`);
      expect(rr).toHaveLength(1);
      expect(rr[0]).toMatch(kamailioRr(toEdge.tlsPort!));

      // watrunk's ACK to the 200 OK (Request-URI: the edge's Contact) went through the proxy, with the route set.
      const edgeContact = contactUri(ok);
      await waitFor('watrunk\'s ACK passed the proxy', () => proxyRx(toEdge, mark, 'ACK', edgeContact).length > 0, { timeoutMs: 5_000, intervalMs: 50 });
      const ack = watrunkMessages(sipCallId).find((m) => m.dir === 'send' && m.startLine === `ACK ${edgeContact} SIP/2.0`);
      expect(ack, 'watrunk sent an ACK to the edge\'s Contact').toBeDefined();
      expect(header(ack!, 'Route')).toBe(rr[0]);

      const heard = await s.hearsBothWays(p, peer);
      expect(heard.atUser).toBeGreaterThan(0.8);
      expect(heard.atPhone).toBeGreaterThan(0.8);

      await p.hangup();
      await waitFor('watrunk\'s BYE passed the proxy', () => proxyRx(toEdge, mark, 'BYE', edgeContact).length > 0, { timeoutMs: 5_000, intervalMs: 50 });
      await s.ended(view.id);
      expect(s.stack.sim.getCall(view.id)!.endedBy).toBe('business');
    });
  });
});
