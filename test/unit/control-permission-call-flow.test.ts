import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../../src/bridge.js';
import { validateConfig } from '../../src/config/load.js';
import { trunkSchema, type TrunkConfig } from '../../src/config/schema.js';
import type { ControlPlane } from '../../src/control/control-plane.js';
import { createSimulator, parseSimulatorConfig, type Simulator } from '../../src/simulator/index.js';
import type { WhatsAppEvent } from '../../src/calls/ports/whatsapp-events.js';
import { FakeMediaEngine } from '../support/fakes/fake-media.js';
import { FakePbxUasLeg } from '../support/fakes/fake-pbx-uas-leg.js';
import { freeTcpPort } from '../support/ports.js';
import { until } from '../support/control-fixtures.js';
import { inviteFrom } from '../support/fakes/fake-pbx-invite.js';

/**
 * Permission policies end to end through the PBX -> WhatsApp call flow: a PBX INVITE (fake SIP leg),
 * the permission gate, then the real call logic, the Graph client, the simulator and its signed
 * webhooks back through the bridge. The bridge's own wiring is under test: the gate runs inside
 * BusinessInitiatedCall before connect, and the dispatcher routes permission.replied events to the cache.
 */

const PNID = '105615555715855';
const secrets = { token: 'flow-token', appSecret: 'flow-app-secret', verifyToken: 'vt' };
const ASKS_AND_ACCEPTS = '447700900001';
const NEVER_GRANTS = '447700900002';
const HAS_PERMISSION = '447700900003';

let sim: Simulator;
let bridge: RunningBridge;
let plane: ControlPlane;
const events: WhatsAppEvent[] = [];
/** A WebRTC offer the simulator accepts like Meta (fingerprint, ICE, Opus): what rtpengine would produce. */
const WEBRTC_OFFER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=rtpmap:111 opus/48000/2\r\n';
const logger = pino({ level: process.env['CTL_LOG'] ?? 'silent' });

beforeAll(async () => {
  const port = await freeTcpPort();
  sim = createSimulator(parseSimulatorConfig({
    http: { host: '127.0.0.1', port: 0 },
    numbers: [{ phone_number_id: PNID, display_number: '15551112222', access_token: secrets.token, app_secret: secrets.appSecret, webhook_url: `http://127.0.0.1:${port}/webhooks/whatsapp` }],
    users: [
      { match: ASKS_AND_ACCEPTS, permission: 'none', permission_reply: 'accept', permission_reply_after_ms: 30, ring_ms: 10, answer_after_ms: 20, hangup_after_ms: 150 },
      { match: NEVER_GRANTS, permission: 'none', permission_reply: 'none' },
      { match: HAS_PERMISSION, permission: 'temporary', ring_ms: 10, answer_after_ms: 20, hangup_after_ms: 150 },
    ],
  }), { logger });
  const { url } = await sim.listen();
  const config = validateConfig({
    http: { host: '127.0.0.1', port },
    internal_http: { host: '127.0.0.1', port: await freeTcpPort() },
    numbers: [{ name: 'demo', phone_number_id: PNID, display_number: '15551112222', access_token_env: 'T', base_url: url }],
    calls: { media_poll_ms: 20 },
  });
  const media = new FakeMediaEngine();
  media.configure = (session) => { session.offerToWhatsApp = async () => WEBRTC_OFFER; };
  bridge = await startBridge({ file: 'test', config, secrets: { ...secrets, accessTokens: new Map([['demo', secrets.token]]), trunkPasswords: new Map() } }, {
    logger, media, onEvent: (e) => { events.push(e); },
  });
  plane = bridge.control;
});

afterAll(async () => {
  await bridge?.stop();
  await sim?.close();
});

const trunk = (permission_policy?: unknown): TrunkConfig =>
  trunkSchema.parse({ name: 'pbx', sources: ['127.0.0.1'], numbers: ['demo'], ...(permission_policy !== undefined && { permission_policy }) });

/** A PBX INVITE through the bridge's own intake (the permission gate runs inside the call). */
async function invite(to: string, t: TrunkConfig): Promise<FakePbxUasLeg> {
  const leg = new FakePbxUasLeg({ to: `+${to}` });
  await bridge.pbxCalls!.handleInvite(inviteFrom(leg, t));
  await until(() => leg.final !== undefined, 5000);
  return leg;
}
const connectsTo = (user: string) => sim.listCalls().filter((c) => c.direction === 'BUSINESS_INITIATED' && (c as { user?: { number?: string } }).user?.number === user).length;

describe('permission policies through the PBX -> WhatsApp call flow', () => {
  it('check: no permission → 403 with a readable reason, and no connect is sent', async () => {
    const leg = await invite(NEVER_GRANTS, trunk('check'));
    expect(leg.final).toMatchObject({ status: 403, reason: 'No WhatsApp Call Permission' });
    expect(leg.final!.headers['Warning']).toBe('399 watrunk "the WhatsApp user has not granted call permission (checked before calling; no call was placed)"');
    expect(connectsTo(NEVER_GRANTS)).toBe(0);
  });

  it('off: the call is placed and Meta\'s 138006 becomes the same 403', async () => {
    const leg = await invite(NEVER_GRANTS, trunk('off'));
    expect(leg.final).toMatchObject({ status: 403, reason: 'No WhatsApp Call Permission' });
    expect(leg.final!.headers['Warning']).toContain('(138006)');
  });

  it('request: 403 saying permission was requested; the accept webhook lets the next call through', async () => {
    const t = trunk({ mode: 'request', request: { body_text: 'May we call you about your order?' } });
    const first = await invite(ASKS_AND_ACCEPTS, t);
    expect(first.final).toMatchObject({ status: 403, reason: 'WhatsApp Call Permission Requested' });
    expect(first.final!.headers['Warning']).toMatch(/a permission request was sent \(interactive message\)/);
    expect(connectsTo(ASKS_AND_ACCEPTS)).toBe(0);

    await until(() => events.some((e) => e.kind === 'permission.replied' && e.user.number === ASKS_AND_ACCEPTS && e.response === 'accept'));
    expect(plane.number('demo').cache.peek(ASKS_AND_ACCEPTS)).toMatchObject({ status: 'temporary', source: 'reply' });

    const second = await invite(ASKS_AND_ACCEPTS, t);
    expect(second.final).toMatchObject({ status: 200 });
    expect(connectsTo(ASKS_AND_ACCEPTS)).toBe(1);
  });

  it('a reject webhook (the user revokes) changes the next call\'s outcome at once', async () => {
    const t = trunk('check');
    const before = await invite(HAS_PERMISSION, t);
    expect(before.final?.status).toBe(200);
    const calls = connectsTo(HAS_PERMISSION);

    const res = await sim.app.inject({ method: 'POST', url: '/_sim/permissions', payload: { user: HAS_PERMISSION, action: 'revoke', notify: true } });
    expect(res.statusCode).toBe(200);
    await until(() => events.some((e) => e.kind === 'permission.replied' && e.user.number === HAS_PERMISSION && e.response === 'reject'));

    const after = await invite(HAS_PERMISSION, t);
    expect(after.final).toMatchObject({ status: 403, reason: 'No WhatsApp Call Permission' });
    expect(connectsTo(HAS_PERMISSION)).toBe(calls);
  });
});
