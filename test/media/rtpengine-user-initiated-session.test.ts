/**
 * User-initiated call through a real rtpengine: a libwebrtc peer (the WhatsApp stand-in; full ICE,
 * not ice-lite like Meta) offers Opus 111 + telephone-event/8000 126 with a=setup:actpass;
 * rtpengine offers PCMU/PCMA to the "PBX", which answers; rtpengine's answer (DTLS client,
 * a=setup:active) goes back to the peer. Media toward WhatsApp is blocked until "accept"
 * (Meta counts the first media packet as the answer, docs/whatsapp-calling.md#first-media-is-the-answer) and must not reach the peer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realMediaSkipReason, startMediaFixture, wrtcFactory, fractionSince, type MediaFixture } from '../support/media/media-fixture.js';
import { RtpEndpoint } from '../support/media/rtp-endpoint.js';
import { waitFor, sleep } from '../support/media/wait.js';
import { audioPayloads } from '../../src/adapters/rtpengine/sdp-codecs.js';
import type { WrtcMediaFactory } from '../../src/simulator/media/wrtc-peer.js';

const skip = await realMediaSkipReason();

describe.skipIf(skip !== undefined)(`user-initiated call, WebRTC offerer ↔ PCMU PBX${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let fx: MediaFixture;
  let factory: WrtcMediaFactory;

  beforeAll(async () => {
    fx = await startMediaFixture();
    factory = await wrtcFactory();
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('keeps media toward WhatsApp blocked until accept, then carries tones both ways', async () => {
    const pbx = await RtpEndpoint.create();
    const session = fx.media.createSession(`uic-${Date.now()}`);
    const peer = factory.create({ toneHz: 440, listenHz: [1000] });
    peer.startTalking();
    try {
      // Asked before anything exists on rtpengine: remembered, applied inside answerFromPbx.
      await session.blockToWhatsApp();

      const waOffer = await peer.createOffer();
      expect(waOffer).toMatch(/^a=setup:actpass$/m);
      expect(audioPayloads(waOffer).map((p) => `${p.codec}/${p.rate}`)).toEqual(['opus/48000', 'telephone-event/8000']);

      const pbxOffer = await session.offerToPbx(waOffer);
      expect(pbxOffer).toMatch(/^m=audio \d+ RTP\/AVP 0 8 126\r?$/m);
      expect(pbxOffer).not.toMatch(/^a=(ice-ufrag|fingerprint|crypto|candidate|rtcp-mux)/m);

      const pbxAnswer = pbx.answer(pbxOffer, ['PCMU']);
      const waAnswer = await session.answerFromPbx(pbxAnswer);
      expect(waAnswer).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 111 126\r?$/m);
      expect(waAnswer).toMatch(/^a=rtpmap:126 telephone-event\/8000\r?$/m);
      expect(waAnswer).toMatch(/^a=setup:active\r?$/m);
      expect(waAnswer).toMatch(/^a=fingerprint:sha-256 /m);
      expect(waAnswer).toMatch(/^a=rtcp-mux\r?$/m);
      expect(waAnswer).not.toMatch(/^a=crypto:/m);

      pbx.startTone(1000);
      const answerAppliedAt = Date.now();
      await peer.applyAnswer(waAnswer);
      await waitFor('WebRTC peer connected', () => peer.connectionState === 'connected', { timeoutMs: 10_000, intervalMs: 5 });
      const connectMs = Date.now() - answerAppliedAt;

      // Blocked phase: the PBX sends, WhatsApp must get nothing; the other direction flows.
      const pbxMarkBlocked = pbx.recorder.position;
      await sleep(1_500);
      await peer.refreshStats();
      const blocked = peer.report();
      const blockedCounters = await session.counters();
      const rtcpWhileBlocked = (await peer.rawStats()).filter((x) => x.type === 'remote-outbound-rtp' || x.type === 'remote-inbound-rtp')
        .map((x) => `${String(x.type)} packetsSent=${String(x.packetsSent ?? '-')} packetsReceived=${String(x.packetsReceived ?? '-')}`);
      const toPbxBlocked = fractionSince(pbx.recorder, pbxMarkBlocked, 440, 300);
      expect(blockedCounters.fromPbx).toBeGreaterThan(50);
      expect(blocked.receivedPackets).toBe(0);
      expect(blocked.firstPacketAt).toBeUndefined();
      expect(peer.rmsSince(0)).toBeLessThan(10);
      expect(toPbxBlocked).toBeGreaterThan(0.9);

      // "accept": unblock; the peer now hears the PBX.
      await session.unblockToWhatsApp();
      const unblockedAt = Date.now();
      await waitFor('first packet at the peer', async () => { await peer.refreshStats(); return peer.report().receivedPackets > 0; }, { timeoutMs: 3_000 });
      const firstPacketMs = Date.now() - unblockedAt;
      await sleep(500);
      const peerMark = peer.audioMark();
      const pbxMark = pbx.recorder.position;
      await sleep(2_000);
      const toPeer = peer.toneFractionSince(peerMark, 1000);
      const toPbx = fractionSince(pbx.recorder, pbxMark, 440);
      const report = peer.report();
      console.info(`[uic] ICE+DTLS connected ${connectMs} ms after the answer reached the peer (rtpengine = DTLS client); `
        + `blocked 1.5 s: peer packets ${blocked.receivedPackets}, rtpengine fromPbx ${blockedCounters.fromPbx}, 440 Hz at PBX ${toPbxBlocked.toFixed(3)}, `
        + `RTCP-derived stats at the peer while blocked: ${JSON.stringify(rtcpWhileBlocked)}; `
        + `after unblock: first packet within ${firstPacketMs} ms, 1000 Hz at peer ${toPeer.toFixed(3)}, 440 Hz at PBX ${toPbx.toFixed(3)}, `
        + `peer dominant ${report.dominantFrequencyHz} Hz`);
      expect(toPeer).toBeGreaterThan(0.9);
      expect(toPbx).toBeGreaterThan(0.9);
      expect(Math.abs((report.dominantFrequencyHz ?? 0) - 1000)).toBeLessThan(15);
    } finally {
      await peer.close();
      await session.close();
      await pbx.close();
    }
    expect(fx.media.openSessions()).toEqual([]);
  });
});
