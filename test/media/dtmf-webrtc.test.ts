/**
 * DTMF with the real WebRTC peer. libwebrtc does not hand received RFC 4733 events to the
 * application, but its NetEq plays them out as DTMF tones, so the peer's RTCAudioSink hears them
 * (wrtc-peer.ts detects the digits with Goertzel). Packet-level facts (which payload type, clock,
 * durations) are in dtmf-codec.test.ts.
 *
 * Caveat measured here: NetEq reads telephone-event durations in the stream's 48 kHz units. The
 * durations Meta requires next to Opus are in 8 kHz units (docs/whatsapp-calling.md#sdp-rules) — which is what watrunk
 * sends — so NetEq plays each event only in fragments (1/6 of its length per update). The control
 * case with telephone-event/48000 renders cleanly, which shows the events themselves arrive.
 * Sending RFC 4733 from this peer needs RTCRtpSender.dtmf, which @roamhq/wrtc 0.10 does not expose.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtpengineMedia } from '../../src/adapters/rtpengine/index.js';
import { BIC_OFFER_TO_WHATSAPP_MASKED } from '../support/media/masked-bic-offer.js';
import { realMediaSkipReason, startMediaFixture, wrtcFactory, type MediaFixture } from '../support/media/media-fixture.js';
import { RtpEndpoint } from '../support/media/rtp-endpoint.js';
import { waitFor, sleep } from '../support/media/wait.js';
import type { WrtcMediaFactory, WrtcUserMedia } from '../../src/simulator/media/wrtc-peer.js';
import type { MediaSession } from '../../src/calls/ports/media-engine.js';

const skip = await realMediaSkipReason();

describe.skipIf(skip !== undefined)(`DTMF with a WebRTC peer${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let fx: MediaFixture;
  let factory: WrtcMediaFactory;
  /** Control: the masked flag set (BIC_OFFER_TO_WHATSAPP_MASKED) without SDP fix-ups, i.e. telephone-event/48000 toward the peer. */
  let te48k: RtpengineMedia;

  beforeAll(async () => {
    fx = await startMediaFixture();
    factory = await wrtcFactory();
    te48k = new RtpengineMedia({
      engines: [{ host: fx.rtpengine.host, port: fx.rtpengine.ngPort }], timeoutMs: 3_000,
      flagSets: { bicOfferToWhatsApp: BIC_OFFER_TO_WHATSAPP_MASKED }, sdpFixupsTowardWhatsApp: false,
    });
  });
  afterAll(async () => {
    await te48k?.shutdown();
    await fx?.stop();
  });

  async function connect(direction: 'bic' | 'uic', media: RtpengineMedia = fx.media): Promise<{ pbx: RtpEndpoint; peer: WrtcUserMedia; session: MediaSession }> {
    const pbx = await RtpEndpoint.create();
    const session = media.createSession(`dtmf-rtc-${direction}-${Date.now()}`);
    const peer = factory.create({ toneHz: 440, listenHz: [1000] });
    peer.startTalking();
    if (direction === 'bic') {
      const offer = await session.offerToWhatsApp(pbx.offer(['PCMU', 'PCMA']));
      pbx.applyAnswer(await session.answerFromWhatsApp(await peer.answer(offer)));
    } else {
      const pbxOffer = await session.offerToPbx(await peer.createOffer());
      await peer.applyAnswer(await session.answerFromPbx(pbx.answer(pbxOffer, ['PCMU'])));
    }
    pbx.startTone(1000);
    await waitFor('WebRTC peer connected', () => peer.connectionState === 'connected', { timeoutMs: 10_000, intervalMs: 5 });
    await waitFor('audio at the peer', async () => {
      await peer.refreshStats();
      const mark = peer.audioMark();
      return peer.report().receivedPackets > 10 && mark > 0 && peer.rmsSince(mark - 4800) > 1000;
    }, { timeoutMs: 5_000, intervalMs: 50 });
    await sleep(300);
    return { pbx, peer, session };
  }

  it('business-initiated: RFC 4733 (telephone-event/8000) from the PBX reaches the peer', async () => {
    const { pbx, peer, session } = await connect('bic');
    try {
      // NetEq plays 8 kHz-unit events in 1/6 fragments (see the header): 600 ms digits leave ~100 ms
      // of tone per digit, which detection finds even on a loaded machine (200 ms left ~33 ms and
      // CI once heard nothing).
      await pbx.sendDigits('1#5', { durationMs: 600, gapMs: 200 });
      await sleep(800);
      const r = peer.report();
      console.info(`[dtmf-webrtc bic] PBX sent "1#5" as RFC 4733, telephone-event/8000 toward the peer; peer heard "${r.dtmfReceived}" (NetEq fragments, see header)`);
      expect(r.dtmfReceived.startsWith('1')).toBe(true);
      expect(r.dtmfReceived).toMatch(/^[1#5]+$/);
    } finally {
      await peer.close();
      await session.close();
      await pbx.close();
    }
  });

  it('control: the same events as telephone-event/48000 are heard cleanly', async () => {
    const { pbx, peer, session } = await connect('bic', te48k);
    try {
      await pbx.sendDigits('1#5', { durationMs: 200, gapMs: 150 });
      await sleep(500);
      const r = peer.report();
      console.info(`[dtmf-webrtc bic control] telephone-event/48000 toward the peer; peer heard "${r.dtmfReceived}"; packets ${r.receivedPackets}, sink frames ${r.sinkFrames}, dominant ${r.dominantFrequencyHz}`);
      // A digit held 200 ms may be detected twice in a row when the machine is loaded: collapse repeats.
      expect(r.dtmfReceived.replace(/(.)\1+/g, '$1')).toBe('1#5');
    } finally {
      await peer.close();
      await session.close();
      await pbx.close();
    }
  });

  it('user-initiated: PBX digits reach the peer (rtpengine renders them in-band in the Opus stream)', async () => {
    const { pbx, peer, session } = await connect('uic');
    try {
      await pbx.sendDigits('2*', { durationMs: 200, gapMs: 150 });
      await sleep(400);
      const r = peer.report();
      console.info(`[dtmf-webrtc uic] PBX sent "2*" as RFC 4733; peer heard "${r.dtmfReceived}"`);
      expect(r.dtmfReceived).toBe('2*');
    } finally {
      await peer.close();
      await session.close();
      await pbx.close();
    }
  });

  it('user → business RFC 4733 from the peer (needs RTCRtpSender.dtmf)', async (ctx) => {
    const { pbx, peer, session } = await connect('uic');
    try {
      if (!peer.canSendDtmf) {
        await expect(peer.sendDtmf('9')).rejects.toThrow(/RTCRtpSender\.dtmf/);
        ctx.skip('@roamhq/wrtc 0.10 has no RTCRtpSender.dtmf; covered with a plain-RTP WhatsApp leg in dtmf-codec.test.ts');
        return;
      }
      await peer.sendDtmf('9');
      await sleep(300);
      expect(pbx.dtmfReceived()).toBe('9');
    } finally {
      await peer.close();
      await session.close();
      await pbx.close();
    }
  });
});
