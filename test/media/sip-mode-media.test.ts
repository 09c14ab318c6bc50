/**
 * SIP-mode media (docs/media.md#sdes) through two real rtpengines: a plain-RTP PBX ⇄ watrunk's
 * RtpengineSession created with the number's WhatsApp media profile ⇄ the simulator's SIP-edge
 * relay (its own rtpengine, standing in for Meta's wa.meta.vc) ⇄ a libwebrtc WhatsApp user.
 * Both of Meta's SIP media flavours, both directions:
 *  - SDES (`srtp_key_exchange_protocol: SDES`): RTP/SAVP, one a=crypto, no ICE, no DTLS;
 *  - DTLS (the default): WebRTC media with Meta's edge ice-lite; watrunk is ICE-full, and the DTLS
 *    client whenever it answers.
 * What watrunk sends toward Meta must have Meta's shape (Opus 48000/2 + telephone-event/8000 only,
 * no announced stream identity); audio is checked by tone detection both ways, first with the
 * user silent (the business must send first and never wait for Meta's media), then both talking.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NgClient } from '../../src/adapters/rtpengine/ng-client.js';
import type { WrtcMediaFactory } from '../../src/simulator/media/wrtc-peer.js';
import { META_SIP_OPUS_FMTP, SipEdgeMediaError, SipEdgeMediaRelay } from '../../src/simulator/media/sip-edge-relay.js';
import { realMediaSkipReason, startMediaFixture, wrtcFactory, type MediaFixture } from '../support/media/media-fixture.js';
import { startRtpengine, type RtpengineInstance } from '../support/media/rtpengine-process.js';
import { RtpEndpoint } from '../support/media/rtp-endpoint.js';
import {
  announcedSsrcs, attrLines, codecsOf, describeEdgeCall, hearsThroughEdge, placeBicThroughEdge, placeUicThroughEdge, transportOf,
  type EdgeCall, type EdgeCallOptions, type EdgeDeps,
} from '../support/media/sip-edge-media.js';

const skip = await realMediaSkipReason();

const ICE_OR_DTLS = ['ice-ufrag', 'ice-pwd', 'ice-lite', 'ice-options', 'candidate', 'fingerprint', 'setup'];
const META_CODECS = ['opus/48000/2', 'telephone-event/8000'];

/** What every SDP watrunk sends toward Meta must be, whatever the profile (docs/whatsapp-calling.md#sdp-rules). */
function expectMetaCodecsAndIdentity(sdp: string): void {
  expect(codecsOf(sdp)).toEqual(META_CODECS);
  expect(announcedSsrcs(sdp).length).toBeLessThanOrEqual(1);
  expect(attrLines(sdp, 'msid', 'msid-semantic', 'ssrc-group')).toEqual([]);
}

/** SDES toward or from Meta: RTP/SAVP, exactly one a=crypto, nothing of ICE or DTLS. */
function expectSdesShape(sdp: string, { suite }: { suite?: string } = {}): void {
  expect(transportOf(sdp)).toBe('RTP/SAVP');
  const crypto = attrLines(sdp, 'crypto');
  expect(crypto).toHaveLength(1);
  expect(crypto[0]).toMatch(/^a=crypto:\d+ \S+ inline:[A-Za-z0-9+/]{40}/);
  if (suite) expect(crypto[0]).toContain(` ${suite} `);
  expect(attrLines(sdp, ...ICE_OR_DTLS)).toEqual([]);
}

/** DTLS toward or from Meta: WebRTC transport, fingerprint, ICE credentials and a candidate, rtcp-mux, no SDES. */
function expectDtlsShape(sdp: string, setup: string): void {
  expect(transportOf(sdp)).toBe('UDP/TLS/RTP/SAVPF');
  expect(sdp).toMatch(/^a=fingerprint:sha-256 [0-9A-F:]+\r?$/m);
  expect(attrLines(sdp, 'setup')).toEqual([`a=setup:${setup}`]);
  expect(sdp).toMatch(/^a=ice-ufrag:\S+\r?$/m);
  expect(sdp).toMatch(/^a=ice-pwd:\S+\r?$/m);
  expect(sdp).toMatch(/^a=candidate:/m);
  expect(sdp).toMatch(/^a=rtcp-mux\r?$/m);
  expect(attrLines(sdp, 'crypto')).toEqual([]);
}

/** What watrunk gives the PBX: plain RTP, nothing secure, the PBX's codec first. */
function expectPlainRtp(sdp: string, codec: string): void {
  expect(transportOf(sdp)).toBe('RTP/AVP');
  expect(codecsOf(sdp)[0]).toBe(codec);
  expect(attrLines(sdp, 'crypto', ...ICE_OR_DTLS)).toEqual([]);
}

const rtpmapName = { PCMU: 'pcmu/8000', PCMA: 'pcma/8000', G722: 'g722/8000', opus: 'opus/48000/2' } as const;

/**
 * Audio first with the user silent (libwebrtc sends no RTP until it talks): the PBX's tone must
 * reach the user, so nothing on the business side waits for Meta's media. Then both ways.
 */
async function expectAudioBothWays(deps: EdgeDeps, call: EdgeCall, label: string, settleMs = 600): Promise<void> {
  const explain = () => describeEdgeCall(deps, call);
  const businessFirst = await hearsThroughEdge(call, { settleMs, atPbx: false, describe: explain });
  call.user.startTalking();
  const both = await hearsThroughEdge(call, { settleMs: 400, describe: explain });
  await call.user.refreshStats();
  const counters = await call.session.counters();
  console.info(`[sip-mode ${label}] user connected in ${call.connectMs} ms; user silent: PBX tone at user ${businessFirst.atUser.toFixed(3)} `
    + `(${businessFirst.windows} window(s)); both talking: at user ${both.atUser.toFixed(3)}, at PBX ${both.atPbx.toFixed(3)} `
    + `(${both.windows} window(s)); watrunk counters ${JSON.stringify(counters)}`);
  expect(businessFirst.atUser).toBeGreaterThan(0.8);
  expect(both.atUser).toBeGreaterThan(0.8);
  expect(both.atPbx).toBeGreaterThan(0.8);
  expect(counters.fromWhatsApp).toBeGreaterThan(20);
  expect(counters.fromPbx).toBeGreaterThan(20);
}

describe.skipIf(skip !== undefined)(`SIP-mode media through a SIP-edge relay, SDES and DTLS${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let fx: MediaFixture;
  let edge: RtpengineInstance;
  let factory: WrtcMediaFactory;
  let client: NgClient;
  let deps: EdgeDeps;

  beforeAll(async () => {
    fx = await startMediaFixture();
    edge = await startRtpengine();
    factory = await wrtcFactory();
    client = new NgClient({ timeoutMs: 3_000, localAddress: '127.0.0.1' });
    deps = { media: fx.media, edge, client, factory };
  });
  // Every call frees its rtpengine session, whatever happened in it.
  afterEach(() => {
    expect(fx.media.openSessions()).toEqual([]);
  });
  afterAll(async () => {
    client?.close();
    await edge?.stop();
    await fx?.stop();
  });

  describe('SDES (RTP/SAVP + a=crypto, no ICE)', () => {
    const bicCases: [string, EdgeCallOptions][] = [
      ['PCMU PBX, Meta multiplexes RTCP', { profile: 'sdes', pbxCodec: 'PCMU' }],
      ['G.722 PBX, Meta keeps RTCP on its own port', { profile: 'sdes', pbxCodec: 'G722', sdesRtcpMux: false }],
    ];
    it.each(bicCases)('business-initiated, %s', async (label, o) => {
      const call = await placeBicThroughEdge(deps, o);
      try {
        const { towardMeta, fromMeta, towardPbx } = call.sdp;
        // Our offer: one suite, AES_CM_128_HMAC_SHA1_80; rtcp-mux offered with an RTCP port to fall back on.
        expectSdesShape(towardMeta, { suite: 'AES_CM_128_HMAC_SHA1_80' });
        expectMetaCodecsAndIdentity(towardMeta);
        expect(attrLines(towardMeta, 'rtcp-mux')).toEqual(['a=rtcp-mux']);
        expect(towardMeta).toMatch(/^a=rtcp:\d+\r?$/m);
        // Meta's answer, as the edge writes it: the same shape, with or without rtcp-mux.
        expectSdesShape(fromMeta, { suite: 'AES_CM_128_HMAC_SHA1_80' });
        expect(attrLines(fromMeta, 'rtcp-mux')).toHaveLength(o.sdesRtcpMux === false ? 0 : 1);
        expect(attrLines(fromMeta, 'fmtp').some((l) => l.endsWith(META_SIP_OPUS_FMTP))).toBe(true);
        expectPlainRtp(towardPbx, rtpmapName[o.pbxCodec]);
        await expectAudioBothWays(deps, call, `sdes bic ${o.pbxCodec}`);
      } finally {
        await call.close();
      }
    });

    const uicCases: [string, EdgeCallOptions][] = [
      ['PCMU PBX, Meta offers rtcp-mux', { profile: 'sdes', pbxCodec: 'PCMU' }],
      ['PCMA PBX, Meta offers no rtcp-mux', { profile: 'sdes', pbxCodec: 'PCMA', sdesRtcpMux: false }],
    ];
    it.each(uicCases)('user-initiated, %s', async (label, o) => {
      const call = await placeUicThroughEdge(deps, o);
      try {
        const { towardMeta, fromMeta, towardPbx } = call.sdp;
        // Meta's offer as the edge writes it: RTP/SAVP 111 126, one crypto.
        expectSdesShape(fromMeta, { suite: 'AES_CM_128_HMAC_SHA1_80' });
        expect(fromMeta).toMatch(/^m=audio \d+ RTP\/SAVP 111 126\r?$/m);
        // Our answer: the suite Meta offered with a key of our own, telephone-event/8000 restored,
        // rtcp-mux exactly when Meta offered it.
        expectSdesShape(towardMeta, { suite: 'AES_CM_128_HMAC_SHA1_80' });
        expect(towardMeta).toMatch(/^m=audio \d+ RTP\/SAVP 111 126\r?$/m);
        expect(attrLines(towardMeta, 'crypto')[0]).not.toBe(attrLines(fromMeta, 'crypto')[0]);
        expectMetaCodecsAndIdentity(towardMeta);
        expect(attrLines(towardMeta, 'rtcp-mux')).toHaveLength(o.sdesRtcpMux === false ? 0 : 1);
        expectPlainRtp(towardPbx, 'pcmu/8000');
        expect(codecsOf(towardPbx)).toEqual(['pcmu/8000', 'pcma/8000', 'telephone-event/8000']);
        await expectAudioBothWays(deps, call, `sdes uic ${o.pbxCodec}`);
      } finally {
        await call.close();
      }
    });

    it.each(['user-initiated', 'business-initiated'] as const)('%s: a PBX re-INVITE to a new address and codec keeps the SRTP keys toward Meta', async (direction) => {
      const place = direction === 'user-initiated' ? placeUicThroughEdge : placeBicThroughEdge;
      const call = await place(deps, { profile: 'sdes', pbxCodec: 'PCMU' });
      const pbx2 = await RtpEndpoint.create();
      try {
        call.user.startTalking();
        pbx2.applyAnswer(await call.session.reofferFromPbx(pbx2.offer(['PCMA'])));
        pbx2.startTone(1000);
        await call.pbx.close();
        // rtpengine restarts its transcoder on a new codec; libwebrtc conceals ~1.5 s after that (docs/media.md#re-invites-from-the-pbx).
        const heard = await hearsThroughEdge({ pbx: pbx2, user: call.user }, { settleMs: 2_500, describe: () => describeEdgeCall(deps, call) });
        console.info(`[sip-mode sdes ${direction} re-offer] at user ${heard.atUser.toFixed(3)}, at PBX ${heard.atPbx.toFixed(3)} (${heard.windows} window(s))`);
        expect(pbx2.sendCodec).toBe('PCMA');
        expect(heard.atUser).toBeGreaterThan(0.8);
        expect(heard.atPbx).toBeGreaterThan(0.8);
      } finally {
        await call.close();
        await pbx2.close();
      }
    });
  });

  describe('DTLS (WebRTC media, Meta ice-lite)', () => {
    const bicCases: [string, EdgeCallOptions][] = [
      ['PCMU PBX, Meta answers a=setup:active', { profile: 'dtls', pbxCodec: 'PCMU' }],
      ['PCMA PBX, Meta answers a=setup:passive', { profile: 'dtls', pbxCodec: 'PCMA', dtlsAnswerSetup: 'passive' }],
    ];
    it.each(bicCases)('business-initiated, %s', async (label, o) => {
      const call = await placeBicThroughEdge(deps, o);
      try {
        const { towardMeta, fromMeta, towardPbx } = call.sdp;
        expectDtlsShape(towardMeta, 'actpass');
        expect(attrLines(towardMeta, 'ice-lite')).toEqual([]); // we are ICE-full
        expectMetaCodecsAndIdentity(towardMeta);
        expectDtlsShape(fromMeta, o.dtlsAnswerSetup ?? 'active');
        expect(attrLines(fromMeta, 'ice-lite')).toEqual(['a=ice-lite']);
        expectPlainRtp(towardPbx, rtpmapName[o.pbxCodec]);
        await expectAudioBothWays(deps, call, `dtls bic ${o.pbxCodec} setup:${o.dtlsAnswerSetup ?? 'active'}`);
      } finally {
        await call.close();
      }
    });

    const uicCases: [string, EdgeCallOptions][] = [
      ['PCMU PBX', { profile: 'dtls', pbxCodec: 'PCMU' }],
      ['PCMA PBX', { profile: 'dtls', pbxCodec: 'PCMA' }],
    ];
    it.each(uicCases)('user-initiated, %s', async (label, o) => {
      const call = await placeUicThroughEdge(deps, o);
      try {
        const { towardMeta, fromMeta, towardPbx } = call.sdp;
        expectDtlsShape(fromMeta, 'actpass');
        expect(attrLines(fromMeta, 'ice-lite')).toEqual(['a=ice-lite']);
        expect(fromMeta).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 111 126\r?$/m);
        // Our answer: DTLS client (a=setup:active), ICE-full, telephone-event/8000 restored.
        expectDtlsShape(towardMeta, 'active');
        expect(attrLines(towardMeta, 'ice-lite')).toEqual([]);
        expect(towardMeta).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 111 126\r?$/m);
        expectMetaCodecsAndIdentity(towardMeta);
        expectPlainRtp(towardPbx, 'pcmu/8000');
        await expectAudioBothWays(deps, call, `dtls uic ${o.pbxCodec}`);
      } finally {
        await call.close();
      }
    });
  });

  it('the edge refuses a business SDP that does not match the number\'s media (Meta answers such an INVITE with 488)', async () => {
    const pbx = await RtpEndpoint.create();
    const session = fx.media.createSession(`wt-mismatch-${Date.now()}`, { whatsappMedia: 'webrtc' });
    const relay = new SipEdgeMediaRelay({ client, engine: { host: edge.host, port: edge.ngPort }, callId: `edge-mismatch-${Date.now()}`, profile: 'sdes' });
    try {
      const webrtcOffer = await session.offerToWhatsApp(pbx.offer(['PCMU']));
      await expect(relay.offerFromBusiness(webrtcOffer)).rejects.toBeInstanceOf(SipEdgeMediaError);
    } finally {
      await relay.close();
      await relay.close(); // idempotent
      await session.close();
      await pbx.close();
    }
  });
});
