import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import type { Readiness } from './readiness.js';

export interface HttpAppDeps {
  logger: Logger;
  metrics: Metrics;
  readiness: Readiness;
}

/**
 * The bridge's HTTP surface: health, readiness, metrics. Webhook ingress and the admin API are
 * registered on it by their own modules.
 */
export function buildHttpApp({ logger, metrics, readiness }: HttpAppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Webhook bodies are limited per route; this is the default for everything else.
    bodyLimit: 1_048_576,
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const r = await readiness.evaluate();
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not_ready', checks: r.checks });
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });

  return app;
}
