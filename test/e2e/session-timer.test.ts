/**
 * RFC 4028 session refresh through a real drachtio-server against a real phone: watrunk's INVITE
 * to baresip asks for Session-Expires 90 (the smallest RFC 4028 allows); baresip does not do the
 * extension, so watrunk refreshes anyway at half the interval (RFC 4028 §7.2) with a re-INVITE
 * carrying its unchanged SDP. The phone must answer it and the call must carry audio after it.
 * About 50 s: the refresh cannot come sooner. Skips loudly without drachtio-server or baresip.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridgeStack, type BridgeStack } from '../support/bridge-stack.js';
import { describeIfDrachtio, startDrachtioServer, type DrachtioServer } from '../support/drachtio-server.js';
import { realMediaSkipReason, startMediaFixture, wrtcFactory, type MediaFixture } from '../support/media/media-fixture.js';
import { recordingSimMedia, type RecordedPeer } from '../support/media/recording-sim-media.js';
import { sleep, waitFor } from '../support/media/wait.js';
import { BaresipPhone } from '../support/phones/baresip-phone.js';
import { freeUdpTcpPort } from '../support/ports.js';

const skip = (await realMediaSkipReason()) ?? BaresipPhone.skipReason();
if (skip) console.warn(`\n${'!'.repeat(78)}\n!!  SKIPPING session-timer e2e: ${skip}\n${'!'.repeat(78)}\n`);

describeIfDrachtio(describe, 'e2e RFC 4028 session refresh toward a real phone', () => {
  describe.skipIf(skip !== undefined)(`baresip answering a WhatsApp user's call${skip ? ` (skipped: ${skip})` : ''}`, () => {
    let drachtio: DrachtioServer;
    let fx: MediaFixture;
    let stack: BridgeStack;
    let peers: RecordedPeer[];
    let phonePort: number;
    const phone = new BaresipPhone();

    beforeAll(async () => {
      drachtio = await startDrachtioServer();
      fx = await startMediaFixture();
      const rec = recordingSimMedia(await wrtcFactory());
      peers = rec.peers;
      phonePort = await freeUdpTcpPort();
      stack = await startBridgeStack({
        media: fx.media, simMedia: rec.media,
        drachtio: { host: drachtio.host, port: drachtio.adminPort, secret: drachtio.secret },
        calls: { session_timer: { expires_s: 90, min_se_s: 90 } },
        inbound: { target: `sip:phone@127.0.0.1:${phonePort}` },
        timing: { accept_window_ms: 30_000 },
        users: [{ match: '4477009*', behaviour: 'answer', permission: 'temporary' }],
      });
      await waitFor('bridge connected to drachtio', () => stack.bridge.drachtio?.connected, { timeoutMs: 10_000, intervalMs: 50 });
      await phone.start({ sipPort: phonePort, toneHz: 1000, autoAnswer: true, codecs: ['PCMU'], toneSeconds: 120 });
    }, 60_000);

    afterAll(async () => {
      await phone.stop();
      await stack?.stop();
      await fx?.stop();
      await drachtio?.stop();
    });

    it('refreshes at half of Session-Expires with a re-INVITE the phone answers; audio flows after it', async () => {
      const before = peers.length;
      const { callId } = await stack.sim.startUserCall({ from: '447700900190' });
      await waitFor('accepted', () => stack.sim.getCall(callId)?.acceptedAt, { timeoutMs: 10_000 });
      const trace = () => phone.sipTrace();
      expect(trace()).toMatch(/^Session-Expires: 90;refresher=uac/mi);
      const invitesAtStart = (trace().match(/^INVITE sip:/gm) ?? []).length;
      await waitFor('the refresh re-INVITE', () => (trace().match(/^INVITE sip:/gm) ?? []).length > invitesAtStart, { timeoutMs: 55_000, intervalMs: 500 });
      await sleep(1_000);
      expect(stack.sim.getCall(callId)!.state).not.toBe('ended');
      const peer = peers[before]!;
      // A 1.5 s window in which the phone's 1000 Hz dominates at the WhatsApp user, within 8 s.
      await waitFor('the WhatsApp user hears the phone after the refresh', async () => {
        const mark = peer.peer.audioMark();
        await sleep(1_500);
        return peer.peer.toneFractionSince(mark, 1000) > 0.8;
      }, { timeoutMs: 8_000, intervalMs: 0 });
      await fetch(`${stack.simUrl}/_sim/calls/${encodeURIComponent(callId)}/hangup`, { method: 'POST' });
      await phone.waitForEvent('CALL_CLOSED', 8_000);
      await waitFor('no rtpengine session', () => fx.media.openSessions().length === 0, { timeoutMs: 3_000 });
    }, 90_000);
  });
});
