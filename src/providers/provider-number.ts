import { CamsCalls } from '../adapters/cams/cams-calls.js';
import { CamsClient } from '../adapters/cams/cams-client.js';
import { CamsSettings } from '../adapters/cams/cams-settings.js';
import type { CamsTarget } from '../adapters/cams/cams-types.js';
import { createConceptoMovilNumber } from '../adapters/conceptomovil/conceptomovil-number.js';
import { D360Client } from '../adapters/d360/d360-client.js';
import { createD360Number } from '../adapters/d360/d360-number.js';
import { D360PermissionRequestSender } from '../adapters/d360/d360-permission-requests.js';
import { GraphClient } from '../adapters/meta/graph-client.js';
import { createMetaNumber } from '../adapters/meta/meta-number.js';
import type { WhatsAppEvent } from '../calls/ports/whatsapp-events.js';
import type { WhatsAppCalls, WhatsAppPermissions, WhatsAppSettings } from '../calls/ports/whatsapp-provider.js';
import type { ProviderName } from '../config/provider-capabilities.js';
import type { ProviderSecrets } from '../config/provider-secrets.js';
import type { NumberConfig } from '../config/schema.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import { MetaPermissionRequestSender, type PermissionRequestSender } from '../permissions/permission-requests.js';
import { UnsupportedPermissions } from './unsupported-permissions.js';

/**
 * One business number's WhatsApp ports, built from its `provider` (docs/providers.md): the call
 * actions for the call logic, settings and permissions for the control plane. Providers without a
 * permissions API get UnsupportedPermissions; their settings adapters refuse what the provider
 * cannot do (CAMS: no writes; Concepto Móvil: no reads, no `sip`).
 */
export interface ProviderNumber {
  provider: ProviderName;
  calls: WhatsAppCalls;
  settings: WhatsAppSettings;
  permissions: WhatsAppPermissions;
  requests: PermissionRequestSender;
  /** The events parsed for this number, before they are dispatched (Concepto Móvil learns each call's user). */
  noteEvents(events: readonly WhatsAppEvent[]): void;
  close(): Promise<void>;
}

export interface ProviderNumberDeps {
  logger: Logger;
  metrics: Metrics;
  /** Pause before an adapter's single retry (tests shorten it). */
  retryDelayMs?: number;
  /** Meta: a Graph client for the number's base_url, also used by other numbers (left open on close). */
  graphClient?: GraphClient;
}

export interface ProviderCredentials {
  /** Meta's access token. */
  accessToken?: string;
  /** The other providers' secrets (config/provider-secrets.ts). */
  secrets?: ProviderSecrets;
}

const ignoreEvents = (): void => {};

/** Throws when a credential is missing (the config loader has already named the variable). */
export function createProviderNumber(n: NumberConfig, creds: ProviderCredentials, deps: ProviderNumberDeps): ProviderNumber {
  const retry = deps.retryDelayMs !== undefined ? { retryDelayMs: deps.retryDelayMs } : {};
  const s = creds.secrets;
  switch (n.provider) {
    case 'meta': {
      const owned = deps.graphClient === undefined;
      const graph = deps.graphClient ?? new GraphClient({ baseUrl: n.base_url, logger: deps.logger.child({ number: n.name }), metrics: deps.metrics, ...retry });
      const token = creds.accessToken ?? '';
      const meta = createMetaNumber(n, token, { logger: deps.logger, metrics: deps.metrics, graphClient: graph, ...retry });
      const target = { phoneNumberId: n.phone_number_id ?? '', graphVersion: n.graph_version, accessToken: token, timeoutMs: n.timeout_ms };
      return {
        provider: 'meta', calls: meta.calls, settings: meta.settings, permissions: meta.permissions,
        requests: new MetaPermissionRequestSender(meta.permissions, graph, target), noteEvents: ignoreEvents,
        close: async () => { if (owned) await graph.close(); },
      };
    }
    case '360dialog': {
      if (s?.provider !== '360dialog' || !n.d360) throw new Error(`number ${n.name}: no 360dialog credentials`);
      const client = new D360Client({ baseUrl: n.d360.base_url, logger: deps.logger.child({ number: n.name }), metrics: deps.metrics, ...retry });
      const d360 = createD360Number({ name: n.name, apiKey: s.apiKey, baseUrl: n.d360.base_url, timeoutMs: n.timeout_ms }, { logger: deps.logger, metrics: deps.metrics, client });
      return {
        provider: '360dialog', calls: d360.calls, settings: d360.settings, permissions: d360.permissions,
        requests: new D360PermissionRequestSender(d360.permissions, client, { apiKey: s.apiKey, timeoutMs: n.timeout_ms }),
        noteEvents: ignoreEvents,
        close: () => client.close(),
      };
    }
    case 'cams': {
      if (s?.provider !== 'cams' || !n.cams) throw new Error(`number ${n.name}: no CAMS credentials`);
      if (s.accessKeyId === '' || s.accessKeySecret === '') throw new Error(`number ${n.name}: the CAMS AccessKey is empty`);
      const client = new CamsClient({ endpoint: n.cams.endpoint, logger: deps.logger.child({ number: n.name }), metrics: deps.metrics, ...retry });
      const target: CamsTarget = {
        custSpaceId: n.cams.cust_space_id,
        businessNumber: n.cams.business_number ?? n.display_number,
        credentials: { accessKeyId: s.accessKeyId, accessKeySecret: s.accessKeySecret, ...(s.securityToken && { securityToken: s.securityToken }) },
        timeoutMs: n.timeout_ms,
      };
      const none = new UnsupportedPermissions('cams');
      return {
        provider: 'cams', calls: new CamsCalls(client, target), settings: new CamsSettings(client, target),
        permissions: none, requests: none, noteEvents: ignoreEvents, close: () => client.close(),
      };
    }
    case 'conceptomovil': {
      if (s?.provider !== 'conceptomovil' || !n.conceptomovil) throw new Error(`number ${n.name}: no Concepto Móvil credentials`);
      const c = n.conceptomovil;
      const cm = createConceptoMovilNumber({
        name: n.name, baseUrl: c.base_url, apiKey: s.apiKey, apiToken: s.apiToken,
        businessNumber: c.business_number ?? n.display_number, timeoutMs: n.timeout_ms, tokenTtlMs: c.token_ttl_ms,
        ...(c.waba_id !== undefined && { wabaId: c.waba_id }),
        ...(c.settings_phone_number !== undefined && { settingsPhoneNumber: c.settings_phone_number }),
        paths: {
          ...(c.paths.token !== undefined && { token: c.paths.token }),
          ...(c.paths.calls !== undefined && { calls: c.paths.calls }),
          ...(c.paths.call_settings !== undefined && { callSettings: c.paths.call_settings }),
        },
      }, { logger: deps.logger, metrics: deps.metrics, ...retry });
      const none = new UnsupportedPermissions('conceptomovil');
      return {
        provider: 'conceptomovil', calls: cm.calls, settings: cm.settings, permissions: none, requests: none,
        // Its call API wants the user on every action; the user is learnt from the events (docs/providers.md#concepto-movil).
        noteEvents: (events) => cm.callUsers.noteEvents(events),
        close: () => cm.close(),
      };
    }
  }
}

/** Ports that refuse every operation with `reason` (a number whose credentials were not read). */
export function unavailableProviderNumber(n: NumberConfig, reason: string): ProviderNumber {
  const fail = async (): Promise<never> => { throw new Error(`number ${n.name}: ${reason}`); };
  return {
    provider: n.provider,
    calls: { connect: fail, preAccept: fail, accept: fail, reject: fail, terminate: fail },
    settings: { getSettings: fail, updateSettings: fail },
    permissions: { getCallPermission: fail, sendPermissionRequest: fail },
    requests: { sendInteractive: fail, sendTemplate: fail },
    noteEvents: ignoreEvents,
    close: async () => {},
  };
}
