import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../logging.js';
import { endCall } from './call-lifecycle.js';
import { viewOf, type SimulatedCallView } from './call-state.js';
import {
  loadSimulatorConfig, parseSimulatorConfig, type SimulatorConfig, type SimulatorConfigInput,
} from './config.js';
import { registerControlRoutes } from './control-routes.js';
import { registerDialectRoutes } from './dialects/index.js';
import type { FaultRequest } from './fault-plan.js';
import { GraphError, invalidParameter } from './graph-error.js';
import { registerGraphRoutes, sendGraphError } from './graph-routes.js';
import { loadMediaFactory } from './media-loader.js';
import type { SimulatedMediaFactory } from './media/types.js';
import { buildRuntime, type SimulatorRuntime } from './runtime.js';
import { startUserCall, type UserCallRequest } from './user-initiated.js';
import { SimulatorSipEdge } from './sip-edge/sip-edge.js';
import type { DeliveryRecord } from './webhook-delivery.js';

/**
 * `watrunk simulate`: a local stand-in for Meta's WhatsApp Calling API (docs/whatsapp-calling.md).
 * Graph paths under any version prefix, signed webhooks to each number's webhook_url, scripted
 * users, permissions and settings, fault injection, and a control API under /_sim/.
 */

export { simulatorConfigSchema, loadSimulatorConfig, parseSimulatorConfig } from './config.js';
export type { SimulatorConfig, SimulatorConfigInput, UserRule } from './config.js';
export type { SimulatedCallView } from './call-state.js';
export type { UserCallRequest } from './user-initiated.js';
export type { FaultRequest } from './fault-plan.js';
export type { DeliveryRecord } from './webhook-delivery.js';
export { signWebhookBody } from './webhook-delivery.js';
export { SimulatorRequestError } from './user-initiated.js';

export interface SimulatorDeps {
  logger: Logger;
  /** The simulated users' media; default: loaded from src/simulator/media/ per `media.mode`. */
  media?: SimulatedMediaFactory;
  /** Epoch ms; drives timestamps, permission windows and "past" holidays. Default Date.now. */
  clock?: () => number;
  /** Where *_env secrets are read. Default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface Simulator {
  app: FastifyInstance;
  listen(): Promise<{ port: number; url: string }>;
  close(): Promise<void>;
  startUserCall(req: UserCallRequest): Promise<{ callId: string }>;
  listCalls(): SimulatedCallView[];
  getCall(id: string): SimulatedCallView | undefined;
  /** Every webhook sent so far (bounded by limits.max_calls_kept). */
  webhooks(): DeliveryRecord[];
  /** Faults for the next webhooks, as POST /_sim/faults. */
  injectFaults(req: FaultRequest): void;
  /** Resolves once no webhook is queued, delayed or held (bounded wait). */
  webhooksIdle(maxWaitMs?: number): Promise<void>;
  /** Back to the configured state, as POST /_sim/reset. */
  reset(): Promise<void>;
  /** Meta's SIP password reset for a number (a new password), as POST /_sim/numbers/:pnid/sip-password/rotate. */
  rotateSipPassword(phoneNumberId: string): void;
  /** The simulated SIP edge, when config sip_edge is set (connected by listen()). */
  sipEdge?: SimulatorSipEdge;
}

const UNLOADED_MEDIA: SimulatedMediaFactory = {
  mode: 'signalling-only',
  create() {
    throw new Error('simulated media is not loaded yet (it loads when the server becomes ready)');
  },
};

async function endAllSilently(rt: SimulatorRuntime): Promise<void> {
  await Promise.all(rt.calls.active().map((c) => endCall(rt, c, { by: 'simulator', status: 'COMPLETED', reason: 'simulator reset', notify: false })));
}

function buildApp(rt: SimulatorRuntime, reset: () => Promise<void>): FastifyInstance {
  const app = Fastify({
    loggerInstance: rt.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1_048_576,
    forceCloseConnections: true,
    // wacids are 60–100+ characters (docs/whatsapp-calling.md#user-identities) and appear in /_sim/calls/:id
    routerOptions: { maxParamLength: 1024 },
  });
  const isControl = (url: string) => url.startsWith('/_sim/') || url === '/_sim';
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (isControl(req.url)) return reply.code(status).send({ error: err.message });
    if (status === 500) rt.log.error({ err, url: req.url }, 'simulator request failed');
    // Malformed JSON and friends are Graph parameter errors; anything else is Graph's code 1.
    return sendGraphError(rt, reply, status === 500 ? new GraphError(1) : invalidParameter(err.message));
  });
  app.setNotFoundHandler((req, reply) => {
    if (isControl(req.url)) return reply.code(404).send({ error: `no route ${req.method} ${req.url}` });
    return sendGraphError(rt, reply, new GraphError(2500, undefined, `Unknown path components: ${req.url.split('?')[0]}`));
  });
  registerGraphRoutes(app, rt);
  registerDialectRoutes(app, rt);
  registerControlRoutes(app, rt, { reset });
  return app;
}

/** Builds the simulator; nothing listens until `listen()` (or use `app.inject`). */
export function createSimulator(config: SimulatorConfig | SimulatorConfigInput, deps: SimulatorDeps): Simulator {
  const parsed = parseSimulatorConfig(config);
  const rt = buildRuntime(parsed, { logger: deps.logger, media: deps.media ?? UNLOADED_MEDIA, ...(deps.clock ? { clock: deps.clock } : {}), ...(deps.env ? { env: deps.env } : {}) });

  const reset = async () => {
    await endAllSilently(rt);
    rt.timers.clearAll();
    rt.calls.clear();
    rt.permissions.reset();
    rt.settings.reset();
    rt.faults.reset();
    rt.ids.reset();
    rt.webhooks.reset();
    rt.messages.length = 0;
    rt.graphVersions.clear();
    rt.log.info('simulator reset');
  };
  const app = buildApp(rt, reset);
  // Meta's SIP edge (config sip_edge): its own drachtio-server and an rtpengine as Meta's relay.
  const env = deps.env ?? process.env;
  const sipEdge = parsed.sip_edge
    ? new SimulatorSipEdge(rt, parsed.sip_edge, parsed.sip_edge.drachtio.secret ?? (parsed.sip_edge.drachtio.secret_env ? env[parsed.sip_edge.drachtio.secret_env] ?? '' : ''))
    : undefined;
  app.addHook('onReady', async () => {
    if (!deps.media) rt.media = await loadMediaFactory(parsed.media.mode);
  });

  return {
    app,
    async listen() {
      await app.listen({ host: parsed.http.host, port: parsed.http.port });
      if (sipEdge && !rt.sipEdge) {
        await sipEdge.start();
        rt.sipEdge = sipEdge;
      }
      const addr = app.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : parsed.http.port;
      const host = ['0.0.0.0', '::', ''].includes(parsed.http.host) ? '127.0.0.1' : parsed.http.host;
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      rt.log.info({ url, numbers: [...rt.numbers.keys()], media: rt.media.mode }, 'WhatsApp Calling API simulator listening');
      return { port, url };
    },
    async close() {
      await endAllSilently(rt);
      rt.timers.clearAll();
      await rt.webhooks.close();
      sipEdge?.stop();
      await app.close();
    },
    async startUserCall(req) {
      await app.ready();
      return startUserCall(rt, req);
    },
    listCalls: () => rt.calls.list().map(viewOf),
    getCall: (id) => {
      const call = rt.calls.get(id);
      return call ? viewOf(call) : undefined;
    },
    webhooks: () => [...rt.webhooks.records],
    injectFaults: (req) => rt.faults.inject(req),
    webhooksIdle: (maxWaitMs) => rt.webhooks.idle(maxWaitMs),
    reset,
    rotateSipPassword: (pnid) => rt.settings.rotateSipPassword(pnid),
    ...(sipEdge && { sipEdge }),
  };
}

export interface RunSimulatorOptions extends SimulatorDeps {
  /** Overrides http.port (e.g. 0 for an ephemeral port). */
  port?: number;
}

/** Load + create + listen: what `watrunk simulate --config <file>` runs. */
export async function runSimulatorFromFile(file: string, opts: RunSimulatorOptions): Promise<Simulator & { port: number; url: string }> {
  const config = loadSimulatorConfig(file, opts.env ?? process.env);
  if (opts.port !== undefined) config.http.port = opts.port;
  const sim = createSimulator(config, opts);
  const { port, url } = await sim.listen();
  return { ...sim, port, url };
}
