import type { FastifyInstance } from 'fastify';
import { StartupError } from '../config/load.js';
import type { ConfigFile } from '../config/schema.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import { registerWebhookIngress, type WebhookIngressOptions } from '../webhooks/ingress.js';
import { buildInternalApp, buildPublicApp } from './app.js';
import type { Readiness } from './readiness.js';

export interface HttpListeners {
  /** Webhooks and /healthz (config `http`). Closing it closes the internal one too. */
  publicApp: FastifyInstance;
  publicUrl: string;
  /** /healthz, /readyz, /metrics, admin API (config `internal_http`). */
  internalApp: FastifyInstance;
  internalUrl: string;
}

export interface HttpListenerDeps {
  config: Pick<ConfigFile, 'http' | 'internal_http' | 'webhook'>;
  logger: Logger;
  metrics: Metrics;
  readiness: Readiness;
  webhook: Pick<WebhookIngressOptions, 'verifyToken' | 'verifier' | 'signatureHeader' | 'onDelivery'>;
  /** Registers routes of its own on the internal listener before it listens (the admin API). */
  attachInternal?: (app: FastifyInstance) => Promise<void>;
  /** Registers more routes on the public listener before it listens (other providers' webhooks and events). */
  attachPublic?: (app: FastifyInstance) => Promise<void>;
  /** Overrides `http.port` (0: any free port). */
  publicPort?: number;
}

/**
 * Builds both listeners, registers their routes and starts listening. A failure to listen is a
 * StartupError naming the key to change (`http.port: 0.0.0.0:8080 is already in use`), and
 * leaves nothing listening.
 */
export async function startHttpListeners(d: HttpListenerDeps): Promise<HttpListeners> {
  const { config, logger, metrics } = d;
  const publicApp = buildPublicApp({ logger, metrics, maxBodyBytes: config.webhook.max_body_bytes, settings: config.http });
  await registerWebhookIngress(publicApp, {
    ...d.webhook, path: config.webhook.path, maxBodyBytes: config.webhook.max_body_bytes, logger, metrics,
  });
  await d.attachPublic?.(publicApp);
  const internalApp = buildInternalApp({ logger, metrics, readiness: d.readiness, settings: config.internal_http });
  await d.attachInternal?.(internalApp);
  publicApp.addHook('onClose', async () => { await internalApp.close(); });

  const publicUrl = await listen(publicApp, 'http', config.http.host, d.publicPort ?? config.http.port);
  let internalUrl: string;
  try {
    internalUrl = await listen(internalApp, 'internal_http', config.internal_http.host, config.internal_http.port);
  } catch (err) {
    await publicApp.close();
    throw err;
  }
  return { publicApp, publicUrl, internalApp, internalUrl };
}

async function listen(app: FastifyInstance, section: 'http' | 'internal_http', host: string, port: number): Promise<string> {
  try {
    return await app.listen({ host, port });
  } catch (err) {
    throw explainListenFailure(err, section, host, port);
  }
}

/** Turns a listen() errno into a one-line StartupError naming the key (https://man7.org/linux/man-pages/man2/bind.2.html). */
function explainListenFailure(err: unknown, section: string, host: string, port: number): unknown {
  switch ((err as NodeJS.ErrnoException)?.code) {
    case 'EADDRINUSE': return new StartupError(`${section}.port`, `${host}:${port} is already in use`);
    case 'EACCES': return new StartupError(`${section}.port`, `${port} needs privileges this process does not have (use a port above 1023)`);
    case 'EADDRNOTAVAIL': return new StartupError(`${section}.host`, `${host} is not an address of this machine`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN': return new StartupError(`${section}.host`, `${host} does not resolve to an address`);
    default: return err;
  }
}
