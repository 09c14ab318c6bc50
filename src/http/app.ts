import type { FastifyInstance } from 'fastify';
import { httpSchema, internalHttpSchema, type HttpConfig, type InternalHttpConfig } from '../config/schema.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import { addressSet, limitConnectionsPerAddress, limitRequestRatePerAddress } from './client-limits.js';
import { createEdgeApp } from './edge.js';
import type { Readiness } from './readiness.js';

/** Admin requests are small JSON documents. */
const INTERNAL_BODY_LIMIT = 65_536;

/**
 * The public listener (config `http`): only /healthz here; the webhook ingress registers itself on
 * it (src/webhooks/ingress.ts). Nothing else is reachable, so exposing it to Meta exposes nothing
 * more. Per-address connection and request limits apply to every request on it.
 */
export function buildPublicApp(deps: { logger: Logger; metrics: Metrics; maxBodyBytes: number; settings?: HttpConfig }): FastifyInstance {
  const settings = deps.settings ?? httpSchema.parse({});
  const { app, refusals } = createEdgeApp({
    listener: 'public', timeouts: settings, bodyLimit: deps.maxBodyBytes, trustProxy: settings.trust_proxy,
    logger: deps.logger, metrics: deps.metrics,
  });
  if (settings.max_connections_per_ip > 0) {
    limitConnectionsPerAddress(app.server, { max: settings.max_connections_per_ip, exempt: addressSet(settings.trust_proxy), refusals });
  }
  if (settings.requests_per_ip_per_s > 0) {
    limitRequestRatePerAddress(app, { perSecond: settings.requests_per_ip_per_s, burst: settings.request_burst_per_ip });
  }
  app.get('/healthz', async () => ({ status: 'ok' }));
  return app;
}

/**
 * The internal listener (config `internal_http`, loopback by default): health, readiness, metrics;
 * the admin API registers itself on it (src/control/admin/admin-api.ts).
 */
export function buildInternalApp(deps: { logger: Logger; metrics: Metrics; readiness: Readiness; settings?: InternalHttpConfig }): FastifyInstance {
  const settings = deps.settings ?? internalHttpSchema.parse({});
  const { app } = createEdgeApp({ listener: 'internal', timeouts: settings, bodyLimit: INTERNAL_BODY_LIMIT, logger: deps.logger, metrics: deps.metrics });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const r = await deps.readiness.evaluate();
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not_ready', checks: r.checks });
  });

  app.get('/metrics', async (_req, reply) => {
    const body = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(body);
  });

  return app;
}
