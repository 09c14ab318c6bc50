import type { Logger } from '../../logging.js';
import type { Metrics } from '../../metrics.js';
import type { WhatsAppCalls, WhatsAppSettings } from '../../calls/ports/whatsapp-provider.js';
import { phoneDigits } from '../meta/meta-recipient.js';
import { ConceptoMovilCallUsers } from './conceptomovil-call-users.js';
import { ConceptoMovilCalls } from './conceptomovil-calls.js';
import { ConceptoMovilClient } from './conceptomovil-client.js';
import { ConceptoMovilHttp } from './conceptomovil-http.js';
import { ConceptoMovilSettings } from './conceptomovil-settings.js';
import { ConceptoMovilTokenSource } from './conceptomovil-token.js';
import { CONCEPTOMOVIL_DEFAULT_PATHS, type ConceptoMovilPaths } from './conceptomovil-types.js';

export interface ConceptoMovilNumberOptions {
  /** For logs only, e.g. the number's config name. */
  name: string;
  /** The tenant's base URL (scheme + host, optional path prefix). Required: there is no public default. */
  baseUrl: string;
  /** Account credentials for the token exchange (resolved from the environment by the caller). */
  apiKey: string;
  apiToken: string;
  /** The business number, sent as `from` (digits; '+' and separators are stripped). */
  businessNumber: string;
  /** WhatsApp Business Account id, for the settings path; without it updateSettings is refused. */
  wabaId?: string;
  /** `{phone_number}` of the settings path. Default: businessNumber. */
  settingsPhoneNumber?: string;
  /** Overrides of the default service paths. */
  paths?: Partial<ConceptoMovilPaths>;
  /** Lifetime of a token whose answer states none. Default 1 hour. */
  tokenTtlMs?: number;
  /** Per-attempt request timeout (token exchange included). */
  timeoutMs: number;
}

export interface ConceptoMovilNumberDeps {
  logger: Logger;
  metrics: Metrics;
  retryDelayMs?: number;
  /** A transport shared with other numbers on the same tenant host. */
  http?: ConceptoMovilHttp;
  /** Shared call → user directory; by default one per number. */
  callUsers?: ConceptoMovilCallUsers;
}

/**
 * Concepto Móvil's ports for one business number. There is no permissions API (none documented),
 * so no WhatsAppPermissions: the wiring must treat permission checks as unavailable.
 */
export interface ConceptoMovilNumber {
  calls: WhatsAppCalls;
  settings: WhatsAppSettings;
  /** Feed it the events parsed for this number (noteEvents) so inbound call actions can name the user. */
  callUsers: ConceptoMovilCallUsers;
  close(): Promise<void>;
}

export function createConceptoMovilNumber(opts: ConceptoMovilNumberOptions, deps: ConceptoMovilNumberDeps): ConceptoMovilNumber {
  const businessNumber = phoneDigits(opts.businessNumber);
  if (businessNumber === '') throw new Error(`number ${opts.name}: the Concepto Móvil business number has no digits`);
  const paths: ConceptoMovilPaths = { ...CONCEPTOMOVIL_DEFAULT_PATHS, ...opts.paths };
  const logger = deps.logger.child({ number: opts.name });
  const shared = deps.http;
  if (shared && shared.origin !== new URL(opts.baseUrl).origin) {
    throw new Error(`number ${opts.name}: shared Concepto Móvil transport is for ${shared.origin}, not ${opts.baseUrl}`);
  }
  const http = shared ?? new ConceptoMovilHttp({ baseUrl: opts.baseUrl, logger, metrics: deps.metrics });
  const tokens = new ConceptoMovilTokenSource(http, {
    apiKey: opts.apiKey, apiToken: opts.apiToken, path: paths.token, timeoutMs: opts.timeoutMs,
    ...(opts.tokenTtlMs !== undefined && { ttlMs: opts.tokenTtlMs }),
  });
  const client = new ConceptoMovilClient({
    http, tokens, logger: logger.child({ component: 'conceptomovil' }), timeoutMs: opts.timeoutMs,
    ...(deps.retryDelayMs !== undefined && { retryDelayMs: deps.retryDelayMs }),
  });
  const callUsers = deps.callUsers ?? new ConceptoMovilCallUsers();
  return {
    calls: new ConceptoMovilCalls(client, { businessNumber, path: paths.calls }, callUsers),
    settings: new ConceptoMovilSettings(client, {
      pathTemplate: paths.callSettings, phoneNumber: opts.settingsPhoneNumber ?? businessNumber,
      ...(opts.wabaId !== undefined && { wabaId: opts.wabaId }),
    }),
    callUsers,
    close: async () => {
      if (!shared) await http.close();
    },
  };
}
