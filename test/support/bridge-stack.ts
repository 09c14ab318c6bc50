import { pino, type Logger } from 'pino';
import { startBridge, type RunningBridge } from '../../src/bridge.js';
import { validateConfig } from '../../src/config/load.js';
import { trunkSchema, type TrunkConfig } from '../../src/config/schema.js';
import { createSimulator, parseSimulatorConfig, type Simulator, type SimulatorConfigInput } from '../../src/simulator/index.js';
import type { SimulatedMediaFactory } from '../../src/simulator/media/types.js';
import { freeTcpPort } from './ports.js';
import type { ProviderName } from '../../src/config/provider-capabilities.js';
import { bridgeNumberFor, bridgeSecretsFor, simNumberFor } from './provider-wiring.js';

export const PNID = '105615555715855';
export const BUSINESS_NUMBER = '15551112222';
const SECRETS = { token: 'stack-token', appSecret: 'stack-app-secret', verifyToken: 'stack-vt', drachtio: 'stack-drachtio' };

/** The SIP host name the stack's number is configured with (Meta matches the From host against it). */
export const SIP_HOSTNAME = 'sip.watrunk.test';

export interface SipModeStackOptions {
  srtp: 'sdes' | 'dtls';
  /** The edge's drachtio-server (admin connection). */
  edgeDrachtio: { host: string; port: number; secret: string };
  /** Where watrunk sends its INVITEs (the edge's TLS listener), e.g. sip:127.0.0.1:5071;transport=tls. */
  edgeUri: string;
  /** Where the edge sends Meta's INVITEs (watrunk's TLS listener). */
  bridgeUri: string;
  /** The rtpengine playing Meta's relay. */
  rtpengine: { host: string; port: number };
  /** A Record-Route the edge puts on its INVITEs and 200 OKs (as Meta's proxies do). */
  recordRoute?: string;
  /** meta_sip.password_env's value, instead of fetching the password from the simulated settings. */
  fixedPassword?: string;
}

export interface BridgeStack {
  bridge: RunningBridge;
  sim: Simulator;
  simUrl: string;
  trunk: TrunkConfig;
  stop(): Promise<void>;
}

/**
 * The bridge and the simulator wired to each other over loopback HTTP, with the given media
 * engine (usually a real rtpengine) and, when `drachtio` is given, the SIP side connected to it.
 */
export async function startBridgeStack(opts: {
  media: NonNullable<Parameters<typeof startBridge>[1]>['media'];
  simMedia: SimulatedMediaFactory;
  users: SimulatorConfigInput['users'];
  drachtio?: { host: string; port: number; secret: string };
  /** numbers[0].inbound (WhatsApp -> PBX routing). */
  inbound?: Record<string, unknown>;
  /** INVITEs to the PBX without drachtio (media-tier tests). */
  dialer?: NonNullable<Parameters<typeof startBridge>[1]>['dialer'];
  calls?: Record<string, unknown>;
  timing?: SimulatorConfigInput['timing'];
  logger?: Logger;
  /** The provider carrying the number (simulator dialect + bridge adapter); default meta. */
  provider?: ProviderName;
  /**
   * Meta's SIP mode (docs/sip-mode.md): the number is in mode sip at both ends; the simulator's SIP
   * edge runs on its own drachtio-server and uses `rtpengine` as Meta's media relay.
   */
  sipMode?: SipModeStackOptions;
}): Promise<BridgeStack> {
  const logger = opts.logger ?? pino({ level: process.env['WATRUNK_TEST_LOG'] ?? 'silent' });
  const bridgePort = await freeTcpPort();
  const sim = createSimulator(parseSimulatorConfig({
    http: { host: '127.0.0.1', port: 0 },
    numbers: [opts.provider ? simNumberFor(opts.provider, bridgePort)
      : {
        phone_number_id: PNID, display_number: BUSINESS_NUMBER, access_token: SECRETS.token, app_secret: SECRETS.appSecret, webhook_url: `http://127.0.0.1:${bridgePort}/webhooks/whatsapp`,
        ...(opts.sipMode && { calling: sipCalling(opts.sipMode.srtp) }),
      }],
    ...(opts.sipMode && {
      sip_edge: { drachtio: { host: opts.sipMode.edgeDrachtio.host, port: opts.sipMode.edgeDrachtio.port, secret: opts.sipMode.edgeDrachtio.secret }, rtpengine: opts.sipMode.rtpengine, business_proxy: opts.sipMode.bridgeUri, ...(opts.sipMode.recordRoute && { record_route: opts.sipMode.recordRoute }) },
    }),
    users: opts.users,
    media: { mode: opts.simMedia.mode, tone_hz: 440, listen_hz: [1000] },
    ...(opts.timing ? { timing: opts.timing } : {}),
  }), { logger, media: opts.simMedia });
  const { url: simUrl } = await sim.listen();
  const trunkDoc = { name: 'pbx', sources: ['127.0.0.1'], numbers: ['demo'] };
  const config = validateConfig({
    http: { host: '127.0.0.1', port: bridgePort },
    internal_http: { host: '127.0.0.1', port: await freeTcpPort() },
    numbers: [{
      ...(opts.provider ? bridgeNumberFor(opts.provider, simUrl) : { name: 'demo', phone_number_id: PNID, display_number: BUSINESS_NUMBER, access_token_env: 'T', base_url: simUrl }),
      ...(opts.sipMode && {
        mode: 'sip',
        meta_sip: { hostname: SIP_HOSTNAME, edge_uri: opts.sipMode.edgeUri, srtp: opts.sipMode.srtp, password_refetch_min_interval_s: 0, keepalive_s: 1, ...(opts.sipMode.fixedPassword !== undefined && { password_env: 'META_SIP_PASSWORD' }) },
      }),
      ...(opts.inbound ? { inbound: opts.inbound } : {}),
    }],
    ...(opts.drachtio ? {
      drachtio: { host: opts.drachtio.host, port: opts.drachtio.port },
      rtpengine: { engines: [{ host: '127.0.0.1', port: 1 }] }, // replaced by opts.media
      trunks: [trunkDoc],
    } : {}),
    // The bridge shares this process with WebRTC peers and tone detectors, whose work shows as
    // event-loop delay: the delay limit of load shedding is off here (docs/sip.md#overload).
    calls: { media_poll_ms: 50, overload: { max_event_loop_lag_ms: 0 }, ...opts.calls },
  });
  const bridge = await startBridge({
    file: 'test',
    config,
    secrets: {
      ...(opts.provider ? bridgeSecretsFor(opts.provider) : {
        verifyToken: SECRETS.verifyToken, appSecret: SECRETS.appSecret, accessTokens: new Map([['demo', SECRETS.token]]),
      }),
      trunkPasswords: new Map(),
      ...(opts.drachtio ? { drachtioSecret: opts.drachtio.secret } : {}),
      ...(opts.sipMode?.fixedPassword !== undefined && { metaSipPasswords: new Map([['demo', opts.sipMode.fixedPassword]]) }),
    },
  }, { logger, ...(opts.media ? { media: opts.media } : {}), ...(opts.dialer ? { dialer: opts.dialer } : {}) });
  return {
    bridge, sim, simUrl, trunk: trunkSchema.parse(trunkDoc),
    async stop() {
      await bridge.stop();
      await sim.close();
    },
  };
}

/** The simulated number's calling settings in SIP mode: SIP ENABLED toward SIP_HOSTNAME, SDES or DTLS. */
function sipCalling(srtp: 'sdes' | 'dtls'): Record<string, unknown> {
  return {
    status: 'ENABLED', srtp_key_exchange_protocol: srtp === 'sdes' ? 'SDES' : 'DTLS',
    sip: { status: 'ENABLED', servers: [{ hostname: SIP_HOSTNAME, port: 5061 }] },
  };
}
