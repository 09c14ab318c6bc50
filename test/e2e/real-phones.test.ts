/**
 * End to end with real SIP phones as the PBX: baresip and linphonec (Debian packages, headless,
 * a tone file as microphone) through drachtio-server, watrunk, rtpengine and the simulator's
 * libwebrtc WhatsApp user; Kamailio as a Record-Routing proxy in between for one run each way.
 * Both call directions, tones both ways (what the WhatsApp user's libwebrtc decoded, what the phone
 * recorded), hold/resume, TCP, and a phone killed mid-call. Skips loudly without drachtio-server,
 * and names the missing phone or proxy when one is absent.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { startBridgeStack, type BridgeStack } from '../support/bridge-stack.js';
import { describeIfDrachtio, startDrachtioServer, type DrachtioServer } from '../support/drachtio-server.js';
import { kamailioSkipReason, startKamailio, type KamailioInstance } from '../support/kamailio.js';
import { realMediaSkipReason, startMediaFixture, wrtcFactory, type MediaFixture } from '../support/media/media-fixture.js';
import { recordingSimMedia, type RecordedPeer } from '../support/media/recording-sim-media.js';
import { sleep, waitFor } from '../support/media/wait.js';
import { hearsBothWays as hearsBothWaysWith, userHearsPhone } from '../support/phones/phone-tones.js';
import { BaresipPhone } from '../support/phones/baresip-phone.js';
import { LinphonePhone } from '../support/phones/linphone-phone.js';
import type { SoftPhone, SoftPhoneStartOptions } from '../support/phones/softphone.js';
import { tail } from '../support/phones/process.js';

const skip = (await realMediaSkipReason()) ?? BaresipPhone.skipReason();
const linphoneSkip = LinphonePhone.skipReason();
const kamailioSkip = kamailioSkipReason();
for (const r of [skip, linphoneSkip, kamailioSkip]) {
  if (r) console.warn(`\n${'!'.repeat(78)}\n!!  SKIPPING real-phone e2e tests that need it: ${r}\n${'!'.repeat(78)}\n`);
}
const note = (r?: string) => (r ? ` (skipped: ${r})` : '');

/** The WhatsApp user's tone and the phone's. */
const USER_HZ = 440;
const PHONE_HZ = 1000;
/** calls.pbx_media_timeout_s for this suite: a killed phone must end the WhatsApp call within it (+ a check interval). */
const PBX_TIMEOUT_S = 3;

describeIfDrachtio(describe, 'e2e with real SIP phones through drachtio-server', () => {
  describe.skipIf(skip !== undefined)(`baresip, linphonec, Kamailio${note(skip)}`, () => {
    let drachtio: DrachtioServer;
    let fx: MediaFixture;
    let stack: BridgeStack;
    let peers: RecordedPeer[];
    const logLines: string[] = [];
    const phones: SoftPhone[] = [];
    const proxies: KamailioInstance[] = [];
    /** Ports the inbound rules ring, by caller country code (see users below). */
    const ring = { baresip: 0, linphone: 0, viaKamailio: 0, tcp: 0 };

    beforeAll(async () => {
      drachtio = await startDrachtioServer();
      fx = await startMediaFixture();
      const rec = recordingSimMedia(await wrtcFactory());
      peers = rec.peers;
      const logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { logLines.push(String(chunk)); cb(); } }));
      // Ports are fixed per suite run so the inbound rules can name them; each phone below binds its own.
      const { freeUdpTcpPort } = await import('../support/ports.js');
      for (const k of Object.keys(ring) as (keyof typeof ring)[]) ring[k] = await freeUdpTcpPort();
      stack = await startBridgeStack({
        media: fx.media, simMedia: rec.media, logger,
        drachtio: { host: drachtio.host, port: drachtio.adminPort, secret: drachtio.secret },
        calls: { pbx_media_timeout_s: PBX_TIMEOUT_S, media_check_interval_s: 1 },
        inbound: {
          target: `sip:phone@127.0.0.1:${ring.baresip}`,
          rules: [
            { match: { caller_country_code: '49' }, target: `sip:{to}@127.0.0.1:${ring.linphone}` },
            { match: { caller_country_code: '33' }, target: `sip:phone@127.0.0.1:${ring.viaKamailio}` },
            { match: { caller_country_code: '34' }, target: `sip:phone@127.0.0.1:${ring.tcp};transport=tcp` },
          ],
        },
        timing: { accept_window_ms: 30_000 },
        users: ['4477009*', '49*', '33*', '34*'].map((match) => ({ match, behaviour: 'answer' as const, answer_after_ms: 200, permission: 'temporary' as const })),
      });
      await waitFor('bridge connected to drachtio', () => stack.bridge.drachtio?.connected, { timeoutMs: 10_000, intervalMs: 50 });
    });

    afterEach(async () => {
      await Promise.all(phones.splice(0).map((p) => p.stop().catch(() => undefined)));
      await Promise.all(proxies.splice(0).map((p) => p.stop().catch(() => undefined)));
    });
    afterAll(async () => {
      await stack?.stop();
      await fx?.stop();
      await drachtio?.stop();
    });

    async function phone(kind: 'baresip' | 'linphone', opts: Partial<SoftPhoneStartOptions> = {}): Promise<SoftPhone> {
      const p = kind === 'baresip' ? new BaresipPhone() : new LinphonePhone();
      phones.push(p);
      await p.start({ toneHz: PHONE_HZ, autoAnswer: true, ...opts });
      onTestFailed(() => {
        console.error(`--- ${kind} ---\n${tail(p.logs(), 6_000)}\n--- drachtio ---\n${tail(drachtio.logs(), 4_000)}`);
        console.error(`--- watrunk ---\n${logLines.slice(-30).join('')}`);
      });
      return p;
    }

    const trunkUri = (callee: string, port = drachtio.sipPort, transport?: 'tcp') =>
      `sip:+${callee}@127.0.0.1:${port}${transport ? `;transport=${transport}` : ''}`;

    /** The simulated user's call newest in the simulator, once it is accepted/answered. */
    async function userCall(before: number): Promise<{ waCallId: string; peer: RecordedPeer }> {
      const peer = await waitFor('WhatsApp user media', () => peers[before], { timeoutMs: 10_000 });
      const view = await waitFor('call answered at the simulator', () => stack.sim.listCalls().find((c) => c.acceptedAt && c.state !== 'ended' && !seen.has(c.id)), { timeoutMs: 10_000 });
      seen.add(view.id);
      return { waCallId: view.id, peer };
    }
    const seen = new Set<string>();

    const hearsPhone = (peer: RecordedPeer) => userHearsPhone(peer, PHONE_HZ);
    const hearsBothWays = (p: SoftPhone, peer: RecordedPeer) => hearsBothWaysWith(p, peer, { phoneHz: PHONE_HZ, userHz: USER_HZ });

    async function ended(waCallId: string) {
      await waitFor('WhatsApp call ended', () => stack.sim.getCall(waCallId)?.state === 'ended', { timeoutMs: 8_000, intervalMs: 50 });
      await waitFor('no call in watrunk', () => stack.bridge.registry.size === 0, { timeoutMs: 3_000 });
      await waitFor('no rtpengine session', () => fx.media.openSessions().length === 0, { timeoutMs: 3_000 });
    }

    describe('phone -> WhatsApp (business-initiated)', () => {
      it('baresip, G.711 only and announcing a=ssrc: the WhatsApp user hears it, it hears the user; its hangup terminates', async () => {
        const p = await phone('baresip', { codecs: ['PCMU'] });
        const before = peers.length;
        await p.dial(trunkUri('447700900123'));
        await p.waitForEvent('CALL_ESTABLISHED', 10_000);
        const { waCallId, peer } = await userCall(before);
        expect(peer.sdpFromBusiness).not.toMatch(/^a=ssrc/m);
        const heard = await hearsBothWays(p, peer);
        expect(heard.atUser).toBeGreaterThan(0.8);
        expect(heard.atPhone).toBeGreaterThan(0.8);
        await p.hangup();
        await ended(waCallId);
        expect(stack.sim.getCall(waCallId)!.actions.map((a) => a.action)).toEqual(['connect', 'terminate']);
      });

      it('baresip (its own codec list: Opus passed through) holds and resumes: the user hears it again, it receives again', async () => {
        const p = (await phone('baresip')) as BaresipPhone;
        const logFrom = logLines.length;
        const before = peers.length;
        await p.dial(trunkUri('447700900124'));
        await p.waitForEvent('CALL_ESTABLISHED', 10_000);
        const { waCallId, peer } = await userCall(before);
        await p.hold();
        await sleep(1_000);
        expect(stack.sim.getCall(waCallId)!.state).not.toBe('ended');
        const logAtResume = p.logs().length;
        await p.resume();
        const heard = await hearsPhone(peer);
        expect(heard).toBeGreaterThan(0.8);
        // baresip re-offers only the agreed codecs when it holds and resumes: still answered
        // locally, rtpengine untouched (docs/media.md#re-invites-from-the-pbx).
        const reoffers = logLines.slice(logFrom).filter((l) => /PBX re-offer/.test(l)).map((l) => (JSON.parse(l) as { msg: string }).msg);
        expect(reoffers).toEqual(Array(2).fill('PBX re-offer changes only the direction (hold/resume): answered locally'));
        // baresip 1.0's recorder re-creates its file on resume and records nothing after a hold,
        // so what it receives is read from its own status line ("audio=<tx>/<rx> (bit/s)"); the
        // tone itself after hold/resume is proven at the media tier (pbx-reinvite-and-dead-peers).
        await waitFor('baresip receives audio after resume', () => /audio=\d+\/[1-9]\d* \(bit\/s\)/.test(p.logs().slice(logAtResume)), { timeoutMs: 8_000, intervalMs: 100 });
        await p.hangup();
        await ended(waCallId);
      });

      it.skipIf(linphoneSkip !== undefined)(`linphonec: tones both ways, hangup terminates${note(linphoneSkip)}`, async () => {
        const p = await phone('linphone');
        const before = peers.length;
        await p.dial(trunkUri('447700900125'));
        const { waCallId, peer } = await userCall(before);
        const heard = await hearsBothWays(p, peer);
        expect(heard.atUser).toBeGreaterThan(0.8);
        expect(heard.atPhone).toBeGreaterThan(0.8);
        await p.hangup();
        await ended(waCallId);
      });

      it('baresip over TCP: tones both ways', async () => {
        const p = await phone('baresip', { transport: 'tcp', codecs: ['PCMA'] });
        const before = peers.length;
        await p.dial(trunkUri('447700900126', drachtio.sipPort, 'tcp'));
        await p.waitForEvent('CALL_ESTABLISHED', 10_000);
        const { waCallId, peer } = await userCall(before);
        const heard = await hearsBothWays(p, peer);
        expect(heard.atUser).toBeGreaterThan(0.8);
        expect(heard.atPhone).toBeGreaterThan(0.8);
        await p.hangup();
        await ended(waCallId);
      });

      it.skipIf(kamailioSkip !== undefined)(`through Kamailio (Record-Route): tones both ways, the BYE goes back through the proxy${note(kamailioSkip)}`, async () => {
        const proxy = await startKamailio({ recordRoute: true, forwardTo: { host: '127.0.0.1', port: drachtio.sipPort } });
        proxies.push(proxy);
        const p = await phone('baresip', { codecs: ['PCMU'] });
        const before = peers.length;
        await p.dial(trunkUri('447700900127', proxy.port));
        await p.waitForEvent('CALL_ESTABLISHED', 10_000);
        const { waCallId, peer } = await userCall(before);
        const heard = await hearsBothWays(p, peer);
        expect(heard.atUser).toBeGreaterThan(0.8);
        expect(heard.atPhone).toBeGreaterThan(0.8);
        // The WhatsApp user hangs up: watrunk's BYE must follow the Route set through Kamailio.
        await fetch(`${stack.simUrl}/_sim/calls/${encodeURIComponent(waCallId)}/hangup`, { method: 'POST' });
        await p.waitForEvent('CALL_CLOSED', 8_000);
        expect(proxy.logs()).toMatch(/rx BYE /);
        await ended(waCallId);
      });

      it(`baresip killed mid-call (no BYE): the WhatsApp call is terminated within pbx_media_timeout_s, one CDR`, async () => {
        const p = await phone('baresip', { codecs: ['PCMU'] });
        const before = peers.length;
        await p.dial(trunkUri('447700900128'));
        await p.waitForEvent('CALL_ESTABLISHED', 10_000);
        const { waCallId } = await userCall(before);
        await sleep(1_000);
        const killedAt = Date.now();
        p.kill('SIGKILL');
        await ended(waCallId);
        const tookMs = Date.now() - killedAt;
        expect(tookMs).toBeLessThan((PBX_TIMEOUT_S + 3) * 1_000);
        const cdrs = logLines.filter((l) => l.includes('"cdr":true') && l.includes(waCallId));
        expect(cdrs).toHaveLength(1);
        expect(JSON.parse(cdrs[0]!)).toMatchObject({ cause: 'pbx_media_timeout', endedBy: 'watrunk' });
        console.info(`[real-phones] baresip SIGKILLed -> WhatsApp terminate after ${tookMs} ms (pbx_media_timeout_s ${PBX_TIMEOUT_S})`);
      });
    });

    describe('WhatsApp -> phone (user-initiated)', () => {
      async function userCalls(from: string): Promise<{ callId: string; peer: RecordedPeer }> {
        const before = peers.length;
        const { callId } = await stack.sim.startUserCall({ from });
        return { callId, peer: peers[before]! };
      }

      it('baresip auto-answers, announcing a=ssrc: tones both ways; the user hangs up and the phone gets BYE', async () => {
        const p = await phone('baresip', { sipPort: ring.baresip, codecs: ['PCMU'] });
        const { callId, peer } = await userCalls('447700900150');
        await p.waitForEvent('CALL_ESTABLISHED', 10_000);
        await waitFor('accepted', () => stack.sim.getCall(callId)?.acceptedAt, { timeoutMs: 10_000 });
        expect(peer.sdpFromBusiness).not.toMatch(/^a=ssrc/m);
        const heard = await hearsBothWays(p, peer);
        expect(heard.atUser).toBeGreaterThan(0.8);
        expect(heard.atPhone).toBeGreaterThan(0.8);
        await fetch(`${stack.simUrl}/_sim/calls/${encodeURIComponent(callId)}/hangup`, { method: 'POST' });
        await p.waitForEvent('CALL_CLOSED', 8_000);
        await ended(callId);
      });

      it.skipIf(linphoneSkip !== undefined)(`linphonec auto-answers: tones both ways; its hangup terminates${note(linphoneSkip)}`, async () => {
        const p = await phone('linphone', { sipPort: ring.linphone });
        const { callId, peer } = await userCalls('4915112345678');
        await waitFor('accepted', () => stack.sim.getCall(callId)?.acceptedAt, { timeoutMs: 10_000 });
        const heard = await hearsBothWays(p, peer);
        expect(heard.atUser).toBeGreaterThan(0.8);
        expect(heard.atPhone).toBeGreaterThan(0.8);
        await p.hangup();
        await ended(callId);
        expect(stack.sim.getCall(callId)!.actions.map((a) => a.action)).toContain('terminate');
      });

      it('baresip over TCP answers: tones both ways', async () => {
        const p = await phone('baresip', { sipPort: ring.tcp, transport: 'tcp', codecs: ['PCMU'] });
        const { callId, peer } = await userCalls('34600123456');
        await waitFor('accepted', () => stack.sim.getCall(callId)?.acceptedAt, { timeoutMs: 10_000 });
        const heard = await hearsBothWays(p, peer);
        expect(heard.atUser).toBeGreaterThan(0.8);
        expect(heard.atPhone).toBeGreaterThan(0.8);
        await p.hangup();
        await ended(callId);
      });

      it.skipIf(kamailioSkip !== undefined)(`through Kamailio (Record-Route) to baresip, which hangs up through the proxy${note(kamailioSkip)}`, async () => {
        const p = await phone('baresip', { codecs: ['PCMU'] });
        const proxy = await startKamailio({ port: ring.viaKamailio, recordRoute: true, forwardTo: { host: '127.0.0.1', port: p.sipPort } });
        proxies.push(proxy);
        const { callId, peer } = await userCalls('33612345678');
        await waitFor('accepted', () => stack.sim.getCall(callId)?.acceptedAt, { timeoutMs: 10_000 });
        const heard = await hearsBothWays(p, peer);
        expect(heard.atUser).toBeGreaterThan(0.8);
        expect(heard.atPhone).toBeGreaterThan(0.8);
        await p.hangup();
        await ended(callId);
        expect(proxy.logs()).toMatch(/rx BYE /);
      });
    });
  });
});
