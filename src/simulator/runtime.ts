import type { SimulatedUser } from './user-rules.js';
import type { Logger } from '../logging.js';
import { CallStore } from './call-state.js';
import type { DialectSecrets } from './dialects/dialect-config.js';
import { webhookShapeFor } from './dialects/webhook-shapes.js';
import { resolveNumberSecrets, type SimNumberConfig, type SimulatorConfig } from './config.js';
import { FaultPlan } from './fault-plan.js';
import { IdFactory } from './ids.js';
import type { SimulatedMediaFactory } from './media/types.js';
import { PermissionStore } from './permission-state.js';
import { SettingsStore } from './settings-state.js';
import { TimerSet } from './timer-set.js';
import { UserDirectory } from './user-rules.js';
import { WebhookDelivery, type WebhookTarget } from './webhook-delivery.js';
import type { BusinessIdentity } from './webhook-payloads.js';

/** Everything the simulator's routes and call scripts share. One per simulator instance. */

export interface BusinessNumber {
  config: SimNumberConfig;
  identity: BusinessIdentity;
  accessToken: string;
  target: WebhookTarget;
  /** Credentials of the number's dialect (dialects/dialect-config.ts). */
  dialectSecrets: DialectSecrets;
}

export interface SimulatorRuntime {
  config: SimulatorConfig;
  clock: () => number;
  log: Logger;
  timers: TimerSet;
  ids: IdFactory;
  users: UserDirectory;
  calls: CallStore;
  permissions: PermissionStore;
  settings: SettingsStore;
  faults: FaultPlan;
  webhooks: WebhookDelivery;
  media: SimulatedMediaFactory;
  numbers: Map<string, BusinessNumber>;
  /** Meta's SIP edge (config sip_edge), for numbers with sip.status ENABLED; set once it connects. */
  sipEdge?: {
    startUserCall(number: BusinessNumber, user: SimulatedUser, extra: { ctaPayload?: string; deeplinkPayload?: string }): Promise<{ callId: string }>;
  };
  /** Graph versions seen in request paths, with counts (the configured one is only expected). */
  graphVersions: Map<string, number>;
  /** Messages sent through POST /messages (kept for the control API; bounded). */
  messages: Array<{ id: string; phone_number_id: string; to: string; type: string; at: number }>;
}

/** WABA id for webhooks' entry[].id when the config gives none: stable, derived from the number id. */
function defaultWabaId(phoneNumberId: string): string {
  return `1${phoneNumberId.slice(-14).padStart(14, '0')}`;
}

export function buildRuntime(
  config: SimulatorConfig,
  deps: { logger: Logger; media: SimulatedMediaFactory; clock?: () => number; env?: NodeJS.ProcessEnv },
): SimulatorRuntime {
  const clock = deps.clock ?? Date.now;
  const log = deps.logger.child({ component: 'simulator' });
  const secrets = resolveNumberSecrets(config, deps.env ?? process.env);
  const timers = new TimerSet(log);
  const faults = new FaultPlan(config.faults, config.seed);
  const numbers = new Map<string, BusinessNumber>();
  for (const n of config.numbers) {
    const s = secrets.get(n.phone_number_id)!;
    numbers.set(n.phone_number_id, {
      config: n,
      identity: { wabaId: n.waba_id ?? defaultWabaId(n.phone_number_id), phoneNumberId: n.phone_number_id, displayNumber: n.display_number },
      accessToken: s.accessToken,
      target: { url: n.webhook_url, appSecret: s.appSecret, ...webhookShapeFor(n, s.dialect) },
      dialectSecrets: s.dialect,
    });
  }
  return {
    config,
    clock,
    log,
    timers,
    ids: new IdFactory(config.seed),
    users: new UserDirectory(config),
    calls: new CallStore(config.limits.max_calls_kept),
    permissions: new PermissionStore({
      requestsPer24h: config.limits.permission_requests_per_24h,
      requestsPer7d: config.limits.permission_requests_per_7d,
      connectedCallsPer24h: config.limits.connected_calls_per_24h,
      autoRevokeAfterUnanswered: config.limits.auto_revoke_after_unanswered,
      temporaryMs: config.timing.temporary_permission_ms,
    }, clock),
    settings: new SettingsStore(
      config.numbers.map((n) => ({ phoneNumberId: n.phone_number_id, appId: n.app_id, ...(n.calling ? { calling: n.calling } : {}) })),
      config.seed,
      clock,
    ),
    faults,
    webhooks: new WebhookDelivery({
      timeoutMs: config.webhooks.timeout_ms,
      maxAttempts: config.webhooks.max_attempts,
      retryDelayMs: config.webhooks.retry_delay_ms,
      concurrency: config.webhooks.concurrency,
      reorderMaxHoldMs: config.faults.reorder_max_hold_ms,
      keep: config.limits.max_calls_kept,
      faults,
      timers,
      clock,
      log,
    }),
    media: deps.media,
    numbers,
    graphVersions: new Map(),
    messages: [],
  };
}
