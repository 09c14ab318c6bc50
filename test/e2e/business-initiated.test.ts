/**
 * End to end, PBX -> WhatsApp, with every real part: drachtio-server (DRACHTIO_BIN or PATH),
 * rtpengine (Debian), the simulator in real-media mode (libwebrtc WhatsApp user), and SIPp as the
 * PBX's signalling with a plain-RTP endpoint as its media. Skips loudly without drachtio-server.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WrtcMediaFactory } from '../../src/simulator/media/wrtc-peer.js';
import { startBridgeStack, type BridgeStack } from '../support/bridge-stack.js';
import { describeIfDrachtio, startDrachtioServer, type DrachtioServer } from '../support/drachtio-server.js';
import { fractionSince, realMediaSkipReason, startMediaFixture, wrtcFactory, type MediaFixture } from '../support/media/media-fixture.js';
import { RtpEndpoint } from '../support/media/rtp-endpoint.js';
import { sleep, waitFor } from '../support/media/wait.js';
import { writeUacScenario, type UacOutcome } from '../support/sipp-scenarios.js';
import { runSippClient, sippAvailable, type SippResult } from '../support/sipp.js';

const mediaSkip = await realMediaSkipReason();
const sippSkip = sippAvailable() ? undefined : "'sipp' not found (apt-get install sip-tester)";
const skip = mediaSkip ?? sippSkip;
if (skip) console.warn(`\n${'!'.repeat(78)}\n!!  SKIPPING PBX -> WhatsApp e2e: ${skip}\n${'!'.repeat(78)}\n`);

describeIfDrachtio(describe, 'e2e PBX -> WhatsApp through drachtio-server', () => {
  describe.skipIf(skip !== undefined)('with SIPp, rtpengine and the real-media simulator', () => {
    let drachtio: DrachtioServer;
    let fx: MediaFixture;
    let factory: WrtcMediaFactory;
    let stack: BridgeStack;

    beforeAll(async () => {
      drachtio = await startDrachtioServer();
      fx = await startMediaFixture();
      factory = await wrtcFactory();
      stack = await startBridgeStack({
        media: fx.media,
        simMedia: factory,
        drachtio: { host: drachtio.host, port: drachtio.adminPort, secret: drachtio.secret },
        calls: { no_answer_timeout_s: 5 },
        timing: { ring_timeout_ms: 30_000 },
        users: [
          { match: '447700900123', behaviour: 'answer', answer_after_ms: 200, permission: 'temporary' },
          { match: '447700900124', behaviour: 'answer', answer_after_ms: 200, hangup_after_ms: 2_500, permission: 'temporary' },
          { match: '447700900200', behaviour: 'reject', permission: 'temporary' },
          { match: '447700900300', behaviour: 'no_answer', permission: 'temporary' },
          { match: '447700900400', behaviour: 'not_on_whatsapp' },
          { match: '447700900500', behaviour: 'answer', permission: 'none' },
        ],
      });
      await waitFor('bridge connected to drachtio', () => stack.bridge.drachtio?.connected, { timeoutMs: 10_000, intervalMs: 50 });
    });

    afterAll(async () => {
      await stack?.stop();
      await fx?.stop();
      await drachtio?.stop();
    });

    function explain(r: SippResult): string {
      return [`SIPp: ${r.command}`, `exit ${r.code} timedOut ${r.timedOut}`, r.errors, r.stderr, r.stdout.slice(-2000), drachtio.logs().slice(-4000)].join('\n');
    }

    /** Runs one SIPp call; the RTP endpoint is pointed at the media port SIPp logs from 183/200. */
    async function sippCall(callee: string, outcome: UacOutcome, withMedia = false, headers: string[] = []) {
      const pbx = await RtpEndpoint.create();
      const { file, logFile } = writeUacScenario(outcome, headers);
      const run = runSippClient({
        scenario: file, target: `${drachtio.host}:${drachtio.sipPort}`, service: `+${callee}`, timeoutMs: 30_000,
        extraArgs: ['-key', 'rtp_port', String(pbx.port), '-trace_logs', '-log_file', logFile],
      });
      if (withMedia) {
        const port = await waitFor('media port in the SIPp log', () => {
          const m = existsSync(logFile) ? /MEDIA (\d+)/.exec(readFileSync(logFile, 'utf8')) : null;
          return m ? Number(m[1]) : undefined;
        }, { timeoutMs: 15_000, intervalMs: 20 });
        pbx.applyAnswer(`v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n`);
        pbx.startTone(1000);
      }
      return { pbx, run };
    }

    async function noLeftovers(): Promise<void> {
      await waitFor('no call objects left', () => stack.bridge.registry.size === 0, { timeoutMs: 5_000 });
      expect(fx.media.openSessions()).toEqual([]);
    }

    it('OPTIONS from the trunk is answered 200', async () => {
      const r = await runSippClient({ scenario: fileURLToPath(new URL('../sipp/options.xml', import.meta.url)), target: `${drachtio.host}:${drachtio.sipPort}`, timeoutMs: 10_000 });
      expect(r.code, explain(r)).toBe(0);
    });

    it('a call answered by the WhatsApp user: tones both ways, DTMF reaches the user, the PBX hangs up', async () => {
      const { pbx, run } = await sippCall('447700900123', { kind: 'answer-then-bye', holdMs: 5_000 }, true);
      const waCall = await waitFor('simulator call', () => stack.sim.listCalls().find((c) => c.user.number === '447700900123' && c.state !== 'ended'), { timeoutMs: 10_000 });
      await waitFor('audio from WhatsApp at the PBX', () => pbx.snapshot().audioPackets > 25, { timeoutMs: 10_000 });
      const mark = pbx.recorder.position;
      await sleep(1_500);
      await pbx.sendDigits('5', { durationMs: 300, gapMs: 200 });
      const r = await run;
      expect(r.code, explain(r)).toBe(0);
      expect(fractionSince(pbx.recorder, mark, 440, 100)).toBeGreaterThan(0.9);
      const view = await waitFor('ended on WhatsApp', () => { const c = stack.sim.getCall(waCall.id); return c?.state === 'ended' ? c : undefined; }, { timeoutMs: 5_000 });
      expect(view.media!.tones.find((t) => t.frequencyHz === 1000)!.fraction).toBeGreaterThan(0.8);
      // RFC 4733 from the PBX is played out by the WebRTC peer and detected by ear (see dtmf-webrtc.test.ts).
      expect(view.media!.dtmfReceived).toContain('5');
      expect(view.actions.map((a) => a.action)).toEqual(['connect', 'terminate']);
      await pbx.close();
      await noLeftovers();
    });

    it('the WhatsApp user hangs up: SIPp receives BYE', async () => {
      const { pbx, run } = await sippCall('447700900124', { kind: 'answer-then-wait-bye', maxWaitMs: 15_000 }, true);
      const r = await run;
      expect(r.code, explain(r)).toBe(0);
      await pbx.close();
      await noLeftovers();
    });

    it.each([
      ['rejected by the user', '447700900200', 603],
      ['not on WhatsApp', '447700900400', 404],
      ['no call permission', '447700900500', 403],
      ['never answered', '447700900300', 480],
    ])('%s (%s) gives %i', async (_name, callee, status) => {
      const { pbx, run } = await sippCall(callee, { kind: 'fail', status });
      const r = await run;
      expect(r.code, explain(r)).toBe(0);
      await pbx.close();
      await noLeftovers();
    });

    it('CANCEL while ringing terminates the WhatsApp call', async () => {
      const { pbx, run } = await sippCall('447700900300', { kind: 'cancel-after-ringing' });
      const r = await run;
      expect(r.code, explain(r)).toBe(0);
      const waCall = await waitFor('terminated on WhatsApp', () => stack.sim.listCalls().find((c) => c.user.number === '447700900300' && c.actions.some((a) => a.action === 'terminate')), { timeoutMs: 5_000 });
      expect(waCall.endedBy).toBe('business');
      await pbx.close();
      await noLeftovers();
    });
  });
});
