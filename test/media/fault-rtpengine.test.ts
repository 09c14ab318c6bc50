/**
 * rtpengine failing under live calls, with a real rtpengine (killed with SIGKILL and started again
 * on the same ng port, as a supervisor would), the real call logic and a libwebrtc WhatsApp user.
 * Answered calls must end on both sides within the dead-peer bounds (docs/sip.md#dead-peers), the
 * restarted engine must be left with no session, and new calls must work again. While rtpengine is
 * down, an INVITE gets 503 with Retry-After and a WhatsApp user's call is rejected at once (README
 * "WhatsApp users calling the business").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtpengineMedia } from '../../src/adapters/rtpengine/index.js';
import { startBridgeStack } from '../support/bridge-stack.js';
import { FakePbxDialer } from '../support/fakes/fake-pbx-dialer.js';
import { inviteFrom } from '../support/fakes/fake-pbx-invite.js';
import { FakePbxUasLeg } from '../support/fakes/fake-pbx-uas-leg.js';
import { startRestartableRtpengine, type RestartableRtpengine } from '../support/faults/rtpengine-restartable.js';
import { realMediaSkipReason, wrtcFactory } from '../support/media/media-fixture.js';
import { hearsBothWays, placeBic, placeUic, type ShapeStack } from '../support/media/pbx-shape-calls.js';
import { recordingSimMedia } from '../support/media/recording-sim-media.js';
import { waitFor } from '../support/media/wait.js';

const skip = await realMediaSkipReason();
if (skip) console.warn(`\n${'!'.repeat(78)}\n!!  SKIPPING rtpengine fault tests: ${skip}\n${'!'.repeat(78)}\n`);

/** Dead-peer watch (docs/sip.md#dead-peers): small, so a lost engine shows within seconds. */
const MEDIA_TIMEOUT_S = 2;
const CHECK_INTERVAL_S = 1;
/** ng commands time out after this (rtpengine.timeout_ms). */
const NG_TIMEOUT_MS = 1_000;
/** From the kill to both sides ended: a failed counter read, the media timeout, a check, slack. */
const END_BOUND_MS = NG_TIMEOUT_MS + MEDIA_TIMEOUT_S * 1000 + 2 * CHECK_INTERVAL_S * 1000 + 2_000;

describe.skipIf(skip !== undefined)(`rtpengine killed and restarted under live calls${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let engine: RestartableRtpengine;
  let media: RtpengineMedia;
  let s: ShapeStack;

  beforeAll(async () => {
    engine = await startRestartableRtpengine();
    media = new RtpengineMedia({ engines: [{ host: engine.host, port: engine.ngPort }], timeoutMs: NG_TIMEOUT_MS });
    await waitFor('rtpengine ping', () => media.ping(), { timeoutMs: 5_000, intervalMs: 100 });
    const { media: simMedia, peers } = recordingSimMedia(await wrtcFactory());
    const dialer = new FakePbxDialer();
    const stack = await startBridgeStack({
      media, simMedia, dialer,
      inbound: { target: 'sip:{to}@127.0.0.1:5080' },
      users: [{ match: '4477009*', behaviour: 'answer', answer_after_ms: 200, permission: 'temporary' }],
      timing: { accept_window_ms: 30_000 },
      calls: { pbx_media_timeout_s: MEDIA_TIMEOUT_S, whatsapp_media_timeout_s: MEDIA_TIMEOUT_S, media_check_interval_s: CHECK_INTERVAL_S },
    });
    s = { fx: { rtpengine: engine, media, stop: async () => undefined }, stack, dialer, peers, stop: () => stack.stop() };
  });

  afterAll(async () => {
    await s?.stop();
    await media?.shutdown();
    await engine?.stop();
  });

  async function nothingOpen(waCallIds: string[], rtpCallIds: string[]): Promise<void> {
    await waitFor('no call left in watrunk', () => s.stack.bridge.registry.size === 0, { timeoutMs: 3_000 });
    await waitFor('no media session left', () => media.openSessions().length === 0, { timeoutMs: 3_000 });
    for (const id of waCallIds) await waitFor(`WhatsApp call ${id} ended`, () => s.stack.sim.getCall(id)?.state === 'ended', { timeoutMs: 3_000 });
    if (engine.running) for (const id of rtpCallIds) expect(await engine.queryCall(id)).toBe('unknown');
  }

  it('SIGKILL mid-call, restarted at once: both calls end on both sides within the bound; new calls work', async () => {
    const bic = await placeBic(s, 'asterisk-pjsip', '447700900123');
    const uic = await placeUic(s, 'asterisk-pjsip', '447700900150');
    const uicRtpId = s.stack.bridge.registry.byWhatsAppCallId(uic.callId)!.id;
    expect(await engine.queryCall(bic.call.id)).toBe('known');
    const killedAt = Date.now();
    await engine.kill('SIGKILL');
    await engine.restart();

    await waitFor('BYE to both PBX legs', () => bic.leg.byes.length === 1 && uic.leg.byes.length === 1, { timeoutMs: END_BOUND_MS, intervalMs: 50 });
    const tookMs = Date.now() - killedAt;
    // The engine that came back relays nothing for these calls: a media loss, Q.850 102 (docs/sip.md#dead-peers).
    expect(bic.leg.byes[0]!['Reason']).toMatch(/^Q\.850;cause=102;/);
    expect(uic.leg.byes[0]!['Reason']).toMatch(/^Q\.850;cause=102;/);
    const bicWa = bic.call.whatsappCallId!;
    await waitFor('terminate on WhatsApp', () => [bicWa, uic.callId].every((id) => s.stack.sim.getCall(id)?.state === 'ended'), { timeoutMs: 3_000 });
    expect(s.stack.sim.getCall(bicWa)!.actions.map((a) => a.action)).toEqual(['connect', 'terminate']);
    expect(s.stack.sim.getCall(uic.callId)!.actions.map((a) => a.action)).toEqual(['accept', 'terminate']);
    await nothingOpen([bicWa, uic.callId], [bic.call.id, uicRtpId]);
    console.info(`[rtpengine SIGKILL] both calls ended ${tookMs} ms after the kill (bound ${END_BOUND_MS} ms)`);
    await bic.pbx.close();
    await uic.pbx.close();

    // The restarted engine takes new calls, with audio both ways.
    const again = await placeBic(s, 'freeswitch-g722', '447700900124');
    const heard = await hearsBothWays(again.pbx, again.wa);
    expect(heard.atUser).toBeGreaterThan(0.8);
    expect(heard.atPbx).toBeGreaterThan(0.8);
    again.leg.bye();
    await again.call.whenEnded();
    await again.pbx.close();
    await nothingOpen([again.call.whatsappCallId!], [again.call.id]);
  });

  // While the engine does not answer at all every counter read fails; once they have failed for the
  // longer media timeout the watch declares the engine lost (media_engine_lost, docs/sip.md#dead-peers).
  it('SIGKILL mid-call, not restarted: the call still ends on both sides within the bound', async () => {
    const bic = await placeBic(s, 'asterisk-pjsip', '447700900126');
    await engine.kill('SIGKILL');
    try {
      await waitFor('BYE to the PBX', () => bic.leg.byes.length === 1, { timeoutMs: END_BOUND_MS + NG_TIMEOUT_MS, intervalMs: 50 });
      await waitFor('terminate on WhatsApp', () => s.stack.sim.getCall(bic.call.whatsappCallId!)?.state === 'ended', { timeoutMs: 3_000 });
      await nothingOpen([bic.call.whatsappCallId!], []);
    } finally {
      await bic.pbx.close();
      await engine.restart();
    }
  });

  it('rtpengine down: an INVITE gets 503 with Retry-After, a WhatsApp user\'s call is rejected at once; after the restart both work', async () => {
    await engine.kill('SIGKILL');
    try {
      const leg = new FakePbxUasLeg({ to: '+447700900125' });
      await s.stack.bridge.pbxCalls!.handleInvite(inviteFrom(leg, s.stack.trunk));
      await waitFor('final response', () => leg.final, { timeoutMs: 5_000 });
      expect(leg.final!.status).toBe(503);
      expect(Number(leg.final!.headers['Retry-After'])).toBeGreaterThan(0);
      expect(leg.final!.headers['Warning']).toMatch(/media engine/);
      expect(s.stack.sim.listCalls().filter((c) => c.user.number === '447700900125')).toEqual([]); // nobody rung

      const legsBefore = s.dialer.legs.length;
      const started = Date.now();
      const { callId } = await s.stack.sim.startUserCall({ from: '447700900151' });
      await waitFor('rejected on WhatsApp', () => s.stack.sim.getCall(callId)?.state === 'ended', { timeoutMs: 5_000 });
      // "At once": within the one ping that finds the engine gone, not after the accept window.
      expect(Date.now() - started).toBeLessThan(NG_TIMEOUT_MS + 1_500);
      expect(s.stack.sim.getCall(callId)!.actions.map((a) => `${a.action}:${a.result}`)).toEqual(['reject:ok']);
      expect(s.dialer.legs.length).toBe(legsBefore); // the PBX never rang
      await nothingOpen([callId], []);
    } finally {
      await engine.restart();
    }
    await waitFor('rtpengine answers again', () => media.ping(), { timeoutMs: 5_000, intervalMs: 100 });
    const uic = await placeUic(s, 'yealink', '447700900152');
    uic.leg.bye();
    await waitFor('terminate', () => s.stack.sim.getCall(uic.callId)?.state === 'ended', { timeoutMs: 5_000 });
    await uic.pbx.close();
    await nothingOpen([uic.callId], []);
  });
});
