import type { Logger } from '../../logging.js';
import type { Metrics } from '../../metrics.js';
import type { WhatsAppCalls, WhatsAppPermissions, WhatsAppSettings } from '../../calls/ports/whatsapp-provider.js';
import { D360Calls } from './d360-calls.js';
import { D360Client } from './d360-client.js';
import { D360Permissions } from './d360-permissions.js';
import { D360Settings } from './d360-settings.js';
import { D360_DEFAULT_BASE_URL, type D360Target } from './d360-types.js';

export interface D360NumberOptions {
  /** For logs only, e.g. the number's config name. */
  name: string;
  /** The number's 360dialog API key (a secret, resolved from the environment by the caller). */
  apiKey: string;
  /** Default https://waba-v2.360dialog.io. */
  baseUrl?: string;
  /** Per-attempt request timeout. */
  timeoutMs: number;
}

export interface D360NumberDeps {
  logger: Logger;
  metrics: Metrics;
  /** Pause before the single allowed retry; tests shorten it. */
  retryDelayMs?: number;
  /** A client shared with other numbers on the same base URL (one pool of warm connections). */
  client?: D360Client;
}

export interface D360Number {
  calls: WhatsAppCalls;
  permissions: WhatsAppPermissions;
  settings: WhatsAppSettings;
  /** Closes the client if this number created it; a shared one is left to its owner. */
  close(): Promise<void>;
}

/** The 360dialog ports for one business number (docs/providers.md#360dialog). */
export function createD360Number(opts: D360NumberOptions, deps: D360NumberDeps): D360Number {
  if (opts.apiKey === '') throw new Error(`number ${opts.name}: the 360dialog API key is empty`);
  const baseUrl = opts.baseUrl ?? D360_DEFAULT_BASE_URL;
  const shared = deps.client;
  if (shared && shared.origin !== new URL(baseUrl).origin) {
    throw new Error(`number ${opts.name}: shared 360dialog client is for ${shared.origin}, not ${baseUrl}`);
  }
  const client = shared ?? new D360Client({
    baseUrl,
    logger: deps.logger.child({ number: opts.name }),
    metrics: deps.metrics,
    ...(deps.retryDelayMs !== undefined && { retryDelayMs: deps.retryDelayMs }),
  });
  const target: D360Target = { apiKey: opts.apiKey, timeoutMs: opts.timeoutMs };
  return {
    calls: new D360Calls(client, target),
    permissions: new D360Permissions(client, target),
    settings: new D360Settings(client, target),
    close: async () => {
      if (!shared) await client.close();
    },
  };
}
