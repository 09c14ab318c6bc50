import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ConfigError, type LoadedConfig } from './config/load.js';
import { metaSipStartProblems } from './config/meta-sip-schema.js';
import type { ConfigFile } from './config/schema.js';
import { startHttpListeners } from './http/listeners.js';
import { Readiness } from './http/readiness.js';
import { createLogger, type Logger } from './logging.js';
import { Metrics } from './metrics.js';
import { parseMetaWebhook } from './adapters/meta/webhook-parser.js';
import { WebhookVerifier } from './adapters/meta/webhook-verifier.js';
import { DrachtioConnection } from './adapters/drachtio/drachtio-connection.js';
import { DrachtioPbxDialer } from './adapters/drachtio/uac-leg.js';
import { PbxTrunkServer } from './adapters/drachtio/pbx-trunk-server.js';
import { RtpengineMedia } from './adapters/rtpengine/rtpengine-media.js';
import { EventLoopLag, OverloadGuard } from './calls/overload-guard.js';
import { WhatsAppCallEnder } from './calls/call-ending.js';
import { CallEventRouter } from './calls/call-event-router.js';
import { CallRegistry } from './calls/call-registry.js';
import { PbxAdmission } from './calls/pbx-admission.js';
import { PbxCallIntake, type BusinessNumber } from './calls/pbx-call-intake.js';
import type { MediaEngine } from './calls/ports/media-engine.js';
import type { PbxDialer } from './calls/ports/sip.js';
import { WhatsAppCallIntake } from './calls/whatsapp-call-intake.js';
import { TrunkDirectory } from './calls/trunk-directory.js';
import { NumberDirectory } from './calls/number-directory.js';
import { EventDispatcher } from './webhooks/event-dispatcher.js';
import { ControlPlane } from './control/control-plane.js';
import type { WhatsAppEvent } from './calls/ports/whatsapp-events.js';
import { NO_CALL_JOURNAL, type CallJournal } from './journal/call-journal.js';
import { CrashRecovery } from './journal/crash-recovery.js';
import { registerProviderIngress } from './providers/provider-ingress.js';
import { createProviderNumber, type ProviderNumber } from './providers/provider-number.js';
import { createMetaSipEdge, type MetaSipEdge } from './providers/meta-sip-edge.js';
import type { DeliveryVerifier } from './webhooks/ingress.js';

export interface RunningBridge {
  /** The public listener (config `http`): webhooks and /healthz. Closing it closes the internal one. */
  app: FastifyInstance;
  url: string;
  /** The internal listener (config `internal_http`): /healthz, /readyz, /metrics, admin API. */
  internalApp: FastifyInstance;
  internalUrl: string;
  logger: Logger;
  metrics: Metrics;
  dispatcher: EventDispatcher;
  registry: CallRegistry;
  media?: MediaEngine;
  /** PBX -> WhatsApp calls enter here (from the drachtio front door; tests call it directly). */
  pbxCalls?: PbxCallIntake;
  /** WhatsApp -> PBX calls enter here (from connect webhooks). */
  whatsappCalls: WhatsAppCallIntake;
  /** Calling control plane: permission cache and gate, restrictions, SIP mode, admin API (src/control). */
  control: ControlPlane;
  drachtio?: DrachtioConnection;
  /**
   * Drains and stops (SIGTERM/SIGINT; README "Signals and draining"): no new calls from the first
   * moment, every call ended, all within shutdown.grace_s. Calling it again returns the same promise.
   */
  stop(): Promise<void>;
}

export interface BridgeOptions {
  logger?: Logger;
  /** Observe every event that reaches the call logic (tests, the demo). */
  onEvent?: (event: WhatsAppEvent, numberName: string | undefined) => void;
  /** Override the public listen port, http.port (0 = ephemeral). */
  port?: number;
  /** Use this media engine instead of building one from config (tests). */
  media?: MediaEngine;
  /** Use this dialer for INVITEs to the PBX when there is no drachtio section (tests). */
  dialer?: PbxDialer;
  /**
   * The journal of live WhatsApp calls (`watrunk start` opens it from journal.*); the bridge owns
   * it from here and closes it on stop. Absent: nothing journaled, nothing recovered (tests).
   */
  journal?: CallJournal;
}

const REFUSE_ALL: DeliveryVerifier = { verify: () => false };

/** After the calls, this much of shutdown.grace_s (at most a quarter) is kept for closing connections. */
const CLOSE_RESERVE_MS = 1_000;
/** While stopping, a terminate/reject unanswered this long (at most a quarter of the grace) is sent again. */
const DRAIN_ATTEMPT_WAIT_MS = 2_000;

/** Whether `work` settled (either way) before `deadline` (epoch ms). */
async function settledBy(work: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now())); });
  try {
    return await Promise.race([work.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
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
  // mode sip needs a SIP host name, drachtio-server and rtpengine (docs/sip-mode.md#configuration).
  const sipProblems = metaSipStartProblems({ ...config, ...(opts.media && { rtpengine: true }) });
  if (sipProblems.length) throw new ConfigError(sipProblems, loaded.file);
  const logger = opts.logger ?? createLogger(config.log.level);
  const metrics = new Metrics({ defaultMetrics: true });
  const readiness = new Readiness();
  // Calling control plane: restrictions and SIP mode in /readyz, admin API, permission gate (src/control).
  const directory = new NumberDirectory(config.numbers);
  const control = new ControlPlane({ config, directory, accessTokens: secrets.accessTokens, providerSecrets: secrets.providers ?? new Map(), logger, metrics });
  for (const { name, check } of control.readinessChecks()) readiness.register(name, check);
  const registry = new CallRegistry();
  const log = logger.child({ component: 'bridge' });
  // terminate/reject retried until Meta confirms, outside every call's queue (src/calls/call-ending.ts).
  const ender = new WhatsAppCallEnder({ logger, metrics });
  const journal = opts.journal ?? NO_CALL_JOURNAL;

  // The SIP side: PBX trunks, and Meta's edge for numbers in mode sip (connected further down).
  const drachtio = config.drachtio && (opts.media || config.rtpengine)
    ? new DrachtioConnection({ host: config.drachtio.host, port: config.drachtio.port, secret: secrets.drachtioSecret ?? '' }, { logger, metrics })
    : undefined;
  // SIP-mode events (Meta's SIP answers and INVITEs) take the same path as webhook events.
  let dispatcher: EventDispatcher | undefined;
  const emitSipEvents = (events: WhatsAppEvent[]) => { void dispatcher?.dispatch(events); };

  // Each number's ports from its provider (src/providers/provider-number.ts; docs/providers.md).
  const providerSecrets = secrets.providers ?? new Map();
  const providerNumbers = new Map<string, ProviderNumber>();
  for (const n of config.numbers) {
    providerNumbers.set(n.name, createProviderNumber(n, {
      ...(secrets.accessTokens.has(n.name) && { accessToken: secrets.accessTokens.get(n.name)! }),
      ...(providerSecrets.has(n.name) && { secrets: providerSecrets.get(n.name)! }),
    }, { logger, metrics }));
  }
  // mode sip: calls go over SIP to Meta's edge instead of the Graph API (docs/sip-mode.md).
  const metaSip: MetaSipEdge | undefined = drachtio && config.numbers.some((n) => n.mode === 'sip')
    ? createMetaSipEdge({
      numbers: config.numbers, srf: drachtio.srf, connected: () => drachtio.connected,
      settingsFor: (name) => providerNumbers.get(name)?.settings, fixedPasswords: secrets.metaSipPasswords ?? new Map(),
      emit: emitSipEvents, logger, metrics,
    })
    : undefined;
  const numbers = new Map<string, BusinessNumber & { close(): Promise<void> }>();
  for (const n of config.numbers) {
    const p = providerNumbers.get(n.name)!;
    numbers.set(n.name, { config: n, calls: metaSip?.callsFor(n.name) ?? p.calls, close: () => p.close() });
  }

  // --- media ---
  let media: MediaEngine | undefined = opts.media;
  if (!media && config.rtpengine) {
    media = new RtpengineMedia({
      engines: config.rtpengine.engines,
      timeoutMs: config.rtpengine.timeout_ms,
      retransmitMs: config.rtpengine.retransmit_ms,
      onRetransmit: () => metrics.ngRetransmissions.inc(),
    });
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

  // Calls a crash left open at Meta: ended now (README "Crash recovery (the call journal)").
  const recovery = new CrashRecovery({
    journal, ender, logger, metrics,
    numbers: new Map([...numbers].map(([name, n]) => [name, n.calls])),
    connectingWindowMs: (config.webhook.max_event_age_s + config.calls.no_answer_timeout_s) * 1000,
  });
  recovery.start();

  // --- calls and SIP ---
  const eventLoopLag = new EventLoopLag();
  // One guard for both call directions (docs/sip.md#overload).
  const overload = new OverloadGuard({
    maxSetupsInFlight: config.calls.overload.max_setups_in_flight,
    maxEventLoopLagMs: config.calls.overload.max_event_loop_lag_ms,
    retryAfterS: config.calls.overload.retry_after_s,
  }, eventLoopLag);
  const pbxCalls = media
    ? new PbxCallIntake({
      admission: new PbxAdmission(directory, (name) => registry.countForNumber(name)),
      registry, numbers, media, timing: outboundTiming(config), logger, metrics, permissionGate: control.permissionGate, ender, journal,
      minSessionExpiresS: config.calls.session_timer.min_se_s,
      connectOutcomeUnknown: (call) => recovery.adopt(call),
      overload,
    })
    : undefined;
  let dialer: PbxDialer | undefined = opts.dialer;
  if (drachtio && config.drachtio && media && pbxCalls) {
    const intake = pbxCalls;
    // How the SIP legs notice a PBX that vanished without a BYE (RFC 4028 timers, OPTIONS probes).
    const liveness = {
      sessionExpiresS: config.calls.session_timer.expires_s, minSeS: config.calls.session_timer.min_se_s, optionsPingS: config.calls.options_ping_s,
    };
    new PbxTrunkServer(drachtio.srf, {
      trunks: new TrunkDirectory(config.trunks),
      passwords: secrets.trunkPasswords,
      onInvite: async (invite) => { await intake.handleInvite(invite); },
      liveness,
      logger,
      ...(metaSip && { metaEdge: metaSip.ingress }),
    }).install();
    drachtio.start();
    metaSip?.start();
    const conn = drachtio;
    readiness.register('drachtio', () => conn.readiness());
    dialer = new DrachtioPbxDialer(conn.srf, () => conn.connected, logger, liveness);
  } else {
    readiness.register('drachtio', () => ({ ok: true, detail: 'disabled: no drachtio section in the config (webhooks only)' }));
  }
  if (metaSip) readiness.register('meta_sip', () => metaSip.readiness());

  const whatsappCalls = new WhatsAppCallIntake({
    registry, numbers, media, dialer, inboundPasswords: secrets.inboundPasswords ?? new Map(), logger, metrics,
    mediaWatch: mediaWatchTiming(config), ender, journal, overload,
  });


  // Where each webhook event goes, in order (src/calls/call-event-router.ts).
  const router = new CallEventRouter({ registry, control, ender, recovery, userCalls: whatsappCalls });
  dispatcher = new EventDispatcher({
    numbers: directory,
    maxEventAgeS: config.webhook.max_event_age_s,
    dedupeCapacity: config.webhook.dedupe_capacity,
    logger,
    metrics,
    handle: async (event, numberName) => {
      opts.onEvent?.(event, numberName);
      await router.route(event, numberName);
    },
  });

  // Two listeners (src/http/listeners.ts): the public one for Meta's webhooks, the internal one
  // for /readyz, /metrics and the admin API.
  const webhookLog = logger.child({ component: 'webhook' });
  const { publicApp: app, publicUrl: url, internalApp, internalUrl } = await startHttpListeners({
    config, logger, metrics, readiness,
    ...(opts.port !== undefined && { publicPort: opts.port }),
    attachInternal: (internal) => control.attach(internal, secrets.adminToken),
    // 360dialog webhooks, CAMS and Concepto Móvil events (src/providers/provider-ingress.ts).
    attachPublic: (pub) => registerProviderIngress(pub, {
      config, numbers: providerNumbers, secrets: providerSecrets, dispatch: (events, receivedAt) => dispatcher.dispatch(events, receivedAt), logger, metrics,
    }),
    webhook: {
      // Without a Meta number there are no Meta secrets: the Meta webhook then refuses everything.
      verifyToken: secrets.verifyToken || randomBytes(32).toString('hex'),
      verifier: secrets.appSecret ? new WebhookVerifier(secrets.appSecret) : REFUSE_ALL,
      signatureHeader: 'x-hub-signature-256',
      onDelivery: async (body, receivedAt) => {
        const parsed = parseMetaWebhook(body);
        for (const ig of parsed.ignored) webhookLog.debug({ where: ig.where, reason: ig.reason }, 'webhook content ignored or noted');
        await dispatcher.dispatch(parsed.events, receivedAt);
      },
    },
  });
  log.info({
    url, internalUrl,
    numbers: config.numbers.map((n) => ({
      name: n.name, provider: n.provider, phoneNumberId: n.phone_number_id, mode: n.mode,
      baseUrl: n.provider === 'meta' ? n.base_url : (n.d360?.base_url ?? n.cams?.endpoint ?? n.conceptomovil?.base_url),
    })),
    trunks: config.trunks.map((t) => t.name),
    sip: config.drachtio ? `${config.drachtio.host}:${config.drachtio.port}` : 'disabled',
    media: config.rtpengine ? config.rtpengine.engines.map((e) => `${e.host}:${e.port}`) : 'disabled',
  }, 'watrunk started');

  /**
   * Calls left open on WhatsApp are billed. From the first moment: no new calls (INVITE 503, user
   * calls rejected, /readyz 503) while webhooks are still answered 200, so Meta does not retry into
   * a dead process; every call is ended, late arrivals included, terminate/reject sent in parallel
   * with short deadlines; all of it bounded by shutdown.grace_s. What Meta has not confirmed by then
   * stays in the call journal for the next start.
   */
  async function drainAndStop(): Promise<void> {
    const graceMs = config.shutdown.grace_s * 1000;
    const closeBy = Date.now() + graceMs;
    const endCallsBy = closeBy - Math.min(CLOSE_RESERVE_MS, graceMs / 4);
    registry.stopTakingCalls((late) => {
      log.info({ callId: late.id }, 'a call arrived while stopping: ending it');
      void late.shutdown();
    });
    readiness.drain('watrunk is stopping: taking no new calls');
    ender.drain({ attemptWaitMs: Math.min(DRAIN_ATTEMPT_WAIT_MS, graceMs / 4) });
    const active = registry.all();
    log.info({ calls: active.length, graceS: config.shutdown.grace_s }, 'stopping: taking no new calls, ending the active ones');
    for (const call of active) void call.shutdown();
    const callsEnded = await settledBy(registry.whenEmpty(), endCallsBy);
    if (!callsEnded) log.error({ calls: registry.all().map((c) => c.id) }, 'calls not ended by the shutdown deadline: the ones WhatsApp may bill stay in the call journal for the next start');
    await ender.whenIdle(endCallsBy);
    ender.abandonPending();
    recovery.stop();
    eventLoopLag.stop();
    metaSip?.stop();
    drachtio?.stop();
    await settledBy(app.close(), closeBy);
    await settledBy(control.close(), closeBy);
    await settledBy(Promise.all([...numbers.values()].map((n) => n.close())), closeBy);
    await settledBy(journal.close(), closeBy);
    log.info({ callsLeft: registry.size }, 'watrunk stopped');
  }
  let stopping: Promise<void> | undefined;

  return {
    app, url, internalApp, internalUrl, logger, metrics, dispatcher, registry,
    whatsappCalls, control, ...(media ? { media } : {}), ...(pbxCalls ? { pbxCalls } : {}), ...(drachtio ? { drachtio } : {}),
    stop: () => (stopping ??= drainAndStop()),
  };
}
