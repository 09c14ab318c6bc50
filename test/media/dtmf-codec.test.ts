/**
 * RFC 4733 DTMF through rtpengine with the production codec options, the WhatsApp leg replaced by
 * plain RTP (test/support/media/plain-whatsapp-leg.ts) so every event packet can be inspected.
 * The "WhatsApp" endpoint sends Opus (silence frames) and telephone-event/8000 the way libwebrtc
 * and Meta do: event timestamps on the 48 kHz Opus timeline, durations in 8 kHz units (docs/whatsapp-calling.md#sdp-rules).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtpengineMedia } from '../../src/adapters/rtpengine/index.js';
import { BIC_OFFER_TO_WHATSAPP_MASKED } from '../support/media/masked-bic-offer.js';
import { rtpengineSkipReason, startRtpengine, type RtpengineInstance } from '../support/media/rtpengine-process.js';
import { plainWhatsAppLegFlagSets } from '../support/media/plain-whatsapp-leg.js';
import { RtpEndpoint, type ReceivedDtmfEvent } from '../support/media/rtp-endpoint.js';
import { detectDtmfDigits } from '../support/media/tone.js';
import { sleep } from '../support/media/wait.js';
import { audioPayloads } from '../../src/adapters/rtpengine/sdp-codecs.js';

const skip = rtpengineSkipReason();

interface Outcome {
  toWhatsApp: ReceivedDtmfEvent[];
  toPbx: ReceivedDtmfEvent[];
  pbxInBand: string;
  sdpTowardWhatsApp: string;
}

/** PBX sends "12" (200 ms each), then WhatsApp sends "34" (500 ms each, like the WhatsApp keypad). */
async function exchangeDigits(media: RtpengineMedia, direction: 'bic' | 'uic', pbxTelephoneEvent = true): Promise<Outcome> {
  const pbx = await RtpEndpoint.create();
  const wa = await RtpEndpoint.create();
  const session = media.createSession(`dtmf-${direction}-${Date.now()}-${Math.random().toString(36).slice(2, 6)}`);
  try {
    let sdpTowardWhatsApp: string;
    if (direction === 'bic') {
      sdpTowardWhatsApp = await session.offerToWhatsApp(pbx.offer(['PCMU', 'PCMA'], pbxTelephoneEvent ? 101 : null));
      pbx.applyAnswer(await session.answerFromWhatsApp(wa.answer(sdpTowardWhatsApp, ['opus'])));
    } else {
      const pbxOffer = await session.offerToPbx(wa.offer(['opus'], 126));
      sdpTowardWhatsApp = await session.answerFromPbx(pbx.answer(pbxOffer, ['PCMU']));
      wa.applyAnswer(sdpTowardWhatsApp);
    }
    pbx.startTone(1000);
    wa.startSilence();
    await sleep(400);
    if (pbxTelephoneEvent) await pbx.sendDigits('12', { durationMs: 200, gapMs: 100 });
    await sleep(200);
    await wa.sendDigits('34', { durationMs: 500, gapMs: 100 });
    await sleep(400);
    return {
      toWhatsApp: wa.dtmfEvents, toPbx: pbx.dtmfEvents, pbxInBand: detectDtmfDigits(pbx.recorder.since(0), 8000), sdpTowardWhatsApp,
    };
  } finally {
    await session.close();
    await pbx.close();
    await wa.close();
  }
}

const summary = (evs: ReceivedDtmfEvent[]): string => evs.map((e) => `${e.digit}@pt${e.payloadType}/${e.clockRate} dur=${e.duration}`
  + ` ${e.ssrc === e.lastAudio?.ssrc ? 'same-ssrc' : 'OTHER-SSRC'} ts-audio=${e.lastAudio ? ((e.timestamp - e.lastAudio.timestamp) | 0) : '?'}`).join(', ') || 'none';

describe.skipIf(skip !== undefined)(`RFC 4733 DTMF through rtpengine, WhatsApp leg as plain RTP${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let rtpengine: RtpengineInstance;
  let media: RtpengineMedia;
  let masked: RtpengineMedia;

  beforeAll(async () => {
    rtpengine = await startRtpengine();
    const engines = [{ host: rtpengine.host, port: rtpengine.ngPort }];
    media = new RtpengineMedia({ engines, timeoutMs: 3_000, flagSets: plainWhatsAppLegFlagSets() });
    const flags = plainWhatsAppLegFlagSets();
    masked = new RtpengineMedia({
      engines, timeoutMs: 3_000,
      flagSets: { ...flags, bicOfferToWhatsApp: { ...BIC_OFFER_TO_WHATSAPP_MASKED, ICE: 'remove', DTLS: 'off', 'transport-protocol': 'RTP/AVP' } },
      sdpFixupsTowardWhatsApp: false,
    });
  });
  afterAll(async () => {
    await media?.shutdown();
    await masked?.shutdown();
    await rtpengine?.stop();
  });

  it('business-initiated: telephone-event/8000 toward WhatsApp, events correct in both directions', async () => {
    const o = await exchangeDigits(media, 'bic');
    console.info(`[dtmf bic] to WhatsApp: ${summary(o.toWhatsApp)} | to PBX: ${summary(o.toPbx)}`);
    expect(audioPayloads(o.sdpTowardWhatsApp).map((p) => `${p.codec}/${p.rate}`)).toEqual(['opus/48000', 'telephone-event/8000']);
    // PBX → WhatsApp: 200 ms = 1600 units at 8 kHz; same SSRC as the Opus stream; event
    // timestamp on the Opus (48 kHz) timeline, i.e. within a few 960-sample frames of the audio.
    expect(o.toWhatsApp.map((e) => e.digit).join('')).toBe('12');
    for (const e of o.toWhatsApp) {
      expect(e).toMatchObject({ clockRate: 8000, duration: 1600, endSeen: true });
      expect(e.ssrc).toBe(e.lastAudio?.ssrc);
      expect(Math.abs((e.timestamp - (e.lastAudio?.timestamp ?? 0)) | 0)).toBeLessThanOrEqual(3 * 960);
    }
    // WhatsApp → PBX: 500 ms = 4000 units; same SSRC as PCMU; on the PCMU timeline.
    expect(o.toPbx.map((e) => e.digit).join('')).toBe('34');
    for (const e of o.toPbx) {
      expect(e).toMatchObject({ clockRate: 8000, duration: 4000, endSeen: true });
      expect(e.ssrc).toBe(e.lastAudio?.ssrc);
      expect(Math.abs((e.timestamp - (e.lastAudio?.timestamp ?? 0)) | 0)).toBeLessThanOrEqual(3 * 160);
    }
  });

  it('business-initiated, PBX without telephone-event: WhatsApp digits reach the PBX as in-band tones', async () => {
    const o = await exchangeDigits(media, 'bic', false);
    console.info(`[dtmf bic, PBX without RFC 4733] sdp toward WhatsApp ${audioPayloads(o.sdpTowardWhatsApp).map((p) => `${p.pt} ${p.codec}/${p.rate}`).join(', ')}; `
      + `to PBX events: ${summary(o.toPbx)}; in-band at PBX: "${o.pbxInBand}"`);
    expect(audioPayloads(o.sdpTowardWhatsApp).map((p) => `${p.codec}/${p.rate}`)).toEqual(['opus/48000', 'telephone-event/8000']);
    expect(o.toPbx).toEqual([]);
    expect(o.pbxInBand).toBe('34');
  });

  it('user-initiated: WhatsApp digits reach the PBX as RFC 4733; PBX digits do not reach WhatsApp as events', async () => {
    const o = await exchangeDigits(media, 'uic');
    console.info(`[dtmf uic] to WhatsApp: ${summary(o.toWhatsApp)} | to PBX: ${summary(o.toPbx)}`);
    expect(o.sdpTowardWhatsApp).toMatch(/^a=rtpmap:126 telephone-event\/8000\r?$/m); // restored in the SDP text
    expect(o.toPbx.map((e) => e.digit).join('')).toBe('34');
    for (const e of o.toPbx) {
      expect(e).toMatchObject({ payloadType: 126, clockRate: 8000, duration: 4000, endSeen: true });
      expect(e.ssrc).toBe(e.lastAudio?.ssrc);
      // Not asserted: the event timestamp is WhatsApp's, not moved onto the PCMU timeline (logged above).
    }
    // rtpengine 10.5 renders the PBX's events as in-band DTMF in the Opus stream instead
    // (see dtmf-webrtc.test.ts, where the WebRTC peer hears them). If this starts failing,
    // rtpengine forwards RFC 4733 toward WhatsApp now: update flag-sets.ts and the docs.
    expect(o.toWhatsApp).toEqual([]);
  });

  it('(why the BIC set is unmasked) mask all + relabelling 48000→8000 scales RFC 4733 durations by 6', async () => {
    const relabel = (sdp: string): string => sdp.replace(/^(a=rtpmap:\d+ telephone-event\/)48000/m, '$18000');
    const pbx = await RtpEndpoint.create();
    const wa = await RtpEndpoint.create();
    const session = masked.createSession(`dtmf-masked-${Date.now()}`);
    try {
      const offer = await session.offerToWhatsApp(pbx.offer(['PCMU', 'PCMA']));
      expect(offer).toMatch(/telephone-event\/48000/); // docs/media.md#telephone-event: the only rate rtpengine offers here
      const answer = wa.answer(relabel(offer), ['opus']);
      // Give rtpengine the rate it offered, or it drops telephone-event from the PBX answer.
      pbx.applyAnswer(await session.answerFromWhatsApp(answer.replace(/(telephone-event\/)8000/, '$148000')));
      pbx.startTone(1000);
      wa.startSilence();
      await sleep(400);
      await pbx.sendDigits('1', { durationMs: 200 });
      await wa.sendDigits('3', { durationMs: 500 });
      await sleep(300);
      console.info(`[dtmf masked+relabel] to WhatsApp: ${summary(wa.dtmfEvents)} | to PBX: ${summary(pbx.dtmfEvents)}`);
      expect(wa.dtmfEvents[0]).toMatchObject({ digit: '1', duration: 9600 }); // 200 ms sent as 1.2 s at 8 kHz
      expect(pbx.dtmfEvents[0]).toMatchObject({ digit: '3', duration: 667 }); // 500 ms arrives as 83 ms
    } finally {
      await session.close();
      await pbx.close();
      await wa.close();
    }
  });
});
