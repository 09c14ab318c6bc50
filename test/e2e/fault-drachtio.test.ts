/**
 * drachtio-server lost under live calls, with a real drachtio-server (killed with SIGKILL and
 * started again on the same ports, or its admin connection cut), rtpengine, SIPp as the PBX and the
 * simulator as WhatsApp (signalling only, so no RTP dead-peer watch can rescue a call: the SIP
 * side's own loss must end it). A WhatsApp call is billed while it is up, so whatever the PBX can
 * or cannot be told, the WhatsApp side must be terminated or rejected and nothing may stay open;
 * once drachtio is back, calls work again (docs/sip.md#drachtio-server, README "Listeners and logs").
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { UserInitiatedCall } from '../../src/calls/user-initiated-call.js';
import { describeIfDrachtio } from '../support/drachtio-server.js';
import { startRestartableDrachtio, type RestartableDrachtio } from '../support/faults/drachtio-restartable.js';
import { startFaultStack, type FaultStack } from '../support/faults/fault-stack.js';
import { TcpCutter } from '../support/faults/tcp-cutter.js';
import { startMediaFixture, type MediaFixture } from '../support/media/media-fixture.js';
import { rtpengineSkipReason } from '../support/media/rtpengine-process.js';
import { waitFor } from '../support/media/wait.js';
import { freeUdpPort, freeUdpTcpPort } from '../support/ports.js';
import { writeUacScenario, type UacOutcome } from '../support/sipp-scenarios.js';
import { writeUasScenario, type UasBehaviour } from '../support/sipp-uas-scenarios.js';
import { runSippClient, sippAvailable, startSippServer, type SippResult, type SippServer } from '../support/sipp.js';

const skip = rtpengineSkipReason() ?? (sippAvailable() ? undefined : "'sipp' not found (apt-get install sip-tester)");
if (skip) console.warn(`\n${'!'.repeat(78)}\n!!  SKIPPING drachtio fault e2e: ${skip}\n${'!'.repeat(78)}\n`);

/** From the loss of drachtio to the WhatsApp side ended. */
const END_BOUND_MS = 5_000;

describeIfDrachtio(describe, 'e2e drachtio-server lost under live calls', () => {
  describe.skipIf(skip !== undefined)('with SIPp as the PBX, rtpengine and the simulator', () => {
    let drachtio: RestartableDrachtio;
    let cutter: TcpCutter;
    let fx: MediaFixture;
    let s: FaultStack;
    let pbxPort: number;
    let uas: SippServer | undefined;

    beforeAll(async () => {
      drachtio = await startRestartableDrachtio();
      cutter = new TcpCutter({ host: drachtio.host, port: drachtio.adminPort });
      await cutter.listen();
      fx = await startMediaFixture();
      pbxPort = await freeUdpTcpPort();
    });

    // A bridge per test: its reconnect back-off grows with every drop of a connection that was not
    // yet stable (README "Listeners and logs"), which the next test should not inherit.
    beforeEach(async () => {
      if (!drachtio.running) await drachtio.restart();
      s = await startFaultStack({
        media: fx.media,
        drachtio: { host: '127.0.0.1', port: cutter.port, secret: drachtio.secret },
        number: { inbound: { target: `sip:{to}@127.0.0.1:${pbxPort}`, ring_timeout_s: 20 } },
        calls: { no_answer_timeout_s: 30 },
        sim: {
          default_user: { behaviour: 'answer', ring_ms: 50, answer_after_ms: 200, permission: 'temporary' },
          users: [{ match: '447700900300', behaviour: 'no_answer', permission: 'temporary' }],
          timing: { accept_window_ms: 30_000, ring_timeout_ms: 30_000 },
        },
      });
      await connected();
    });

    afterEach(async () => {
      await uas?.stop();
      uas = undefined;
      await s?.stop();
    });

    afterAll(async () => {
      await fx?.stop();
      await cutter?.close();
      await drachtio?.stop();
    });

    function connected(): Promise<unknown> {
      return waitFor('bridge connected to drachtio', () => s.bridge.drachtio?.connected, { timeoutMs: 15_000, intervalMs: 50 });
    }

    function explain(r: SippResult): string {
      return [`SIPp: ${r.command}`, `exit ${r.code} timedOut ${r.timedOut}`, r.errors, r.stderr, r.stdout.slice(-1500), drachtio.logs().slice(-3000)].join('\n');
    }

    /** Starts a SIPp call from the PBX; `done` resolves when SIPp exits. */
    async function pbxCalls(callee: string, outcome: UacOutcome, timeoutMs = 20_000): Promise<{ done: Promise<SippResult> }> {
      const { file } = writeUacScenario(outcome);
      const rtpPort = await freeUdpPort();
      return {
        done: runSippClient({
          scenario: file, target: `127.0.0.1:${drachtio.sipPort}`, service: `+${callee}`, timeoutMs, extraArgs: ['-key', 'rtp_port', String(rtpPort)],
        }),
      };
    }

    async function pbxAnswers(behaviour: UasBehaviour): Promise<SippServer> {
      const { file } = writeUasScenario(behaviour);
      uas = await startSippServer({ scenario: file, localPort: pbxPort, calls: 1, timeoutMs: 40_000, extraArgs: ['-key', 'rtp_port', String(await freeUdpPort())] });
      return uas;
    }

    const simCall = (pred: (c: ReturnType<FaultStack['sim']['listCalls']>[number]) => boolean) => s.sim.listCalls().find(pred);

    async function nothingOpen(waCallId: string): Promise<void> {
      await waitFor('the WhatsApp call ended', () => s.sim.getCall(waCallId)?.state === 'ended', { timeoutMs: END_BOUND_MS, intervalMs: 50 });
      await waitFor('no call left in watrunk', () => s.bridge.registry.size === 0, { timeoutMs: 3_000 });
      await waitFor('no rtpengine session left', () => fx.media.openSessions().length === 0, { timeoutMs: 3_000 });
    }

    /** A PBX call that ends normally: proof that calls work (again). */
    async function callWorks(callee: string): Promise<void> {
      const r = await (await pbxCalls(callee, { kind: 'answer-then-bye', holdMs: 500 })).done;
      expect(r.code, explain(r)).toBe(0);
      const call = simCall((c) => c.user.number === callee)!;
      await nothingOpen(call.id);
      expect(call.actions.map((a) => a.action)).toEqual(['connect', 'terminate']);
    }

    it('SIGKILL with a PBX call answered: terminate on WhatsApp, nothing open; after the restart calls work', async () => {
      const answered = await s.metric('watrunk_calls_answered_total');
      const run = await pbxCalls('447700900123', { kind: 'answer-then-wait-bye', maxWaitMs: 8_000 });
      const call = await waitFor('answered', () => simCall((c) => c.user.number === '447700900123' && c.state === 'accepted'), { timeoutMs: 10_000 });
      await waitFor('200 OK sent to the PBX', async () => (await s.metric('watrunk_calls_answered_total')) > answered, { timeoutMs: 5_000 });
      await drachtio.kill('SIGKILL');
      await nothingOpen(call.id);
      expect(s.sim.getCall(call.id)!.endedBy).toBe('business');
      expect(s.sim.getCall(call.id)!.actions.map((a) => a.action)).toEqual(['connect', 'terminate']);
      // The PBX is told nothing: the SIP server that held its dialog is gone, so no BYE reaches it.
      expect((await run.done).code).not.toBe(0);
      await drachtio.restart();
      await connected();
      await callWorks('447700900124');
    });

    it('SIGKILL while a PBX call rings at WhatsApp: terminate on WhatsApp, nothing open', async () => {
      const run = await pbxCalls('447700900300', { kind: 'fail', status: 480 }, 10_000);
      const call = await waitFor('ringing at WhatsApp', () => simCall((c) => c.user.number === '447700900300' && c.state === 'ringing'), { timeoutMs: 10_000 });
      await drachtio.kill('SIGKILL');
      await nothingOpen(call.id);
      expect(s.sim.getCall(call.id)!.actions.map((a) => a.action)).toEqual(['connect', 'terminate']);
      await run.done;
    });

    it('SIGKILL while the PBX rings for a WhatsApp user: reject on WhatsApp, nothing open; after the restart user calls work', async () => {
      await pbxAnswers({ kind: 'ring-until-cancel', maxWaitMs: 15_000 });
      const { callId } = await s.sim.startUserCall({ from: '447700900150' });
      await waitFor('the PBX rings', () => (s.bridge.registry.byWhatsAppCallId(callId) as UserInitiatedCall | undefined)?.state === 'ringing', { timeoutMs: 5_000 });
      await drachtio.kill('SIGKILL');
      await nothingOpen(callId);
      expect(s.sim.getCall(callId)!.actions.map((a) => a.action)).toEqual(['reject']);
      await uas!.stop();
      await drachtio.restart();
      await connected();
      const pbx = await pbxAnswers({ kind: 'answer-then-bye', answerAfterMs: 200, holdMs: 500 });
      const { callId: again } = await s.sim.startUserCall({ from: '447700900151' });
      const r = await pbx.done;
      expect(r.code, explain(r)).toBe(0);
      await nothingOpen(again);
      expect(s.sim.getCall(again)!.actions.map((a) => a.action)).toEqual(['pre_accept', 'accept', 'terminate']);
    });

    it('drachtio down when a WhatsApp user calls: rejected at once, the PBX is never rung', async () => {
      await drachtio.kill('SIGKILL');
      await waitFor('watrunk saw the loss', () => s.bridge.drachtio?.connected === false, { timeoutMs: 3_000 });
      const started = Date.now();
      const { callId } = await s.sim.startUserCall({ from: '447700900152' });
      await nothingOpen(callId);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(s.sim.getCall(callId)!.actions.map((a) => `${a.action}:${a.result}`)).toEqual(['reject:ok']);
    });

    it('the admin connection cut under an answered call: nothing stays open, and calls work after the reconnect', async () => {
      const before = cutter.accepted;
      const answered = await s.metric('watrunk_calls_answered_total');
      const run = await pbxCalls('447700900125', { kind: 'answer-then-wait-bye', maxWaitMs: 8_000 });
      const call = await waitFor('answered', () => simCall((c) => c.user.number === '447700900125' && c.state === 'accepted'), { timeoutMs: 10_000 });
      await waitFor('200 OK sent to the PBX', async () => (await s.metric('watrunk_calls_answered_total')) > answered, { timeoutMs: 5_000 });
      cutter.cut();
      await nothingOpen(call.id);
      await run.done;
      await connected();
      expect(cutter.accepted).toBeGreaterThan(before);
      await callWorks('447700900126');
    });
  });
});
