/**
 * Calls through the real call logic, a real rtpengine and the simulator's libwebrtc user, with a
 * plain-RTP PBX endpoint that sends exactly the SDP of a fixture: the media tier's stand-in for a
 * real PBX. Business-initiated: the fixture is the PBX's INVITE offer. User-initiated: the PBX
 * answers watrunk's offer in the fixture's style.
 */
import type { BusinessInitiatedCall } from '../../../src/calls/business-initiated-call.js';
import { startBridgeStack, type BridgeStack } from '../bridge-stack.js';
import { FakePbxDialer, type FakePbxUacLeg } from '../fakes/fake-pbx-dialer.js';
import { FakePbxUasLeg } from '../fakes/fake-pbx-uas-leg.js';
import { fractionSince, startMediaFixture, wrtcFactory, type MediaFixture } from './media-fixture.js';
import { answerInStyleOf, fillFixture } from './pbx-sdp-fixtures.js';
import { inboundAudioStats, recordingSimMedia, type RecordedPeer } from './recording-sim-media.js';
import { RtpEndpoint } from './rtp-endpoint.js';
import { sleep, waitFor } from './wait.js';
import { inviteFrom } from '../fakes/fake-pbx-invite.js';

/** The simulated WhatsApp user plays this; the PBX endpoint plays PBX_TONE_HZ. */
export const USER_TONE_HZ = 440;
export const PBX_TONE_HZ = 1000;
/** The SSRC a fixture's a=ssrc announces and the PBX endpoint sends with. */
export const PBX_SSRC = 0x1234abcd;

export interface ShapeStack {
  fx: MediaFixture;
  stack: BridgeStack;
  dialer: FakePbxDialer;
  peers: RecordedPeer[];
  stop(): Promise<void>;
}

export async function startShapeStack(calls: Record<string, unknown> = {}): Promise<ShapeStack> {
  const fx = await startMediaFixture();
  const { media, peers } = recordingSimMedia(await wrtcFactory());
  const dialer = new FakePbxDialer();
  const stack = await startBridgeStack({
    media: fx.media, simMedia: media, dialer,
    inbound: { target: 'sip:{to}@127.0.0.1:5080' },
    users: [{ match: '4477009*', behaviour: 'answer', answer_after_ms: 200, permission: 'temporary' }],
    timing: { accept_window_ms: 30_000 },
    calls,
  });
  return {
    fx, stack, dialer, peers,
    async stop() {
      await stack.stop();
      await fx.stop();
    },
  };
}

export interface BicCall { pbx: RtpEndpoint; leg: FakePbxUasLeg; call: BusinessInitiatedCall; wa: RecordedPeer }

/** A PBX INVITE carrying fixture `name`, answered by the WhatsApp user; resolves after the 200 OK. */
export async function placeBic(s: ShapeStack, name: string, callee = '447700900123'): Promise<BicCall> {
  const pbx = await RtpEndpoint.create({ ssrc: PBX_SSRC });
  const sdp = pbx.useLocalSdp(fillFixture(name, { address: pbx.address, port: pbx.sdpPort, ssrc: pbx.ssrc }));
  const leg = new FakePbxUasLeg({ to: `+${callee}`, sdp });
  const before = s.peers.length;
  const call = (await s.stack.bridge.pbxCalls!.handleInvite(inviteFrom(leg, s.stack.trunk))) as BusinessInitiatedCall;
  const early = await waitFor('183 with SDP', () => leg.responses.find((r) => r.status === 183 && r.sdp), { timeoutMs: 10_000, intervalMs: 10 });
  pbx.applyAnswer(early.sdp!);
  pbx.startTone(PBX_TONE_HZ);
  await waitFor('200 OK to the PBX', () => leg.answered, { timeoutMs: 10_000, intervalMs: 10 });
  return { pbx, leg, call, wa: s.peers[before]! };
}

export interface UicCall { pbx: RtpEndpoint; leg: FakePbxUacLeg; callId: string; wa: RecordedPeer; answer: string }

/** A WhatsApp user's call; the PBX answers in the style of fixture `name`; resolves once accepted. */
export async function placeUic(s: ShapeStack, name: string, from = '447700900150'): Promise<UicCall> {
  const before = s.peers.length;
  const { callId } = await s.stack.sim.startUserCall({ from });
  const leg = await waitFor('INVITE to the PBX', () => s.dialer.legs.find((l) => l.req.headers['X-WA-Call-Id'] === callId), { timeoutMs: 10_000 });
  const pbx = await RtpEndpoint.create({ ssrc: PBX_SSRC });
  const answer = answerInStyleOf(name, leg.req.sdp, { address: pbx.address, port: pbx.sdpPort, ssrc: pbx.ssrc });
  pbx.answerWithSdp(leg.req.sdp, answer);
  pbx.startTone(PBX_TONE_HZ);
  leg.answer(answer);
  await waitFor('accepted', () => s.stack.sim.getCall(callId)?.acceptedAt, { timeoutMs: 10_000 });
  return { pbx, leg, callId, wa: s.peers[before]!, answer };
}

/**
 * Tone fractions over a window of `ms` after `settleMs`: the PBX's tone at the user, the user's at
 * the PBX. Audio can start late on a loaded machine (a DTLS retransmission costs a second), so
 * windows are measured one after another until both directions pass 0.8 or `timeoutMs` is over;
 * the last window's fractions are returned for the caller to assert.
 */
export async function hearsBothWays(pbx: RtpEndpoint, wa: RecordedPeer, { settleMs = 600, ms = 1_500, pbxHz = PBX_TONE_HZ, timeoutMs = 8_000 } = {}) {
  await sleep(settleMs);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const waMark = wa.peer.audioMark();
    const pbxMark = pbx.recorder.position;
    await sleep(ms);
    const heard = { atUser: wa.peer.toneFractionSince(waMark, pbxHz), atPbx: fractionSince(pbx.recorder, pbxMark, USER_TONE_HZ) };
    if (heard.atUser > 0.8 && heard.atPbx > 0.8) return heard;
    // A failed window says what the user's receiver saw, so a rare silence in CI can be diagnosed.
    // Packets arriving with a level but without the tone mean something else is decoded (a codec or
    // payload-type mix-up, a transcoder restart), not a transport failure: say what was heard.
    console.log(`[hears-both-ways] window failed ${JSON.stringify(heard)}; user heard rms ${wa.peer.rmsSince(waMark).toFixed(0)}, dominant ${wa.peer.report().dominantFrequencyHz ?? '-'} Hz, sink rates ${wa.peer.report().sinkRates.join('/')}; user receiver ${JSON.stringify(await inboundAudioStats(wa))}`);
    if (Date.now() + ms > deadline) return heard;
  }
}

/** Stream-identity lines (a=ssrc, a=msid...) in an SDP: none may reach a libwebrtc receiver from another party. */
export function streamIdentityLines(sdp: string | undefined): string[] {
  return (sdp ?? '').split(/\r?\n/).filter((l) => /^a=(ssrc|ssrc-group|msid|msid-semantic)[:\s]/.test(l));
}
