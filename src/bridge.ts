import type { FastifyInstance } from 'fastify';
import type { LoadedConfig } from './config/load.js';
import type { ConfigFile } from './config/schema.js';
import { buildHttpApp } from './http/app.js';
import { Readiness } from './http/readiness.js';
import { createLogger, type Logger } from './logging.js';
import { Metrics } from './metrics.js';
import { createMetaNumber } from './adapters/meta/meta-number.js';
import { parseMetaWebhook } from './adapters/meta/webhook-parser.js';
import { WebhookVerifier } from './adapters/meta/webhook-verifier.js';
import { DrachtioConnection } from './adapters/drachtio/drachtio-connection.js';
import { DrachtioPbxDialer } from './adapters/drachtio/outbound-leg.js';
import { PbxTrunkServer } from './adapters/drachtio/pbx-trunk-server.js';
import { RtpengineMedia } from './adapters/rtpengine/rtpengine-media.js';
import { CallRegistry } from './calls/call-registry.js';
import { PbxAdmission } from './calls/pbx-admission.js';
import { PbxCallIntake, type BusinessNumber } from './calls/pbx-call-intake.js';
import type { MediaEngine } from './calls/ports/media-engine.js';
import type { PbxDialer } from './calls/ports/sip.js';
import { WhatsAppCallIntake } from './calls/whatsapp-call-intake.js';
import { TrunkDirectory } from './calls/trunk-directory.js';
import { EventDispatcher } from './webhooks/event-dispatcher.js';
import { createBridgeControl } from './control/bridge-control.js';
import { registerWebhookIngress } from './webhooks/ingress.js';
import type { WhatsAppEvent } from './whatsapp/events.js';

export interface RunningBridge {
  app: FastifyInstance;
  url: string;
  logger: Logger;
  metrics: Metrics;
  dispatcher: EventDispatcher;
  registry: CallRegistry;
  media?: MediaEngine;
  /** PBX -> WhatsApp calls enter here (from the drachtio front door; tests call it directly). */
  pbxCalls?: PbxCallIntake;
  /** WhatsApp -> PBX calls enter here (from connect webhooks). */
  whatsappCalls: WhatsAppCallIntake;
  /** Calling control plane: permission cache and gate, restrictions, SIP mode (src/control). */
  control: ReturnType<typeof createBridgeControl>;
  drachtio?: DrachtioConnection;
  stop(): Promise<void>;
}

export interface BridgeOptions {
  logger?: Logger;
  /** Observe every event that reaches the call logic (tests, the demo). */
  onEvent?: (event: WhatsAppEvent, numberName: string | undefined) => void;
  /** Override the listen port (0 = ephemeral). */
  port?: number;
  /** Use this media engine instead of building one from config (tests). */
  media?: MediaEngine;
  /** Use this dialer for INVITEs to the PBX when there is no drachtio section (tests). */
  dialer?: PbxDialer;
}

function outboundTiming(config: ConfigFile) {
  return {
    noAnswerTimeoutMs: config.calls.no_answer_timeout_s * 1000,
    mediaPollMs: config.calls.media_poll_ms,
    answerOnFirstMedia: config.calls.answer_on_first_media,
    firstMediaPackets: config.calls.first_media_packets,
    mediaWatch: mediaWatchTiming(config),
  };
}

function mediaWatchTiming(config: ConfigFile) {
  return {
    pbxTimeoutMs: config.calls.pbx_media_timeout_s * 1000,
    whatsappTimeoutMs: config.calls.whatsapp_media_timeout_s * 1000,
    checkIntervalMs: config.calls.media_check_interval_s * 1000,
  };
}

/** The composition root: builds every adapter from config and wires them to the call logic. */
export async function startBridge(loaded: LoadedConfig, opts: BridgeOptions = {}): Promise<RunningBridge> {
  const { config, secrets } = loaded;
  const logger = opts.logger ?? createLogger(config.log.level);
  const metrics = new Metrics({ defaultMetrics: true });
  const readiness = new Readiness();
  // Calling control plane: restrictions and SIP mode in /readyz, admin API, permission gate (src/control).
  const control = createBridgeControl({ config, secrets, logger, metrics, readiness });
  const registry = new CallRegistry();
  const log = logger.child({ component: 'bridge' });

  const numbers = new Map<string, BusinessNumber & { close(): Promise<void> }>();
  for (const n of config.numbers) {
    const meta = createMetaNumber(n, secrets.accessTokens.get(n.name) ?? '', { logger, metrics });
    numbers.set(n.name, { config: n, calls: meta.calls, close: () => meta.close() });
  }
  const byPhoneNumberId = new Map(config.numbers.map((n) => [n.phone_number_id, n.name]));

  // --- media ---
  let media: MediaEngine | undefined = opts.media;
  if (!media && config.rtpengine) {
    media = new RtpengineMedia({ engines: config.rtpengine.engines, timeoutMs: config.rtpengine.timeout_ms });
  }
  let mediaUp = false;
  if (media) {
    const engine = media;
    readiness.register('rtpengine', async () => {
      mediaUp = await engine.ping();
      metrics.dependencyUp.set({ dependency: 'rtpengine' }, mediaUp ? 1 : 0);
      return mediaUp ? { ok: true, detail: 'answering ping' } : { ok: false, detail: 'no rtpengine answers ping' };
    });
  } else {
    readiness.register('rtpengine', () => ({ ok: true, detail: 'disabled: no rtpengine section in the config' }));
  }

  // --- calls and SIP ---
  const pbxCalls = media
    ? new PbxCallIntake({
      admission: new PbxAdmission(new Map(config.numbers.map((n) => [n.name, n])), (name) => registry.countForNumber(name)),
      registry, numbers, media, timing: outboundTiming(config), logger, metrics, permissionGate: control.permissionGate,
    })
    : undefined;
  let drachtio: DrachtioConnection | undefined;
  let dialer: PbxDialer | undefined = opts.dialer;
  if (config.drachtio && media && pbxCalls) {
    const engine = media;
    const intake = pbxCalls;
    // How the SIP legs notice a PBX that vanished without a BYE (RFC 4028 timers, OPTIONS probes).
    const liveness = {
      sessionExpiresS: config.calls.session_timer.expires_s, minSeS: config.calls.session_timer.min_se_s, optionsPingS: config.calls.options_ping_s,
    };
    drachtio = new DrachtioConnection(
      { host: config.drachtio.host, port: config.drachtio.port, secret: secrets.drachtioSecret ?? '' },
      { logger, metrics },
    );
    new PbxTrunkServer(drachtio.srf, {
      trunks: new TrunkDirectory(config.trunks),
      passwords: secrets.trunkPasswords,
      // A call that cannot get media must be refused at once rather than ring into silence.
      canTakeCalls: async () => ((await engine.ping()) ? { ok: true } : { ok: false, reason: 'media engine (rtpengine) unavailable' }),
      onCall: async (leg, trunk) => { await intake.handleInvite(leg, trunk); },
      liveness,
      logger,
    }).install();
    drachtio.start();
    const conn = drachtio;
    readiness.register('drachtio', () => conn.readiness());
    dialer = new DrachtioPbxDialer(conn.srf, () => conn.connected, logger, liveness);
  } else {
    readiness.register('drachtio', () => ({ ok: true, detail: 'disabled: no drachtio section in the config (webhooks only)' }));
  }

  const whatsappCalls = new WhatsAppCallIntake({
    registry, numbers, media, dialer, inboundPasswords: secrets.inboundPasswords ?? new Map(), logger, metrics,
    mediaWatch: mediaWatchTiming(config),
  });

  const dispatcher = new EventDispatcher({
    numbers: byPhoneNumberId,
    maxEventAgeS: config.webhook.max_event_age_s,
    dedupeCapacity: config.webhook.dedupe_capacity,
    logger,
    metrics,
    handle: async (event, numberName) => {
      opts.onEvent?.(event, numberName);
      if (event.kind === 'account.notice' || event.kind === 'permission.replied') { control.handleEvent(event, numberName); return; }
      const routed = registry.route(event);
      if (routed === 'unmatched' && event.kind === 'call.offered' && numberName) await whatsappCalls.handleOffer(event, numberName);
    },
  });

  const app = buildHttpApp({ logger, metrics, readiness });
  await control.attach(app);
  const webhookLog = logger.child({ component: 'webhook' });
  await registerWebhookIngress(app, {
    path: config.webhook.path,
    verifyToken: secrets.verifyToken,
    verifier: new WebhookVerifier(secrets.appSecret),
    signatureHeader: 'x-hub-signature-256',
    maxBodyBytes: config.webhook.max_body_bytes,
    logger,
    metrics,
    onDelivery: async (body) => {
      const parsed = parseMetaWebhook(body);
      for (const ig of parsed.ignored) webhookLog.debug({ where: ig.where, reason: ig.reason }, 'webhook content ignored or noted');
      await dispatcher.dispatch(parsed.events);
    },
  });

  const url = await app.listen({ host: config.http.host, port: opts.port ?? config.http.port });
  log.info({
    url,
    numbers: config.numbers.map((n) => ({ name: n.name, phoneNumberId: n.phone_number_id, mode: n.mode, baseUrl: n.base_url })),
    trunks: config.trunks.map((t) => t.name),
    sip: config.drachtio ? `${config.drachtio.host}:${config.drachtio.port}` : 'disabled',
    media: config.rtpengine ? config.rtpengine.engines.map((e) => `${e.host}:${e.port}`) : 'disabled',
  }, 'watrunk started');

  return {
    app, url, logger, metrics, dispatcher, registry,
    whatsappCalls, control, ...(media ? { media } : {}), ...(pbxCalls ? { pbxCalls } : {}), ...(drachtio ? { drachtio } : {}),
    async stop() {
      // Calls left open on WhatsApp are billed: end every call before going away.
      const active = registry.all();
      if (active.length) log.info({ calls: active.length }, 'ending active calls before stopping');
      await Promise.allSettled(active.map((c) => c.shutdown().then(() => c.whenEnded())));
      drachtio?.stop();
      await app.close();
      await control.close();
      await Promise.all([...numbers.values()].map((n) => n.close()));
      log.info('watrunk stopped');
    },
  };
}
