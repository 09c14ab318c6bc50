/**
 * Issue: PBX -> WhatsApp with real media and no drachtio. The real call logic (PbxCallIntake,
 * BusinessInitiatedCall), a real rtpengine, the simulator with its real WebRTC user answering over signed
 * webhooks, and a plain-RTP endpoint standing in for the PBX's media behind a fake SIP leg.
 * Audio is proven both ways by tone detection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusinessInitiatedCall } from '../../src/calls/business-initiated-call.js';
import { NgClient } from '../../src/adapters/rtpengine/ng-client.js';
import type { WrtcMediaFactory } from '../../src/simulator/media/wrtc-peer.js';
import { startBridgeStack, type BridgeStack } from '../support/bridge-stack.js';
import { FakePbxUasLeg } from '../support/fakes/fake-pbx-uas-leg.js';
import { fractionSince, realMediaSkipReason, startMediaFixture, wrtcFactory, type MediaFixture } from '../support/media/media-fixture.js';
import { RtpEndpoint } from '../support/media/rtp-endpoint.js';
import { sleep, waitFor } from '../support/media/wait.js';
import { inviteFrom } from '../support/fakes/fake-pbx-invite.js';

const skip = await realMediaSkipReason();

describe.skipIf(skip !== undefined)(`PBX -> WhatsApp, real rtpengine and WebRTC user${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let fx: MediaFixture;
  let factory: WrtcMediaFactory;
  let stack: BridgeStack;

  beforeAll(async () => {
    fx = await startMediaFixture();
    factory = await wrtcFactory();
    stack = await startBridgeStack({
      media: fx.media,
      simMedia: factory,
      users: [
        { match: '447700900200', behaviour: 'reject', ring_ms: 100, answer_after_ms: 1_500, permission: 'temporary' },
        { match: '4477009*', behaviour: 'answer', answer_after_ms: 300, permission: 'temporary' },
      ],
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await fx?.stop();
  });

  async function placeCall(callee: string) {
    const pbx = await RtpEndpoint.create();
    const leg = new FakePbxUasLeg({ to: `+${callee}`, sdp: pbx.offer(['PCMU']) });
    const call = (await stack.bridge.pbxCalls!.handleInvite(inviteFrom(leg, stack.trunk))) as BusinessInitiatedCall;
    expect(call).toBeDefined();
    // Early media: the 183 carries rtpengine's SDP for the PBX.
    await waitFor('183 with SDP', () => leg.responses.some((r) => r.status === 183 && r.sdp), { timeoutMs: 10_000, intervalMs: 10 });
    pbx.applyAnswer(leg.responses.find((r) => r.status === 183)!.sdp!);
    pbx.startTone(1000);
    await waitFor('200 OK to the PBX', () => leg.answered, { timeoutMs: 10_000, intervalMs: 10 });
    const simCall = stack.sim.getCall(call.whatsappCallId!)!;
    expect(simCall).toBeDefined();
    return { pbx, leg, call };
  }

  it('audio flows both ways, then the PBX hangs up and nothing is left behind', async () => {
    const { pbx, leg, call } = await placeCall('447700900123');
    expect(leg.statuses.slice(0, 2)).toEqual([183, 200]);
    const mark = pbx.recorder.position;
    await sleep(2_000);

    // WhatsApp user -> PBX: the simulated user's 440 Hz, decoded from PCMU.
    expect(fractionSince(pbx.recorder, mark, 440, 200)).toBeGreaterThan(0.9);
    // PBX -> WhatsApp user: what the simulator's WebRTC peer heard over the whole call so far. On a
    // loaded machine its decoder can start late, so wait (bounded) for the tone to dominate.
    const tone = () => stack.sim.getCall(call.whatsappCallId!)?.media?.tones.find((t) => t.frequencyHz === 1000)?.fraction ?? 0;
    await waitFor(`the WhatsApp user hears the PBX's 1000 Hz (now ${tone().toFixed(2)})`, () => tone() > 0.8, { timeoutMs: 6_000, intervalMs: 100 });
    expect(stack.sim.getCall(call.whatsappCallId!)!.media!.receivedPackets).toBeGreaterThan(50);

    leg.bye();
    await call.whenEnded();
    await waitFor('simulator call ended', () => stack.sim.getCall(call.whatsappCallId!)?.state === 'ended', { timeoutMs: 5000 });
    expect(stack.sim.getCall(call.whatsappCallId!)!.actions.map((a) => a.action)).toEqual(['connect', 'terminate']);
    expect(fx.media.openSessions()).toEqual([]);
    expect(stack.bridge.registry.size).toBe(0);
    const ng = new NgClient({ timeoutMs: 2000, localAddress: '127.0.0.1' });
    const q = await ng.send({ host: fx.rtpengine.host, port: fx.rtpengine.ngPort }, 'query', { 'call-id': call.id }).catch((e: Error) => e);
    ng.close();
    expect(String((q as Error).message ?? q)).toMatch(/Unknown call/i);
    await pbx.close();
  });

  it('the WhatsApp user hangs up: BYE to the PBX with Reason and duration', async () => {
    const { pbx, leg, call } = await placeCall('447700900124');
    await sleep(2_300); // Meta counts whole seconds from ACCEPTED
    const res = await fetch(`${stack.simUrl}/_sim/calls/${encodeURIComponent(call.whatsappCallId!)}/hangup`, { method: 'POST' });
    expect(res.status).toBeLessThan(300);
    await waitFor('BYE to the PBX', () => leg.byes.length === 1, { timeoutMs: 5000 });
    expect(leg.byes[0]!['Reason']).toMatch(/^Q\.850;cause=16/);
    expect(Number(leg.byes[0]!['X-WA-Call-Duration'])).toBeGreaterThanOrEqual(1);
    await call.whenEnded();
    expect(fx.media.openSessions()).toEqual([]);
    await pbx.close();
  });

  it('a user who lets it ring and then declines: 183 then 603, never 200, although media was set up', async () => {
    const pbx = await RtpEndpoint.create();
    const leg = new FakePbxUasLeg({ to: '+447700900200', sdp: pbx.offer(['PCMU']) });
    const call = (await stack.bridge.pbxCalls!.handleInvite(inviteFrom(leg, stack.trunk))) as BusinessInitiatedCall;
    await waitFor('183 with SDP', () => leg.responses.some((r) => r.status === 183 && r.sdp), { timeoutMs: 10_000, intervalMs: 10 });
    pbx.applyAnswer(leg.responses.find((r) => r.status === 183)!.sdp!);
    pbx.startTone(1000);
    await call.whenEnded();
    expect(leg.answered).toBe(false);
    expect(leg.final?.status).toBe(603);
    expect(fx.media.openSessions()).toEqual([]);
    await pbx.close();
  });
});
