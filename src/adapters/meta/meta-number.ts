import type { NumberConfig } from '../../config/schema.js';
import type { Logger } from '../../logging.js';
import type { Metrics } from '../../metrics.js';
import type { WhatsAppCalls, WhatsAppPermissions, WhatsAppSettings } from '../../calls/ports/whatsapp-provider.js';
import { GraphClient } from './graph-client.js';
import type { GraphTarget } from './graph-types.js';
import { MetaCalls } from './meta-calls.js';
import { MetaPermissions } from './meta-permissions.js';
import { MetaSettings } from './meta-settings.js';

export interface MetaNumber {
  calls: WhatsAppCalls;
  permissions: WhatsAppPermissions;
  settings: WhatsAppSettings;
  /** Closes the Graph client if this number created it; a shared one is left to its owner. */
  close(): Promise<void>;
}

export interface MetaNumberDeps {
  logger: Logger;
  metrics: Metrics;
  /** Pause before the single allowed retry (graph-retry.ts); tests shorten it. */
  retryDelayMs?: number;
  /**
   * A client for config.base_url shared with other numbers on the same base URL (one pool of
   * warm connections). Without it, the number gets its own client.
   */
  graphClient?: GraphClient;
}

/** The Meta Cloud API ports for one business number. */
export function createMetaNumber(config: NumberConfig, accessToken: string, deps: MetaNumberDeps): MetaNumber {
  if (config.phone_number_id === undefined) throw new Error(`number ${config.name}: Meta's Graph API needs phone_number_id`);
  const shared = deps.graphClient;
  if (shared && shared.origin !== new URL(config.base_url).origin) {
    throw new Error(`number ${config.name}: shared Graph client is for ${shared.origin}, not ${config.base_url}`);
  }
  const graph = shared ?? new GraphClient({
    baseUrl: config.base_url,
    logger: deps.logger.child({ number: config.name }),
    metrics: deps.metrics,
    ...(deps.retryDelayMs !== undefined && { retryDelayMs: deps.retryDelayMs }),
  });
  const target: GraphTarget = {
    phoneNumberId: config.phone_number_id,
    graphVersion: config.graph_version,
    accessToken,
    timeoutMs: config.timeout_ms,
  };
  return {
    calls: new MetaCalls(graph, target),
    permissions: new MetaPermissions(graph, target),
    settings: new MetaSettings(graph, target),
    close: async () => {
      if (!shared) await graph.close();
    },
  };
}
