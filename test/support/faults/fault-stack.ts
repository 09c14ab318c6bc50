/**
 * The bridge and the simulator wired to each other over loopback HTTP, for fault tests: the
 * simulator's faults, users, timing and limits, and the bridge's calls/webhook/number keys are all
 * the test's to set. SIP and media default to fakes (FakePbxDialer, a FakeMediaEngine answering
 * with SDP Meta accepts); a test may pass a real rtpengine, and drachtio-server for the SIP side.
 */
import { pino, type Logger } from 'pino';
import { startBridge, type RunningBridge } from '../../../src/bridge.js';
import type { MediaEngine } from '../../../src/calls/ports/media-engine.js';
import type { PbxDialer } from '../../../src/calls/ports/sip.js';
import { validateConfig } from '../../../src/config/load.js';
import { trunkSchema, type TrunkConfig } from '../../../src/config/schema.js';
import { createSimulator, parseSimulatorConfig, type Simulator, type SimulatorConfigInput } from '../../../src/simulator/index.js';
import type { SimulatedMediaFactory } from '../../../src/simulator/media/types.js';
import { WEBRTC_ANSWER, WEBRTC_OFFER } from '../fake-pbx-bridge.js';
import { FakeMediaEngine } from '../fakes/fake-media.js';
import { FakePbxDialer } from '../fakes/fake-pbx-dialer.js';
import { inviteFrom } from '../fakes/fake-pbx-invite.js';
import { FakePbxUasLeg } from '../fakes/fake-pbx-uas-leg.js';
import { freeTcpPort } from '../ports.js';
import { metricValue } from './metrics-text.js';
import type { ProviderName } from '../../../src/config/provider-capabilities.js';
import { bridgeNumberFor, bridgeSecretsFor, simNumberFor } from '../provider-wiring.js';

export const PNID = '105615555715855';
export const BUSINESS_NUMBER = '15551112222';
const SECRETS = { token: 'fault-token', appSecret: 'fault-app-secret', verifyToken: 'fault-vt' };
export const APP_SECRET = SECRETS.appSecret;

export interface FaultStackOptions {
  /** Simulator config: users[], default_user, timing, faults, webhooks, limits, media mode. */
  sim?: Omit<SimulatorConfigInput, 'numbers' | 'http'>;
  /** The simulated users' media; default: what `sim.media.mode` loads (signalling-only). */
  simMedia?: SimulatedMediaFactory;
  /** Bridge `calls` keys (merged over short test defaults). */
  calls?: Record<string, unknown>;
  /** Bridge `webhook` keys (max_event_age_s, ...). */
  webhook?: Record<string, unknown>;
  /** More keys of numbers[0] (timeout_ms, inbound, ...). */
  number?: Record<string, unknown>;
  /** Default: a FakeMediaEngine whose SDPs the simulator accepts. */
  media?: MediaEngine;
  /** INVITEs to the PBX when there is no drachtio (default: a FakePbxDialer the test drives). */
  dialer?: PbxDialer;
  drachtio?: { host: string; port: number; secret: string };
  logger?: Logger;
  /** The provider carrying the number: the simulator speaks its dialect, the bridge uses its adapter (default meta). */
  provider?: ProviderName;
  /** The bridge gets a credential the provider refuses (error-mapping tests). */
  wrongCredentials?: boolean;
}

export interface FaultStack {
  sim: Simulator;
  simUrl: string;
  bridge: RunningBridge;
  trunk: TrunkConfig;
  media: MediaEngine;
  /** The fake PBX dialer, unless a dialer or drachtio was given. */
  dialer: FakePbxDialer;
  /** GET /metrics on the internal listener (RunningBridge.internalUrl). */
  metricsText(): Promise<string>;
  /** Sum of a metric's samples whose labels include `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** A request to the simulator's control API; resolves the JSON answer. */
  control(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  /** A PBX INVITE (fake leg) to this WhatsApp number; resolves once set-up has been attempted. */
  invite(callee: string): Promise<FakePbxUasLeg>;
  stop(): Promise<void>;
}

/** A FakeMediaEngine whose sessions hand out SDP of the shape Meta (and the simulator) accepts. */
export function webrtcFakeMedia(): FakeMediaEngine {
  const media = new FakeMediaEngine();
  media.configure = (s) => {
    s.offerToWhatsApp = async () => WEBRTC_OFFER;
    s.answerFromPbx = async () => WEBRTC_ANSWER;
  };
  return media;
}

export async function startFaultStack(opts: FaultStackOptions = {}): Promise<FaultStack> {
  const logger = opts.logger ?? pino({ level: process.env['WATRUNK_TEST_LOG'] ?? 'silent' });
  const bridgePort = await freeTcpPort();
  const provider = opts.provider;
  const sim = createSimulator(parseSimulatorConfig({
    ...opts.sim,
    http: { host: '127.0.0.1', port: 0 },
    numbers: [provider ? simNumberFor(provider, bridgePort)
      : { phone_number_id: PNID, display_number: BUSINESS_NUMBER, access_token: SECRETS.token, app_secret: SECRETS.appSecret, webhook_url: `http://127.0.0.1:${bridgePort}/webhooks/whatsapp` }],
  }), { logger, ...(opts.simMedia ? { media: opts.simMedia } : {}) });
  const { url: simUrl } = await sim.listen();
  const media = opts.media ?? webrtcFakeMedia();
  const fakeDialer = new FakePbxDialer();
  const trunkDoc = { name: 'pbx', sources: ['127.0.0.1'], numbers: ['demo'] };
  const config = validateConfig({
    http: { host: '127.0.0.1', port: bridgePort },
    internal_http: { host: '127.0.0.1', port: await freeTcpPort() },
    numbers: [{
      ...(provider ? bridgeNumberFor(provider, simUrl)
        : { name: 'demo', phone_number_id: PNID, display_number: BUSINESS_NUMBER, access_token_env: 'T', base_url: simUrl }),
      inbound: { target: 'sip:{to}@127.0.0.1:5080' }, ...opts.number,
    }],
    ...(opts.drachtio ? {
      trunks: [trunkDoc],
      drachtio: { host: opts.drachtio.host, port: opts.drachtio.port },
      rtpengine: { engines: [{ host: '127.0.0.1', port: 1 }] }, // replaced by opts.media
    } : {}),
    ...(opts.webhook ? { webhook: opts.webhook } : {}),
    // Fake media has no packet counters: the dead-peer watch is off unless a test turns it on.
    // In-process with the test's peers: the event-loop delay limit of load shedding is off here.
    calls: { pbx_media_timeout_s: 0, whatsapp_media_timeout_s: 0, media_poll_ms: 20, no_answer_timeout_s: 5, overload: { max_event_loop_lag_ms: 0 }, ...opts.calls },
  });
  const bridge = await startBridge({
    file: 'test',
    config,
    secrets: {
      ...(provider ? bridgeSecretsFor(provider, { wrongCredentials: opts.wrongCredentials === true }) : {
        verifyToken: SECRETS.verifyToken, appSecret: SECRETS.appSecret, accessTokens: new Map([['demo', SECRETS.token]]),
      }),
      trunkPasswords: new Map(),
      ...(opts.drachtio ? { drachtioSecret: opts.drachtio.secret } : {}),
    },
  }, { logger, media, ...(opts.drachtio ? {} : { dialer: opts.dialer ?? fakeDialer }) });
  const trunk = trunkSchema.parse(trunkDoc);

  const metricsText = async () => (await fetch(`${bridge.internalUrl}/metrics`)).text();
  return {
    sim, simUrl, bridge, trunk, media, dialer: fakeDialer, metricsText,
    metric: async (name, labels = {}) => metricValue(await metricsText(), name, labels),
    async control(method, path, body) {
      const res = await fetch(`${simUrl}${path}`, {
        method, ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: await res.json() as Record<string, unknown> };
    },
    async invite(callee) {
      const leg = new FakePbxUasLeg({ to: `+${callee}` });
      await bridge.pbxCalls!.handleInvite(inviteFrom(leg, trunk));
      return leg;
    },
    async stop() {
      await bridge.stop();
      await sim.close();
    },
  };
}
