import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetaNumber } from '../../src/adapters/meta/meta-number.js';
import { startBridge, type RunningBridge } from '../../src/bridge.js';
import { validateConfig } from '../../src/config/load.js';
import { Metrics } from '../../src/metrics.js';
import { createSimulator, parseSimulatorConfig, type Simulator } from '../../src/simulator/index.js';
import type { WhatsAppEvent } from '../../src/calls/ports/whatsapp-events.js';
import { freeTcpPort } from '../support/ports.js';

/**
 * `watrunk start` and `watrunk simulate` talking to each other over real HTTP on 127.0.0.1:
 * a scripted connect produces signed webhooks that the bridge verifies, parses and dispatches.
 */
const PNID = '105615555715855';
const secrets = { token: 'sim-token', appSecret: 'sim-app-secret', verifyToken: 'vt' };
let sim: Simulator;
let simUrl: string;
let bridge: RunningBridge;
const events: WhatsAppEvent[] = [];
const logger = pino({ level: 'silent' });

beforeAll(async () => {
  const bridgePort = await freeTcpPort();
  sim = createSimulator(parseSimulatorConfig({
    http: { host: '127.0.0.1', port: 0 },
    numbers: [{ phone_number_id: PNID, display_number: '15551112222', access_token: secrets.token, app_secret: secrets.appSecret, webhook_url: `http://127.0.0.1:${bridgePort}/webhooks/whatsapp` }],
    users: [
      { match: '447700900123', behaviour: 'answer', answer_after_ms: 20, hangup_after_ms: 100, permission: 'temporary' },
      { match: '447700900999', behaviour: 'reject', permission: 'temporary' },
    ],
    timing: { accept_window_ms: 2000 },
  }), { logger });
  const { url } = await sim.listen();
  simUrl = url;
  const config = validateConfig({
    http: { host: '127.0.0.1', port: bridgePort },
    internal_http: { host: '127.0.0.1', port: await freeTcpPort() },
    numbers: [{ name: 'demo', phone_number_id: PNID, display_number: '15551112222', access_token_env: 'T', base_url: url }],
  });
  bridge = await startBridge({ file: 'test', config, secrets: { ...secrets, accessTokens: new Map([['demo', secrets.token]]), trunkPasswords: new Map() } }, {
    logger, onEvent: (e) => events.push(e),
  });
});

afterAll(async () => {
  await bridge?.stop();
  await sim?.close();
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('bridge + simulator', () => {
  it('a connect answered by the scripted user yields answered, ringing, accepted and terminated events', async () => {
    const meta = createMetaNumber(validateConfig({ numbers: [{ name: 'x', phone_number_id: PNID, display_number: '1555', access_token_env: 'T', base_url: simUrl }] }).numbers[0]!, secrets.token, { logger, metrics: new Metrics() });
    const sdpOffer = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=rtpmap:111 opus/48000/2\r\n';
    const { callId } = await meta.calls.connect({ to: '447700900123', sdpOffer, trackingData: 'demo-1' });
    await until(() => events.some((e) => e.kind === 'call.terminated' && e.callId === callId));
    const mine = events.filter((e) => 'callId' in e && e.callId === callId);
    expect(mine.map((e) => e.kind)).toEqual(expect.arrayContaining(['call.answered', 'call.ringing', 'call.accepted', 'call.terminated']));
    const answered = mine.find((e) => e.kind === 'call.answered');
    expect(answered).toMatchObject({ phoneNumberId: PNID, user: { number: '447700900123' } });
    expect(mine.find((e) => e.kind === 'call.ringing')).toMatchObject({ trackingData: 'demo-1' });
    const metrics = await bridge.metrics.registry.getSingleMetricAsString('watrunk_webhook_deliveries_total');
    expect(metrics).toMatch(/outcome="accepted"} [1-9]/);
    await meta.close();
  });

  it('a user-initiated call with no route to a PBX is rejected at once', async () => {
    const { callId } = await sim.startUserCall({ from: '447700900555' });
    await until(() => sim.getCall(callId)?.state === 'ended', 3000);
    const view = sim.getCall(callId)!;
    expect(view.actions.map((a) => a.action)).toEqual(['reject']);
    expect(view.endedBy).toBe('business');
  });
});
