/**
 * A PBX that offers Opus: no transcoding. The offer toward WhatsApp keeps the PBX's Opus payload
 * (and its telephone-event/8000); rtpengine does not mark the media as transcoding; audio goes
 * peer → rtpengine → PBX (which echoes the Opus packets, having no Opus codec) → rtpengine → peer,
 * and the peer hears its own 440 Hz tone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realMediaSkipReason, startMediaFixture, wrtcFactory, type MediaFixture } from '../support/media/media-fixture.js';
import { RtpEndpoint } from '../support/media/rtp-endpoint.js';
import { waitFor, sleep } from '../support/media/wait.js';
import { audioPayloads } from '../../src/adapters/rtpengine/sdp-codecs.js';
import { NgClient } from '../../src/adapters/rtpengine/ng-client.js';
import type { WrtcMediaFactory } from '../../src/simulator/media/wrtc-peer.js';

const skip = await realMediaSkipReason();

interface QueryMedia { flags?: string[]; codec?: string }

describe.skipIf(skip !== undefined)(`Opus PBX: passthrough, no transcoding${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let fx: MediaFixture;
  let factory: WrtcMediaFactory;
  let ng: NgClient;

  beforeAll(async () => {
    fx = await startMediaFixture();
    factory = await wrtcFactory();
    ng = new NgClient({ timeoutMs: 3_000, localAddress: '127.0.0.1' });
  });
  afterAll(async () => {
    ng?.close();
    await fx?.stop();
  });

  it('offers the PBX Opus through unmasked and relays it untouched', async () => {
    const pbx = await RtpEndpoint.create();
    const id = `opus-${Date.now()}`;
    const session = fx.media.createSession(id);
    const peer = factory.create({ toneHz: 440, listenHz: [440] });
    peer.startTalking();
    try {
      const waOffer = await session.offerToWhatsApp(pbx.offer(['opus', 'PCMU', 'PCMA']));
      expect(audioPayloads(waOffer).map((p) => `${p.pt} ${p.codec}/${p.rate}`)).toEqual(['111 opus/48000', '101 telephone-event/8000']);

      const pbxAnswer = await session.answerFromWhatsApp(await peer.answer(waOffer));
      expect(audioPayloads(pbxAnswer).map((p) => `${p.pt} ${p.codec}/${p.rate}`)).toEqual(['111 opus/48000', '101 telephone-event/8000']);
      pbx.applyAnswer(pbxAnswer);
      pbx.startEcho();

      await waitFor('WebRTC peer connected', () => peer.connectionState === 'connected', { timeoutMs: 10_000, intervalMs: 5 });
      await sleep(800);
      const mark = peer.audioMark();
      await sleep(2_000);
      const ownToneBack = peer.toneFractionSince(mark, 440);
      const pbxStats = pbx.snapshot();

      const q = await ng.send({ host: fx.rtpengine.host, port: fx.rtpengine.ngPort }, 'query', { 'call-id': id });
      const medias = Object.values(q.tags as Record<string, { medias?: QueryMedia[] }>).flatMap((t) => t.medias ?? []);
      console.info(`[opus] 440 Hz looped back to the peer ${ownToneBack.toFixed(3)}; PBX got payload types ${JSON.stringify(pbxStats.byPayloadType)}; `
        + `rtpengine media flags ${JSON.stringify(medias.map((m) => m.flags))}, codecs ${JSON.stringify(medias.map((m) => m.codec))}`);

      expect(pbxStats.byPayloadType[111] ?? 0).toBeGreaterThan(50);
      expect(pbxStats.byPayloadType[0]).toBeUndefined();
      expect(medias.length).toBe(2);
      for (const m of medias) expect(m.flags ?? []).not.toContain('transcoding');
      expect(ownToneBack).toBeGreaterThan(0.8);
    } finally {
      await peer.close();
      await session.close();
      await pbx.close();
    }
  });
});
