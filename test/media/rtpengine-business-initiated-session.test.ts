/**
 * Business-initiated call through a real rtpengine: the "PBX" (plain RTP, PCMU, 1000 Hz) offers,
 * rtpengine turns it into a WebRTC offer, a libwebrtc peer (the WhatsApp stand-in, 440 Hz) answers.
 * Audio is checked both ways by Goertzel tone detection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realMediaSkipReason, startMediaFixture, wrtcFactory, fractionSince, type MediaFixture } from '../support/media/media-fixture.js';
import { RtpEndpoint } from '../support/media/rtp-endpoint.js';
import { waitFor, sleep } from '../support/media/wait.js';
import { audioPayloads } from '../../src/adapters/rtpengine/sdp-codecs.js';
import { NgClient } from '../../src/adapters/rtpengine/ng-client.js';
import type { WrtcMediaFactory } from '../../src/simulator/media/wrtc-peer.js';

const skip = await realMediaSkipReason();

describe.skipIf(skip !== undefined)(`business-initiated call, PCMU PBX ↔ WebRTC peer${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let fx: MediaFixture;
  let factory: WrtcMediaFactory;

  beforeAll(async () => {
    fx = await startMediaFixture();
    factory = await wrtcFactory();
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('transcodes PCMU ↔ Opus both ways with a WebRTC-shaped offer toward WhatsApp', async () => {
    const pbx = await RtpEndpoint.create();
    const id = `bic-${Date.now()}`;
    const session = fx.media.createSession(id);
    const peer = factory.create({ toneHz: 440, listenHz: [1000] });
    peer.startTalking();
    try {
      const waOffer = await session.offerToWhatsApp(pbx.offer(['PCMU', 'PCMA']));

      // What WhatsApp gets (docs/whatsapp-calling.md#sdp-rules): Opus, telephone-event/8000, DTLS fingerprint, ICE, rtcp-mux, no SDES.
      const pts = audioPayloads(waOffer);
      expect(pts.find((p) => p.codec.toLowerCase() === 'opus')).toMatchObject({ rate: 48000, encoding: '2' });
      expect(pts.filter((p) => p.codec.toLowerCase() === 'telephone-event').map((p) => p.rate)).toEqual([8000]);
      expect(pts.some((p) => ['PCMU', 'PCMA'].includes(p.codec))).toBe(false);
      expect(waOffer).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF /m);
      expect(waOffer).toMatch(/^a=fingerprint:sha-256 [0-9A-F:]+$/m);
      expect(waOffer).toMatch(/^a=setup:actpass$/m);
      expect(waOffer).toMatch(/^a=ice-ufrag:\S+$/m);
      expect(waOffer).toMatch(/^a=ice-pwd:\S+$/m);
      expect(waOffer).toMatch(/^a=rtcp-mux$/m);
      expect(waOffer).toMatch(/^a=mid:\S+$/m);
      expect(waOffer).not.toMatch(/^a=crypto:/m);

      const answerStartedAt = Date.now();
      const waAnswer = await peer.answer(waOffer);
      const pbxAnswer = await session.answerFromWhatsApp(waAnswer);
      expect(pbxAnswer).toMatch(/^m=audio \d+ RTP\/AVP 0( 101)?\r?$/m);
      expect(pbxAnswer).not.toMatch(/^a=(ice-ufrag|fingerprint|crypto|candidate)/m);
      pbx.applyAnswer(pbxAnswer);
      pbx.startTone(1000);
      // libwebrtc may finish ICE+DTLS before rtpengine has its answer (it learns the peer as
      // peer-reflexive; docs/media.md#test-peers), so time from the moment the peer started answering.
      await waitFor('WebRTC peer connected', () => peer.connectionState === 'connected', { timeoutMs: 10_000, intervalMs: 5 });
      const connectMs = Date.now() - answerStartedAt;

      // Let audio settle, then analyse 2 s in each direction.
      await sleep(500);
      const peerMark = peer.audioMark();
      const pbxMark = pbx.recorder.position;
      await sleep(2_000);
      const toPeer = peer.toneFractionSince(peerMark, 1000);
      const toPbx = fractionSince(pbx.recorder, pbxMark, 440);
      await peer.refreshStats();
      const report = peer.report();
      const counters = await session.counters();
      // Control for opus-passthrough.test.ts: here rtpengine does mark the media as transcoding.
      const ng = new NgClient({ timeoutMs: 2_000, localAddress: '127.0.0.1' });
      const q = await ng.send({ host: fx.rtpengine.host, port: fx.rtpengine.ngPort }, 'query', { 'call-id': id }).finally(() => ng.close());
      const mediaFlags = Object.values(q.tags as Record<string, { medias?: { flags?: string[] }[] }>).flatMap((t) => t.medias ?? []).map((m) => m.flags ?? []);
      expect(mediaFlags.some((f) => f.includes('transcoding'))).toBe(true);
      console.info(`[bic] ICE+DTLS connected ${connectMs} ms after the peer started answering (peer = DTLS client); 1000 Hz at peer ${toPeer.toFixed(3)}; `
        + `440 Hz at PBX ${toPbx.toFixed(3)}; peer dominant ${report.dominantFrequencyHz} Hz; peer packets ${report.receivedPackets}; `
        + `rtpengine counters ${JSON.stringify(counters)}`);

      expect(toPeer).toBeGreaterThan(0.9);
      expect(toPbx).toBeGreaterThan(0.9);
      expect(Math.abs((report.dominantFrequencyHz ?? 0) - 1000)).toBeLessThan(15);
      expect(report.receivedPackets).toBeGreaterThan(50);
      expect(counters.fromPbx).toBeGreaterThan(50);
      expect(counters.fromWhatsApp).toBeGreaterThan(50);
    } finally {
      await peer.close();
      await session.close();
      await pbx.close();
    }
    expect(fx.media.openSessions()).toEqual([]);
  });
});
