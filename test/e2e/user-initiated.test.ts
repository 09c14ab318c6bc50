/**
 * End to end, WhatsApp -> PBX, with every real part: drachtio-server (DRACHTIO_BIN or PATH),
 * rtpengine, the simulator's WebRTC caller (signed connect webhook, pre_accept/accept checked as
 * Meta does), and SIPp as the answering PBX with a plain-RTP endpoint as its media.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WrtcMediaFactory } from '../../src/simulator/media/wrtc-peer.js';
import { startBridgeStack, type BridgeStack } from '../support/bridge-stack.js';
import { describeIfDrachtio, startDrachtioServer, type DrachtioServer } from '../support/drachtio-server.js';
import { fractionSince, realMediaSkipReason, startMediaFixture, wrtcFactory, type MediaFixture } from '../support/media/media-fixture.js';
import { RtpEndpoint } from '../support/media/rtp-endpoint.js';
import { sleep, waitFor } from '../support/media/wait.js';
import { freeUdpTcpPort } from '../support/ports.js';
import { writeUasScenario, type UasBehaviour } from '../support/sipp-uas-scenarios.js';
import { sippAvailable, startSippServer, type SippResult, type SippServer } from '../support/sipp.js';

const mediaSkip = await realMediaSkipReason();
const sippSkip = sippAvailable() ? undefined : "'sipp' not found (apt-get install sip-tester)";
const skip = mediaSkip ?? sippSkip;
if (skip) console.warn(`\n${'!'.repeat(78)}\n!!  SKIPPING WhatsApp -> PBX e2e: ${skip}\n${'!'.repeat(78)}\n`);

describeIfDrachtio(describe, 'e2e WhatsApp -> PBX through drachtio-server', () => {
  describe.skipIf(skip !== undefined)('with SIPp as the PBX, rtpengine and the real-media simulator', () => {
    let drachtio: DrachtioServer;
    let fx: MediaFixture;
    let factory: WrtcMediaFactory;
    let stack: BridgeStack;
    let pbxPort: number;

    beforeAll(async () => {
      drachtio = await startDrachtioServer();
      fx = await startMediaFixture();
      factory = await wrtcFactory();
      pbxPort = await freeUdpTcpPort();
      stack = await startBridgeStack({
        media: fx.media,
        simMedia: factory,
        drachtio: { host: drachtio.host, port: drachtio.adminPort, secret: drachtio.secret },
        inbound: { target: `sip:{to}@127.0.0.1:${pbxPort}`, ring_timeout_s: 5 },
        users: [{ match: '4477009*', behaviour: 'answer', name: 'Ann' }],
        timing: { accept_window_ms: 30_000 },
      });
      await waitFor('bridge connected to drachtio', () => stack.bridge.drachtio?.connected, { timeoutMs: 10_000, intervalMs: 50 });
    });

    afterAll(async () => {
      await stack?.stop();
      await fx?.stop();
      await drachtio?.stop();
    });

    let current: SippServer | undefined;
    afterEach(async () => {
      // A failed test must not leave its SIPp holding the PBX port for the next one.
      await current?.stop();
      current = undefined;
    });

    const simCall = (id: string) => stack.sim.getCall(id)!;
    function explain(r: SippResult): string {
      return [`SIPp: ${r.command}`, `exit ${r.code} timedOut ${r.timedOut}`, r.errors, r.stderr, r.stdout.slice(-2000), drachtio.logs().slice(-4000)].join('\n');
    }

    async function pbx(behaviour: UasBehaviour): Promise<{ sipp: SippServer; rtp: RtpEndpoint; logFile: string }> {
      const rtp = await RtpEndpoint.create();
      const { file, logFile } = writeUasScenario(behaviour);
      const sipp = await startSippServer({
        scenario: file, localPort: pbxPort, calls: 1, timeoutMs: 40_000,
        extraArgs: ['-key', 'rtp_port', String(rtp.port), '-trace_logs', '-log_file', logFile, ...(process.env['SIPP_TRACE'] ? ['-trace_msg', '-message_file', `${logFile}.msg`] : [])],
      });
      current = sipp;
      return { sipp, rtp, logFile };
    }

    function fromLog(logFile: string, re: RegExp): string | undefined {
      return existsSync(logFile) ? re.exec(readFileSync(logFile, 'utf8'))?.[1] : undefined;
    }

    async function aimAudio(rtp: RtpEndpoint, logFile: string): Promise<void> {
      const port = await waitFor('media port watrunk offered', () => fromLog(logFile, /MEDIA (\d+)/), { timeoutMs: 10_000, intervalMs: 20 });
      rtp.applyAnswer(`v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n`);
      rtp.startTone(1000);
    }

    async function noLeftovers(): Promise<void> {
      await waitFor('no call objects left', () => stack.bridge.registry.size === 0, { timeoutMs: 5_000 });
      expect(fx.media.openSessions()).toEqual([]);
    }

    it('the PBX answers after early media: nothing reaches the user before accept, tones both ways, the PBX hangs up', async () => {
      const { sipp, rtp, logFile } = await pbx({ kind: 'answer-then-bye', answerAfterMs: 1_500, holdMs: 3_000 });
      const { callId } = await stack.sim.startUserCall({ from: '447700900123', name: 'Ann' });
      await aimAudio(rtp, logFile);
      expect(fromLog(logFile, /WACALL\s+(\S+)/)).toBe(callId);
      await waitFor('accepted', () => simCall(callId).acceptedAt, { timeoutMs: 10_000 });
      const mark = rtp.recorder.position;
      const r = await sipp.done;
      expect(r.code, explain(r)).toBe(0);
      await waitFor('ended on WhatsApp', () => simCall(callId).state === 'ended', { timeoutMs: 5_000 });
      const view = simCall(callId);
      expect(view.actions.map((a) => a.action)).toEqual(['pre_accept', 'accept', 'terminate']);
      expect(view.media!.firstPacketBeforeAccept).toBe(false);
      expect(view.media!.tones.find((t) => t.frequencyHz === 1000)!.fraction).toBeGreaterThan(0.8);
      expect(fractionSince(rtp.recorder, mark, 440, 100)).toBeGreaterThan(0.9);
      await rtp.close();
      await noLeftovers();
    });

    it('the WhatsApp user hangs up: SIPp receives BYE', async () => {
      const { sipp, rtp, logFile } = await pbx({ kind: 'answer-then-wait-bye', answerAfterMs: 200, maxWaitMs: 15_000 });
      const { callId } = await stack.sim.startUserCall({ from: '447700900124' });
      await aimAudio(rtp, logFile);
      await waitFor('accepted', () => simCall(callId).acceptedAt, { timeoutMs: 10_000 });
      await sleep(1_000);
      await fetch(`${stack.simUrl}/_sim/calls/${encodeURIComponent(callId)}/hangup`, { method: 'POST' });
      const r = await sipp.done;
      expect(r.code, explain(r)).toBe(0);
      await rtp.close();
      await noLeftovers();
    });

    it('the PBX rejects (486): reject on WhatsApp', async () => {
      const { sipp, rtp } = await pbx({ kind: 'reject', status: 486 });
      const { callId } = await stack.sim.startUserCall({ from: '447700900125' });
      const r = await sipp.done;
      expect(r.code, explain(r)).toBe(0);
      await waitFor('ended', () => simCall(callId).state === 'ended', { timeoutMs: 5_000 });
      expect(simCall(callId).actions.map((a) => a.action)).toEqual(['reject']);
      await rtp.close();
      await noLeftovers();
    });

    it('the PBX never answers: CANCEL after ring_timeout_s and reject within Meta\'s window', async () => {
      const { sipp, rtp } = await pbx({ kind: 'ring-until-cancel', maxWaitMs: 15_000 });
      const { callId } = await stack.sim.startUserCall({ from: '447700900126' });
      const r = await sipp.done;
      expect(r.code, explain(r)).toBe(0);
      await waitFor('ended', () => simCall(callId).state === 'ended', { timeoutMs: 5_000 });
      const view = simCall(callId);
      expect(view.actions.map((a) => a.action)).toEqual(['reject']);
      expect(view.endedAt! - view.createdAt).toBeLessThan(30_000);
      await rtp.close();
      await noLeftovers();
    });
  });
});
