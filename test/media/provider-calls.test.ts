/**
 * Real media over every provider: the tests of business-initiated-call.test.ts and
 * user-initiated-call.test.ts (real rtpengine, the simulator's real WebRTC user, a plain-RTP
 * endpoint as the PBX) with the number carried by 360dialog, CAMS and Concepto Móvil: the simulator
 * speaks the provider's dialect and the bridge uses the provider's adapter. Audio is proven both
 * ways by tone detection, and nothing may reach the WhatsApp user before `accept`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusinessInitiatedCall } from '../../src/calls/business-initiated-call.js';
import type { ProviderName } from '../../src/config/provider-capabilities.js';
import type { WrtcMediaFactory } from '../../src/simulator/media/wrtc-peer.js';
import { startBridgeStack, type BridgeStack } from '../support/bridge-stack.js';
import { FakePbxDialer } from '../support/fakes/fake-pbx-dialer.js';
import { inviteFrom } from '../support/fakes/fake-pbx-invite.js';
import { FakePbxUasLeg } from '../support/fakes/fake-pbx-uas-leg.js';
import { fractionSince, realMediaSkipReason, startMediaFixture, wrtcFactory, type MediaFixture } from '../support/media/media-fixture.js';
import { RtpEndpoint } from '../support/media/rtp-endpoint.js';
import { sleep, waitFor } from '../support/media/wait.js';

const skip = await realMediaSkipReason();
const PROVIDERS: ProviderName[] = ['360dialog', 'cams', 'conceptomovil'];

describe.skipIf(skip !== undefined).each(PROVIDERS)(`provider %s, real rtpengine and WebRTC user${skip ? ` (skipped: ${skip})` : ''}`, (provider) => {
  let fx: MediaFixture;
  let factory: WrtcMediaFactory;
  let stack: BridgeStack;
  const dialer = new FakePbxDialer();

  beforeAll(async () => {
    fx = await startMediaFixture();
    factory = await wrtcFactory();
    stack = await startBridgeStack({
      provider, media: fx.media, simMedia: factory, dialer,
      inbound: { target: 'sip:{to}@127.0.0.1:5080' },
      users: [{ match: '4477009*', behaviour: 'answer', answer_after_ms: 300, permission: 'temporary' }],
      timing: { accept_window_ms: 30_000 },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await fx?.stop();
  });

  const simCall = (id: string) => stack.sim.getCall(id)!;
  const heard = (id: string, hz: number) => stack.sim.getCall(id)?.media?.tones.find((t) => t.frequencyHz === hz)?.fraction ?? 0;

  it('PBX -> WhatsApp: 183 then 200, tones both ways, the PBX hangs up and nothing is left', async () => {
    const pbx = await RtpEndpoint.create();
    const leg = new FakePbxUasLeg({ to: '+447700900123', sdp: pbx.offer(['PCMU']) });
    const call = (await stack.bridge.pbxCalls!.handleInvite(inviteFrom(leg, stack.trunk))) as BusinessInitiatedCall;
    await waitFor('183 with SDP', () => leg.responses.some((r) => r.status === 183 && r.sdp), { timeoutMs: 10_000, intervalMs: 10 });
    pbx.applyAnswer(leg.responses.find((r) => r.status === 183)!.sdp!);
    pbx.startTone(1000);
    await waitFor('200 OK to the PBX', () => leg.answered, { timeoutMs: 10_000, intervalMs: 10 });
    expect(leg.statuses.slice(0, 2)).toEqual([183, 200]);
    const waCallId = call.whatsappCallId!;
    const mark = pbx.recorder.position;
    await sleep(2_000);
    // WhatsApp user -> PBX: the simulated user's 440 Hz, decoded from PCMU.
    expect(fractionSince(pbx.recorder, mark, 440, 200)).toBeGreaterThan(0.9);
    // PBX -> WhatsApp user: what the simulator's WebRTC peer heard.
    await waitFor(`the WhatsApp user hears the PBX's 1000 Hz (now ${heard(waCallId, 1000).toFixed(2)})`, () => heard(waCallId, 1000) > 0.8, { timeoutMs: 6_000, intervalMs: 100 });
    leg.bye();
    await call.whenEnded();
    await waitFor('WhatsApp call ended', () => simCall(waCallId).state === 'ended', { timeoutMs: 5_000 });
    expect(simCall(waCallId).actions.map((a) => a.action)).toEqual(['connect', 'terminate']);
    expect(fx.media.openSessions()).toEqual([]);
    expect(stack.bridge.registry.size).toBe(0);
    await pbx.close();
  });

  it('WhatsApp -> PBX: early media held back until accept, then tones both ways; the user hangs up, BYE to the PBX', async () => {
    const { callId } = await stack.sim.startUserCall({ from: '447700900150' });
    const leg = await waitFor('INVITE to the PBX', () => dialer.legs.find((l) => l.req.headers['X-WA-Call-Id'] === callId), { timeoutMs: 10_000 });
    expect(leg.req.uri).toBe('sip:15551112222@127.0.0.1:5080');
    const pbx = await RtpEndpoint.create();
    const answer = pbx.answer(leg.req.sdp, ['PCMU']);
    pbx.startTone(1000);
    leg.ring(answer);
    await waitFor('pre_accept', () => simCall(callId).actions.some((a) => a.action === 'pre_accept'), { timeoutMs: 10_000 });
    await sleep(1_000);
    expect(simCall(callId).media?.receivedPackets ?? 0).toBe(0);
    leg.answer(answer);
    await waitFor('accepted', () => simCall(callId).acceptedAt, { timeoutMs: 10_000 });
    const mark = pbx.recorder.position;
    await sleep(2_000);
    expect(simCall(callId).media!.firstPacketBeforeAccept).toBe(false);
    expect(fractionSince(pbx.recorder, mark, 440, 100)).toBeGreaterThan(0.9);
    await waitFor(`the WhatsApp user hears the PBX's 1000 Hz (now ${heard(callId, 1000).toFixed(2)})`, () => heard(callId, 1000) > 0.8, { timeoutMs: 6_000, intervalMs: 100 });
    expect(simCall(callId).actions.map((a) => a.action)).toEqual(['pre_accept', 'accept']);
    const res = await fetch(`${stack.simUrl}/_sim/calls/${encodeURIComponent(callId)}/hangup`, { method: 'POST' });
    expect(res.status).toBeLessThan(300);
    await waitFor('BYE to the PBX', () => leg.byes.length === 1, { timeoutMs: 5_000 });
    await waitFor('no call left', () => stack.bridge.registry.size === 0, { timeoutMs: 5_000 });
    expect(fx.media.openSessions()).toEqual([]);
    await pbx.close();
  });
});
