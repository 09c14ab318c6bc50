/**
 * Draining through a real drachtio-server: once `stop()` has begun (SIGTERM), an INVITE from the
 * PBX (SIPp) is answered 503 with Retry-After and a Warning, while the drain goes on ending the call
 * already up. Media is faked (no rtpengine needed); the simulator plays Meta behind a proxy that
 * can leave terminate requests unanswered, so the drain lasts. Skips loudly without drachtio-server.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../../src/bridge.js';
import { validateConfig } from '../../src/config/load.js';
import { trunkSchema } from '../../src/config/schema.js';
import { createSimulator, parseSimulatorConfig, type Simulator } from '../../src/simulator/index.js';
import { describeIfDrachtio, startDrachtioServer, type DrachtioServer } from '../support/drachtio-server.js';
import { BUSINESS_NUMBER, PNID, SECRETS, WEBRTC_OFFER } from '../support/fake-pbx-bridge.js';
import { FakeMediaEngine } from '../support/fakes/fake-media.js';
import { FakePbxUasLeg } from '../support/fakes/fake-pbx-uas-leg.js';
import { GraphProxy } from '../support/graph-proxy.js';
import { freeTcpPort } from '../support/ports.js';
import { writeUacScenario } from '../support/sipp-scenarios.js';
import { runSippClient, sippAvailable } from '../support/sipp.js';
import { inviteFrom } from '../support/fakes/fake-pbx-invite.js';

const sippSkip = sippAvailable() ? undefined : "'sipp' not found (apt-get install sip-tester)";
if (sippSkip) console.warn(`\n${'!'.repeat(78)}\n!!  SKIPPING draining e2e: ${sippSkip}\n${'!'.repeat(78)}\n`);

const GRACE_S = 6;

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`not reached in time: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describeIfDrachtio(describe, 'e2e draining through drachtio-server', () => {
  describe.skipIf(sippSkip !== undefined)('with SIPp as the PBX', () => {
    let drachtio: DrachtioServer;
    let sim: Simulator;
    let proxy: GraphProxy;
    let bridge: RunningBridge | undefined;
    const logger = pino({ level: process.env['WATRUNK_TEST_LOG'] ?? 'silent' });

    beforeAll(async () => {
      drachtio = await startDrachtioServer();
      const port = await freeTcpPort();
      sim = createSimulator(parseSimulatorConfig({
        http: { host: '127.0.0.1', port: 0 },
        numbers: [{ phone_number_id: PNID, display_number: BUSINESS_NUMBER, access_token: SECRETS.token, app_secret: SECRETS.appSecret, webhook_url: `http://127.0.0.1:${port}/webhooks/whatsapp` }],
        default_user: { behaviour: 'answer', ring_ms: 10, answer_after_ms: 50, permission: 'temporary' },
      }), { logger });
      proxy = new GraphProxy((await sim.listen()).url);
      await proxy.listen();
      const media = new FakeMediaEngine();
      media.configure = (s) => { s.offerToWhatsApp = async () => WEBRTC_OFFER; };
      const config = validateConfig({
        http: { host: '127.0.0.1', port },
        internal_http: { host: '127.0.0.1', port: await freeTcpPort() },
        numbers: [{ name: 'demo', phone_number_id: PNID, display_number: BUSINESS_NUMBER, access_token_env: 'T', base_url: proxy.url }],
        drachtio: { host: drachtio.host, port: drachtio.adminPort },
        rtpengine: { engines: [{ host: '127.0.0.1', port: 1 }] }, // replaced by the fake media engine
        trunks: [{ name: 'pbx', sources: ['127.0.0.1'], numbers: ['demo'] }],
        calls: { pbx_media_timeout_s: 0, whatsapp_media_timeout_s: 0, media_poll_ms: 20 },
        shutdown: { grace_s: GRACE_S },
      });
      bridge = await startBridge({
        file: 'test', config,
        secrets: {
          verifyToken: SECRETS.verifyToken, appSecret: SECRETS.appSecret, accessTokens: new Map([['demo', SECRETS.token]]),
          trunkPasswords: new Map(), drachtioSecret: drachtio.secret,
        },
      }, { logger, media });
      const b = bridge;
      await until('bridge connected to drachtio', () => b.drachtio?.connected === true);
    });

    afterAll(async () => {
      if (proxy) proxy.hang = () => false;
      await bridge?.stop();
      await proxy?.close();
      await sim?.close();
      await drachtio?.stop();
    });

    it('an INVITE that arrives while watrunk is stopping gets 503 with Retry-After; the call already up is ended', async () => {
      // A call that is up: the drain has something to end.
      const trunk = trunkSchema.parse({ name: 'pbx', sources: ['127.0.0.1'], numbers: ['demo'] });
      const up = new FakePbxUasLeg({ to: '+447700900123' });
      await bridge!.pbxCalls!.handleInvite(inviteFrom(up, trunk));
      await until('the call is answered', () => up.answered);
      // Meta does not confirm terminates: the drain lasts until the grace deadline.
      proxy.hang = (body) => body['action'] === 'terminate';
      const started = Date.now();
      const stopping = bridge!.stop();

      const { file, logFile } = writeUacScenario({ kind: 'fail', status: 503 });
      const messages = join(dirname(logFile), 'messages.log');
      const result = await runSippClient({
        scenario: file, target: `${drachtio.host}:${drachtio.sipPort}`, service: '+447700900124', timeoutMs: 15_000,
        // The SDP names an RTP port; nothing is sent to it (the call is refused).
        extraArgs: ['-key', 'rtp_port', '40000', '-trace_msg', '-message_file', messages],
      });
      const trace = existsSync(messages) ? readFileSync(messages, 'utf8') : '';
      expect(result.code, `${result.stderr}\n${trace}\n${drachtio.logs().slice(-3000)}`).toBe(0);
      expect(trace).toMatch(/SIP\/2\.0 503 /);
      expect(trace).toMatch(/Retry-After:\s*5/i);
      expect(trace).toMatch(/Warning:\s*399 watrunk "watrunk is shutting down"/i);
      // Only the call that was up ever reached WhatsApp.
      expect(sim.listCalls().filter((c) => c.direction === 'BUSINESS_INITIATED')).toHaveLength(1);

      await stopping;
      bridge = undefined;
      expect(Date.now() - started).toBeLessThan(GRACE_S * 1000 + 500);
      expect(up.byes).toHaveLength(1); // the PBX was told
    });
  });
});
