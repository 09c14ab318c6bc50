import { GraphClient } from '../adapters/meta/graph-client.js';
import { createMetaNumber, type MetaNumber } from '../adapters/meta/meta-number.js';
import type { ConfigFile, NumberConfig } from '../config/schema.js';
import type { CheckResult } from '../http/readiness.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import type { WhatsAppEvent } from '../calls/ports/whatsapp-events.js';
import type { WhatsAppPermissions, WhatsAppSettings } from '../calls/ports/whatsapp-provider.js';
import { ControlMetrics } from './control-metrics.js';
import { CallPermissionCache, type PermissionCacheOptions } from './permission-cache.js';
import { PermissionGate } from './permission-gate.js';
import { MetaPermissionRequestSender, type PermissionRequestSender } from './permission-requests.js';
import { RestrictionsBoard, settingsSnapshot } from './restrictions-board.js';
import { checkSipModes, SipModeMonitor, type SipModeReport } from './sip-mode-check.js';

/**
 * The calling control plane of one watrunk process: per business number the settings and
 * permissions ports, the permission cache and gate, the restrictions board and the SIP mode
 * monitor. `watrunk start` builds one next to the call logic; the CLI builds one per command.
 * It has its own Graph clients (one per base_url), so control traffic never queues behind calls.
 */

export interface ControlNumber {
  config: NumberConfig;
  settings: WhatsAppSettings;
  permissions: WhatsAppPermissions;
  requests: PermissionRequestSender;
  cache: CallPermissionCache;
}

export interface ControlPlaneOptions {
  config: Pick<ConfigFile, 'numbers'>;
  /** access token per number name */
  accessTokens: ReadonlyMap<string, string>;
  logger: Logger;
  metrics: Metrics;
  clock?: () => number;
  /** Pause before the single Graph retry reads may get (tests shorten it). */
  retryDelayMs?: number;
  cache?: Omit<PermissionCacheOptions, 'numberName' | 'clock' | 'metrics'>;
}

export class UnknownNumberError extends Error {
  override readonly name = 'UnknownNumberError';
  constructor(wanted: string, known: string[]) {
    super(`no business number "${wanted}" in numbers[] (known: ${known.join(', ')})`);
  }
}

export class ControlPlane {
  readonly numbers = new Map<string, ControlNumber>();
  readonly metrics: ControlMetrics;
  readonly board: RestrictionsBoard;
  readonly sipModes: SipModeMonitor;
  readonly permissionGate: PermissionGate;
  readonly logger: Logger;
  private readonly clients: GraphClient[] = [];
  private readonly metaNumbers: MetaNumber[] = [];
  private startupCheck?: Promise<SipModeReport[]>;
  private closed = false;

  constructor(opts: ControlPlaneOptions) {
    this.logger = opts.logger;
    this.metrics = new ControlMetrics(opts.metrics);
    const byBaseUrl = new Map<string, GraphClient>();
    for (const n of opts.config.numbers) {
      let graph = byBaseUrl.get(n.base_url);
      if (!graph) {
        graph = new GraphClient({
          baseUrl: n.base_url, logger: opts.logger.child({ component: 'control' }), metrics: opts.metrics,
          ...(opts.retryDelayMs !== undefined && { retryDelayMs: opts.retryDelayMs }),
        });
        byBaseUrl.set(n.base_url, graph);
        this.clients.push(graph);
      }
      const token = opts.accessTokens.get(n.name) ?? '';
      const meta = createMetaNumber(n, token, { logger: opts.logger, metrics: opts.metrics, graphClient: graph });
      this.metaNumbers.push(meta);
      const target = { phoneNumberId: n.phone_number_id, graphVersion: n.graph_version, accessToken: token, timeoutMs: n.timeout_ms };
      this.numbers.set(n.name, {
        config: n,
        settings: meta.settings,
        permissions: meta.permissions,
        requests: new MetaPermissionRequestSender(meta.permissions, graph, target),
        cache: new CallPermissionCache(meta.permissions, {
          ...opts.cache, numberName: n.name, metrics: this.metrics, ...(opts.clock && { clock: opts.clock }),
        }),
      });
    }
    this.board = new RestrictionsBoard({
      numbers: opts.config.numbers.map((n) => ({ name: n.name, phoneNumberId: n.phone_number_id, displayNumber: n.display_number })),
      logger: opts.logger, metrics: this.metrics, ...(opts.clock && { clock: opts.clock }),
    });
    this.sipModes = new SipModeMonitor({ logger: opts.logger, metrics: this.metrics });
    this.permissionGate = new PermissionGate({
      numbers: this.numbers, logger: opts.logger, metrics: this.metrics, ...(opts.clock && { clock: opts.clock }),
    });
  }

  /** A number by name, phone_number_id or display number (as people type them on the CLI). */
  number(wanted: string): ControlNumber {
    const digits = wanted.replace(/[^0-9]/g, '');
    const found = this.numbers.get(wanted)
      ?? [...this.numbers.values()].find((n) => digits !== '' && (n.config.phone_number_id === digits || n.config.display_number === digits));
    if (!found) throw new UnknownNumberError(wanted, [...this.numbers.keys()]);
    return found;
  }

  /**
   * The start-up check (docs/whatsapp-calling.md#sip-mode): every number's configured mode against Meta's sip.status.
   * Runs once; later calls return the same promise. Never rejects.
   */
  checkSipModes(): Promise<SipModeReport[]> {
    this.startupCheck ??= checkSipModes([...this.numbers.values()], {
      monitor: this.sipModes, board: this.board, cancelled: () => this.closed,
    });
    return this.startupCheck;
  }

  /**
   * Webhook events the control plane learns from: permission replies update the permission cache
   * at once (docs/whatsapp-calling.md#permission-replies); account notices feed the restrictions
   * board and, when they carry sip.status (account_settings_update), the SIP mode monitor.
   */
  handleEvent(event: WhatsAppEvent, numberName?: string): void {
    if (event.kind === 'permission.replied') {
      const name = numberName ?? [...this.numbers.values()].find((n) => n.config.phone_number_id === event.phoneNumberId)?.config.name;
      const n = name !== undefined ? this.numbers.get(name) : undefined;
      if (n) n.cache.applyReply(event);
      return;
    }
    if (event.kind !== 'account.notice') return;
    this.board.noteAccountNotice(event);
    const snapshot = settingsSnapshot(event);
    const n = snapshot && [...this.numbers.values()].find((x) => x.config.phone_number_id === snapshot.phoneNumberId);
    if (n && snapshot && typeof snapshot.calling['sip'] === 'object' && snapshot.calling['sip'] !== null) {
      this.sipModes.noteCalling(n.config, snapshot.calling);
    }
  }

  /** Named checks for /readyz: restrictions and SIP mode (both informational, always ok). */
  readinessChecks(): Array<{ name: string; check: () => CheckResult }> {
    return [
      { name: 'whatsapp_restrictions', check: () => this.board.readiness() },
      { name: 'sip_mode', check: () => this.sipModes.readiness() },
    ];
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.metaNumbers.map((m) => m.close()));
    await Promise.allSettled(this.clients.map((c) => c.close()));
  }
}

export function createControlPlane(opts: ControlPlaneOptions): ControlPlane {
  return new ControlPlane(opts);
}
