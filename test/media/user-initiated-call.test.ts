/**
 * Issue: WhatsApp -> PBX with real media and no drachtio. The simulator's WebRTC user calls the
 * business as Meta would (signed connect webhook with an offer); the real call logic, a real
 * rtpengine, and a plain-RTP endpoint behind a fake SIP dialer as the PBX. Proves tones both
 * ways and that nothing reached the WhatsApp user before `accept`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WrtcMediaFactory } from '../../src/simulator/media/wrtc-peer.js';
import { startBridgeStack, type BridgeStack } from '../support/bridge-stack.js';
import { FakePbxDialer } from '../support/fakes/fake-pbx-dialer.js';
import { fractionSince, realMediaSkipReason, startMediaFixture, wrtcFactory, type MediaFixture } from '../support/media/media-fixture.js';
import { RtpEndpoint } from '../support/media/rtp-endpoint.js';
import { sleep, waitFor } from '../support/media/wait.js';

const skip = await realMediaSkipReason();

describe.skipIf(skip !== undefined)(`WhatsApp -> PBX, real rtpengine and WebRTC caller${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let fx: MediaFixture;
  let factory: WrtcMediaFactory;
  let stack: BridgeStack;
  const dialer = new FakePbxDialer();

  beforeAll(async () => {
    fx = await startMediaFixture();
    factory = await wrtcFactory();
    stack = await startBridgeStack({
      media: fx.media, simMedia: factory, dialer,
      inbound: { target: 'sip:{to}@127.0.0.1:5080' },
      users: [{ match: '4477009*', behaviour: 'answer', name: 'Ann' }],
      timing: { accept_window_ms: 30_000 },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await fx?.stop();
  });

  const simCall = (id: string) => stack.sim.getCall(id)!;

  it('early media is held back until accept; then tones both ways; the user hangs up and the PBX gets BYE', async () => {
    const { callId } = await stack.sim.startUserCall({ from: '447700900123', name: 'Ann' });
    const leg = await waitFor('INVITE to the PBX', () => dialer.legs.find((l) => l.req.headers['X-WA-Call-Id'] === callId), { timeoutMs: 10_000 });
    expect(leg.req).toMatchObject({ callingNumber: '+447700900123', callingName: 'Ann', headers: { 'X-WA-Call': 'true', 'X-WA-Business-Number': '15551112222' } });
    expect(leg.req.uri).toBe('sip:15551112222@127.0.0.1:5080');
    expect(leg.req.sdp).toMatch(/^m=audio \d+ RTP\/AVP /m);
    expect(leg.req.sdp).not.toMatch(/^a=(fingerprint|ice-ufrag|crypto)/m);

    const pbx = await RtpEndpoint.create();
    const answer = pbx.answer(leg.req.sdp, ['PCMU']);
    pbx.startTone(1000); // "ringback" while ringing, then the agent's voice
    leg.ring(answer);
    await waitFor('pre_accept', () => simCall(callId).actions.some((a) => a.action === 'pre_accept'), { timeoutMs: 10_000 });
    await sleep(1_500);
    // Meta counts the first media packet as the answer (docs/whatsapp-calling.md#first-media-is-the-answer): nothing may arrive yet.
    expect(simCall(callId).media?.receivedPackets ?? 0).toBe(0);
    expect(simCall(callId).media?.firstPacketAt).toBeUndefined();

    leg.answer(answer);
    await waitFor('accepted', () => simCall(callId).acceptedAt, { timeoutMs: 10_000 });
    const mark = pbx.recorder.position;
    await sleep(2_000);
    const view = simCall(callId);
    expect(view.media!.firstPacketBeforeAccept).toBe(false);
    expect(view.media!.tones.find((t) => t.frequencyHz === 1000)!.fraction).toBeGreaterThan(0.8);
    expect(fractionSince(pbx.recorder, mark, 440, 100)).toBeGreaterThan(0.9);
    expect(view.actions.map((a) => a.action)).toEqual(['pre_accept', 'accept']);

    const res = await fetch(`${stack.simUrl}/_sim/calls/${encodeURIComponent(callId)}/hangup`, { method: 'POST' });
    expect(res.status).toBeLessThan(300);
    await waitFor('BYE to the PBX', () => leg.byes.length === 1, { timeoutMs: 5_000 });
    await waitFor('no call left', () => stack.bridge.registry.size === 0, { timeoutMs: 5_000 });
    expect(fx.media.openSessions()).toEqual([]);
    await pbx.close();
  });

  it('the PBX answers Busy: WhatsApp gets reject within the window', async () => {
    const { callId } = await stack.sim.startUserCall({ from: '447700900124' });
    const leg = await waitFor('INVITE to the PBX', () => dialer.legs.find((l) => l.req.headers['X-WA-Call-Id'] === callId), { timeoutMs: 10_000 });
    leg.fail(486);
    await waitFor('ended', () => simCall(callId).state === 'ended', { timeoutMs: 5_000 });
    expect(simCall(callId).actions.map((a) => a.action)).toEqual(['reject']);
    // The rtpengine session is deleted just after the reject reaches WhatsApp, not before it.
    await waitFor('rtpengine session deleted', () => fx.media.openSessions().length === 0, { timeoutMs: 5_000 });
  });

  it('the PBX hangs up: terminate on WhatsApp', async () => {
    const { callId } = await stack.sim.startUserCall({ from: '447700900125' });
    const leg = await waitFor('INVITE to the PBX', () => dialer.legs.find((l) => l.req.headers['X-WA-Call-Id'] === callId), { timeoutMs: 10_000 });
    const pbx = await RtpEndpoint.create();
    leg.answer(pbx.answer(leg.req.sdp, ['PCMU']));
    await waitFor('accepted', () => simCall(callId).acceptedAt, { timeoutMs: 10_000 });
    leg.bye();
    await waitFor('ended', () => simCall(callId).state === 'ended', { timeoutMs: 5_000 });
    expect(simCall(callId).actions.map((a) => a.action)).toEqual(['accept', 'terminate']);
    await pbx.close();
  });
});
