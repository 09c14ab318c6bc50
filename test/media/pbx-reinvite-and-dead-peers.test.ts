/**
 * What a real PBX does mid-call, through the real call logic, a real rtpengine and a libwebrtc
 * WhatsApp user: hold and resume (a=inactive, a=sendonly with music on hold, c=0.0.0.0), a
 * re-INVITE that moves the media to another address and codec (a transfer), a PBX behind NAT
 * whose packets come from another port than its SDP says, and a PBX or WhatsApp user that vanishes
 * without a BYE. WhatsApp cannot renegotiate, so all of it must be absorbed on the PBX side.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeUdpPort } from '../support/media/free-port.js';
import { realMediaSkipReason } from '../support/media/media-fixture.js';
import { fillFixture } from '../support/media/pbx-sdp-fixtures.js';
import { hearsBothWays, placeBic, placeUic, startShapeStack, type ShapeStack } from '../support/media/pbx-shape-calls.js';
import { RtpEndpoint } from '../support/media/rtp-endpoint.js';
import { FakePbxUasLeg } from '../support/fakes/fake-pbx-uas-leg.js';
import type { BusinessInitiatedCall } from '../../src/calls/business-initiated-call.js';
import { sleep, waitFor } from '../support/media/wait.js';
import { inviteFrom } from '../support/fakes/fake-pbx-invite.js';

const skip = await realMediaSkipReason();
const direction = (sdp: string) => /^a=(sendrecv|sendonly|recvonly|inactive)\r?$/m.exec(sdp)?.[1];
/** The PBX's next SDP version (RFC 3264 §8: o= version grows with every change). */
const next = (sdp: string, version: number) => sdp.replace(/^(o=\S+ \S+ )\d+/m, `$1${version}`);

describe.skipIf(skip !== undefined)(`mid-call re-INVITEs and NAT, real rtpengine and WebRTC user${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let s: ShapeStack;
  beforeAll(async () => { s = await startShapeStack(); });
  afterAll(async () => { await s?.stop(); });

  it('PBX -> WhatsApp: hold with a=inactive, then resume: the call stays up and audio is back at once', async () => {
    const { pbx, leg, call, wa } = await placeBic(s, 'asterisk-pjsip');
    try {
      const held = await leg.reoffer(next(leg.sdp, 2).replace('a=sendrecv', 'a=inactive'));
      expect(direction(held)).toBe('inactive'); // RFC 3264 §6.1: inactive is answered inactive
      pbx.pause();
      await sleep(1_000);
      expect(call.state).toBe('answered');
      const resumed = await leg.reoffer(next(leg.sdp, 3));
      expect(direction(resumed)).toBe('sendrecv');
      pbx.resumeSending();
      const heard = await hearsBothWays(pbx, wa, { settleMs: 300 });
      expect(heard.atUser).toBeGreaterThan(0.8);
      expect(heard.atPbx).toBeGreaterThan(0.8);
    } finally {
      leg.bye();
      await call.whenEnded();
      await pbx.close();
    }
  });

  it('PBX -> WhatsApp: hold with a=sendonly plays music on hold to the user; c=0.0.0.0 hold and resume too', async () => {
    const { pbx, leg, call, wa } = await placeBic(s, 'freeswitch-g722');
    try {
      expect(direction(await leg.reoffer(next(leg.sdp, 2).replace('a=sendrecv', 'a=sendonly')))).toBe('recvonly');
      const moh = await hearsBothWays(pbx, wa, { settleMs: 300 });
      expect(moh.atUser).toBeGreaterThan(0.8); // the PBX's "music" still reaches the held user
      await leg.reoffer(next(leg.sdp, 3).replace(/c=IN IP4 127\.0\.0\.1/g, 'c=IN IP4 0.0.0.0'));
      pbx.pause();
      await sleep(500);
      await leg.reoffer(next(leg.sdp, 4));
      pbx.resumeSending();
      const back = await hearsBothWays(pbx, wa, { settleMs: 300 });
      expect(back.atUser).toBeGreaterThan(0.8);
      expect(back.atPbx).toBeGreaterThan(0.8);
    } finally {
      leg.bye();
      await call.whenEnded();
      await pbx.close();
    }
  });

  it('PBX -> WhatsApp: hold and resume that re-offer only the agreed codecs (as FreeSWITCH and baresip do) never reach rtpengine; tones both ways after resume', async () => {
    const { pbx, leg, call, wa } = await placeBic(s, 'freeswitch-g722');
    try {
      const ok = leg.responses.find((r) => r.status === 200 && r.sdp)!.sdp!;
      const agreed = /^m=audio \d+ RTP\/AVP ([\d ]+)\r?$/m.exec(ok)![1]!.trim().split(' ');
      // The PBX's own SDP with only the payload types of the 200's answer (RFC 3264 §8.3.2).
      const narrowed = (version: number, dir: string) => next(leg.sdp, version)
        .replace(/^(m=audio \d+ RTP\/AVP) [\d ]+$/m, `$1 ${agreed.join(' ')}`)
        .split('\r\n').filter((l) => !/^a=(rtpmap|fmtp):(\d+) /.test(l) || agreed.includes(/^a=\w+:(\d+)/.exec(l)![1]!)).join('\r\n')
        .replace('a=sendrecv', `a=${dir}`);
      expect(agreed.length).toBeLessThan(4); // the 200 agreed on fewer codecs than offered
      const held = await leg.reoffer(narrowed(2, 'inactive'));
      expect(direction(held)).toBe('inactive');
      expect(/^m=audio .*$/m.exec(held)![0]).toBe(/^m=audio .*$/m.exec(ok)![0]);
      pbx.pause();
      await sleep(500);
      expect(direction(await leg.reoffer(narrowed(3, 'sendrecv')))).toBe('sendrecv');
      pbx.resumeSending();
      const heard = await hearsBothWays(pbx, wa, { settleMs: 300 });
      expect(heard.atUser).toBeGreaterThan(0.8);
      expect(heard.atPbx).toBeGreaterThan(0.8);
      // rtpengine saw the first offer only: both re-offers were answered on the PBX leg.
      const offers = s.fx.rtpengine.logs().match(new RegExp(`\\[${call.id}\\]: \\[control\\] Received command 'offer'`, 'g'));
      expect(offers).toHaveLength(1);
    } finally {
      leg.bye();
      await call.whenEnded();
      await pbx.close();
    }
  });

  it('PBX -> WhatsApp: a re-INVITE moves the media to another address and codec (transfer); both ways follow it', async () => {
    const { pbx, leg, call, wa } = await placeBic(s, 'asterisk-pjsip');
    const pbx2 = await RtpEndpoint.create();
    try {
      const moved = pbx2.useLocalSdp(next(fillFixture('3cx', { address: pbx2.address, port: pbx2.port, session: 4242 }), 2));
      const answer = await leg.reoffer(moved);
      pbx2.applyAnswer(answer);
      pbx2.startTone(700);
      await pbx.close();
      expect(pbx2.sendCodec).toBe('PCMA');
      // rtpengine restarts its transcoder on a new codec; libwebrtc conceals ~1.5 s after that.
      const heard = await hearsBothWays(pbx2, wa, { settleMs: 2_500, pbxHz: 700 });
      expect(heard.atUser).toBeGreaterThan(0.8);
      expect(heard.atPbx).toBeGreaterThan(0.8);
    } finally {
      leg.bye();
      await call.whenEnded();
      await pbx2.close();
    }
  });

  it('WhatsApp -> PBX: a re-INVITE from the PBX with a new address and codec; both ways follow it', async () => {
    const { pbx, leg, callId, wa } = await placeUic(s, 'asterisk-pjsip', '447700900161');
    const pbx2 = await RtpEndpoint.create();
    try {
      const moved = pbx2.useLocalSdp(next(fillFixture('rtcp-mux-pcma-only', { address: pbx2.address, port: pbx2.port, session: 4242 }), 2));
      pbx2.applyAnswer(await leg.reoffer(moved));
      pbx2.startTone(700);
      await pbx.close();
      const heard = await hearsBothWays(pbx2, wa, { settleMs: 2_500, pbxHz: 700 });
      expect(heard.atUser).toBeGreaterThan(0.8);
      expect(heard.atPbx).toBeGreaterThan(0.8);
    } finally {
      leg.bye();
      await waitFor('terminate', () => s.stack.sim.getCall(callId)?.state === 'ended', { timeoutMs: 5_000 });
      await pbx2.close();
    }
  });

  it('a PBX behind NAT: its SDP names a port nothing listens on, its packets come from another; rtpengine latches', async () => {
    const announcePort = await freeUdpPort();
    const pbx = await RtpEndpoint.create({ announcePort });
    const sdp = pbx.useLocalSdp(fillFixture('yealink', { address: pbx.address, port: pbx.sdpPort }));
    expect(sdp).toContain(`m=audio ${announcePort} `);
    const leg = new FakePbxUasLeg({ to: '+447700900123', sdp });
    const before = s.peers.length;
    const call = (await s.stack.bridge.pbxCalls!.handleInvite(inviteFrom(leg, s.stack.trunk))) as BusinessInitiatedCall;
    try {
      pbx.applyAnswer((await waitFor('183', () => leg.responses.find((r) => r.status === 183 && r.sdp), { timeoutMs: 10_000 })).sdp!);
      pbx.startTone(1000);
      await waitFor('200', () => leg.answered, { timeoutMs: 10_000 });
      const heard = await hearsBothWays(pbx, s.peers[before]!);
      expect(heard.atUser).toBeGreaterThan(0.8);
      expect(heard.atPbx).toBeGreaterThan(0.8); // sent to where the packets came from, not to the SDP's port
    } finally {
      leg.bye();
      await call.whenEnded();
      await pbx.close();
    }
  });
});

describe.skipIf(skip !== undefined)(`peers that vanish without a BYE${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let s: ShapeStack;
  beforeAll(async () => { s = await startShapeStack({ pbx_media_timeout_s: 2, whatsapp_media_timeout_s: 2, media_check_interval_s: 1 }); });
  afterAll(async () => { await s?.stop(); });

  it('PBX -> WhatsApp: the PBX dies mid-call: terminate on WhatsApp within the timeout, BYE with Q.850 102, nothing left', async () => {
    const { pbx, leg, call } = await placeBic(s, 'ssrc-announcing');
    await sleep(1_000);
    expect(call.state).toBe('answered'); // talking: not taken for dead
    const diedAt = Date.now();
    await pbx.close();
    await waitFor('call ended', () => call.state === 'ended', { timeoutMs: 6_000, intervalMs: 50 });
    const tookMs = Date.now() - diedAt;
    expect(tookMs).toBeLessThan(2_000 + 1_000 + 1_500);
    // The terminate is sent by the call ender after the call object has ended: wait for it to arrive.
    await waitFor('terminate on WhatsApp', () => s.stack.sim.getCall(call.whatsappCallId!)?.state === 'ended', { timeoutMs: 3_000, intervalMs: 50 });
    expect(s.stack.sim.getCall(call.whatsappCallId!)!.actions.map((a) => a.action)).toEqual(['connect', 'terminate']);
    expect(leg.byes[0]!['Reason']).toMatch(/^Q\.850;cause=102;text="no media from the PBX"/);
    await waitFor('media released', () => s.fx.media.openSessions().length === 0, { timeoutMs: 2_000 });
    console.info(`[dead-peer] PBX gone -> WhatsApp terminate after ${tookMs} ms (timeout 2 s, checks every 1 s)`);
  });

  it('PBX -> WhatsApp: a held PBX (a=inactive) that sends nothing is not taken for dead', async () => {
    const { pbx, leg, call } = await placeBic(s, 'asterisk-pjsip');
    try {
      await leg.reoffer(next(leg.sdp, 2).replace('a=sendrecv', 'a=inactive'));
      pbx.pause();
      await sleep(4_000);
      expect(call.state).toBe('answered');
    } finally {
      leg.bye();
      await call.whenEnded();
      await pbx.close();
    }
  });

  it('WhatsApp -> PBX: the WhatsApp side goes silent: BYE to the PBX with Q.850 102 and terminate', async () => {
    const { pbx, leg, callId, wa } = await placeUic(s, 'asterisk-pjsip', '447700900171');
    await sleep(1_000);
    await wa.peer.close();
    await waitFor('BYE to the PBX', () => leg.byes.length === 1, { timeoutMs: 6_000, intervalMs: 50 });
    expect(leg.byes[0]!['Reason']).toMatch(/^Q\.850;cause=102;text="no media from WhatsApp"/);
    await waitFor('terminate on WhatsApp', () => s.stack.sim.getCall(callId)?.state === 'ended', { timeoutMs: 3_000, intervalMs: 50 });
    expect(s.stack.sim.getCall(callId)!.actions.map((a) => a.action)).toEqual(['accept', 'terminate']);
    await pbx.close();
  });
});
