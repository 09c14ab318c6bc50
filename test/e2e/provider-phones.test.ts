/**
 * End to end per provider with a real SIP phone: baresip through drachtio-server, watrunk (the
 * provider's adapter), rtpengine and the simulator speaking that provider's dialect, with its
 * libwebrtc WhatsApp user. Both call directions, tones both ways, hangups ending the other side.
 * Meta's own flows are in real-phones.test.ts. Skips loudly without drachtio-server or baresip.
 */
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { ProviderName } from '../../src/config/provider-capabilities.js';
import { startBridgeStack, type BridgeStack } from '../support/bridge-stack.js';
import { describeIfDrachtio, startDrachtioServer, type DrachtioServer } from '../support/drachtio-server.js';
import { realMediaSkipReason, startMediaFixture, wrtcFactory, type MediaFixture } from '../support/media/media-fixture.js';
import { recordingSimMedia, type RecordedPeer } from '../support/media/recording-sim-media.js';
import { waitFor } from '../support/media/wait.js';
import { hearsBothWays as hearsBothWaysWith } from '../support/phones/phone-tones.js';
import { BaresipPhone } from '../support/phones/baresip-phone.js';
import { tail } from '../support/phones/process.js';
import { freeUdpTcpPort } from '../support/ports.js';

const skip = (await realMediaSkipReason()) ?? BaresipPhone.skipReason();
if (skip) console.warn(`\n${'!'.repeat(78)}\n!!  SKIPPING provider real-phone e2e tests: ${skip}\n${'!'.repeat(78)}\n`);

const USER_HZ = 440;
const PHONE_HZ = 1000;
const PROVIDERS: ProviderName[] = ['360dialog', 'cams', 'conceptomovil'];

describeIfDrachtio(describe, 'e2e per provider with baresip through drachtio-server', () => {
  describe.skipIf(skip !== undefined).each(PROVIDERS)(`provider %s${skip ? ` (skipped: ${skip})` : ''}`, (provider) => {
    let drachtio: DrachtioServer;
    let fx: MediaFixture;
    let stack: BridgeStack;
    let peers: RecordedPeer[];
    let phone: BaresipPhone | undefined;
    let ringPort = 0;

    beforeAll(async () => {
      drachtio = await startDrachtioServer();
      fx = await startMediaFixture();
      const rec = recordingSimMedia(await wrtcFactory());
      peers = rec.peers;
      ringPort = await freeUdpTcpPort();
      stack = await startBridgeStack({
        provider, media: fx.media, simMedia: rec.media, logger: pino({ level: 'warn' }),
        drachtio: { host: drachtio.host, port: drachtio.adminPort, secret: drachtio.secret },
        inbound: { target: `sip:phone@127.0.0.1:${ringPort}` },
        timing: { accept_window_ms: 30_000 },
        users: [{ match: '4477009*', behaviour: 'answer', answer_after_ms: 200, permission: 'temporary' }],
      });
      await waitFor('bridge connected to drachtio', () => stack.bridge.drachtio?.connected, { timeoutMs: 10_000, intervalMs: 50 });
    });
    afterEach(async () => { await phone?.stop().catch(() => undefined); phone = undefined; });
    afterAll(async () => {
      await stack?.stop();
      await fx?.stop();
      await drachtio?.stop();
    });

    async function startPhone(sipPort?: number): Promise<BaresipPhone> {
      phone = new BaresipPhone();
      await phone.start({ toneHz: PHONE_HZ, autoAnswer: true, codecs: ['PCMU'], ...(sipPort ? { sipPort } : {}) });
      const p = phone;
      onTestFailed(() => console.error(`--- baresip ---\n${tail(p.logs(), 6_000)}\n--- drachtio ---\n${tail(drachtio.logs(), 4_000)}`));
      return p;
    }

    const hearsBothWays = (p: BaresipPhone, peer: RecordedPeer) => hearsBothWaysWith(p, peer, { phoneHz: PHONE_HZ, userHz: USER_HZ });

    async function ended(waCallId: string) {
      await waitFor('WhatsApp call ended', () => stack.sim.getCall(waCallId)?.state === 'ended', { timeoutMs: 8_000, intervalMs: 50 });
      await waitFor('no call in watrunk', () => stack.bridge.registry.size === 0, { timeoutMs: 3_000 });
      await waitFor('no rtpengine session', () => fx.media.openSessions().length === 0, { timeoutMs: 3_000 });
    }

    it('baresip calls a WhatsApp user: tones both ways; its hangup terminates on WhatsApp', async () => {
      const p = await startPhone();
      const before = peers.length;
      await p.dial(`sip:+447700900123@127.0.0.1:${drachtio.sipPort}`);
      await p.waitForEvent('CALL_ESTABLISHED', 10_000);
      const peer = await waitFor('WhatsApp user media', () => peers[before], { timeoutMs: 10_000 });
      const view = await waitFor('call accepted at the simulator', () => stack.sim.listCalls().find((c) => c.acceptedAt && c.state !== 'ended'), { timeoutMs: 10_000 });
      const heard = await hearsBothWays(p, peer);
      expect(heard.atUser).toBeGreaterThan(0.8);
      expect(heard.atPhone).toBeGreaterThan(0.8);
      await p.hangup();
      await ended(view.id);
      expect(stack.sim.getCall(view.id)!.actions.map((a) => a.action)).toEqual(['connect', 'terminate']);
    });

    it('a WhatsApp user calls baresip: tones both ways; the user hangs up and the phone gets BYE', async () => {
      const p = await startPhone(ringPort);
      const before = peers.length;
      const { callId } = await stack.sim.startUserCall({ from: '447700900150' });
      await p.waitForEvent('CALL_ESTABLISHED', 10_000);
      await waitFor('accepted', () => stack.sim.getCall(callId)?.acceptedAt, { timeoutMs: 10_000 });
      const heard = await hearsBothWays(p, peers[before]!);
      expect(heard.atUser).toBeGreaterThan(0.8);
      expect(heard.atPhone).toBeGreaterThan(0.8);
      await fetch(`${stack.simUrl}/_sim/calls/${encodeURIComponent(callId)}/hangup`, { method: 'POST' });
      await p.waitForEvent('CALL_CLOSED', 8_000);
      await ended(callId);
    });
  });
});
