import type { FastifyInstance } from 'fastify';
import { GraphClient } from '../adapters/meta/graph-client.js';
import { NumberDirectory, numberKey } from '../calls/number-directory.js';
import type { WhatsAppEvent } from '../calls/ports/whatsapp-events.js';
import type { WhatsAppPermissions, WhatsAppSettings } from '../calls/ports/whatsapp-provider.js';
import type { ConfigFile, NumberConfig } from '../config/schema.js';
import type { CheckResult } from '../http/readiness.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import { CallPermissionCache, type CachedPermission, type PermissionCacheOptions } from '../permissions/permission-cache.js';
import { PermissionGate, requestOptionsOf, type RequestOptions, type RequestOutcome } from '../permissions/permission-gate.js';
import type { PermissionRequestSender } from '../permissions/permission-requests.js';
import { ProviderError } from '../calls/ports/whatsapp-errors.js';
import { PROVIDER_CAPABILITIES } from '../config/provider-capabilities.js';
import type { ProviderSecrets } from '../config/provider-secrets.js';
import { createProviderNumber, unavailableProviderNumber, type ProviderNumber } from '../providers/provider-number.js';
import { registerAdminApi } from './admin/admin-api.js';
import { ControlMetrics } from './control-metrics.js';
import { RestrictionsBoard, settingsSnapshot } from './settings/restrictions-board.js';
import { applySettings, diffSettings, getSettings, type ApplyResult, type SettingsDiff, type SettingsView } from './settings/settings-sync.js';
import { sipDisable, sipEnable, sipStatus, type SipEnableRequest, type SipPlan, type SipStatusView } from './sip/sip-block.js';
import { CredentialFingerprints, sipCredentials, type CredentialsReport } from './sip/sip-credentials.js';
import { checkSipModes, SipModeMonitor, type SipModeReport } from './sip/sip-mode-check.js';

/**
 * The calling control plane of one watrunk process (docs/whatsapp-calling.md#settings, #sip-mode,
 * #permissions): per business number the settings and permissions ports, the permission cache and
 * gate, the restrictions board and the SIP mode monitor, and the operations people run on them.
 * The one object the rest of watrunk uses:
 *  - `watrunk start` (src/bridge.ts) builds one before the webhook dispatcher, registers
 *    readinessChecks() in /readyz, hands permissionGate to the PBX call intake, calls attach() on the
 *    internal listener, handleEvent() for account notices and permission replies, close() when stopping;
 *  - `watrunk settings|sip|permissions` (src/cli/) build one per command and call the operations;
 *  - the admin HTTP API (admin/admin-api.ts) calls the same operations, so both do exactly the same thing.
 * Operations take `number` as a name, phone_number_id or display number; `undefined` means every
 * configured number (diff, apply). The plane has its own Graph clients (one per base_url), so
 * control traffic never queues behind calls.
 */

export interface ControlNumber {
  config: NumberConfig;
  settings: WhatsAppSettings;
  permissions: WhatsAppPermissions;
  requests: PermissionRequestSender;
  cache: CallPermissionCache;
}

export interface ControlPlaneOptions {
  config: Pick<ConfigFile, 'numbers' | 'trunks' | 'admin'>;
  /** The business numbers; built from config.numbers when not given (the bridge shares its own). */
  directory?: NumberDirectory;
  /** access token per number name (provider meta) */
  accessTokens: ReadonlyMap<string, string>;
  /** API credentials per number name, for the other providers */
  providerSecrets?: ReadonlyMap<string, ProviderSecrets>;
  logger: Logger;
  metrics: Metrics;
  clock?: () => number;
  /** Pause before the single Graph retry reads may get (tests shorten it). */
  retryDelayMs?: number;
  cache?: Omit<PermissionCacheOptions, 'numberName' | 'clock' | 'metrics'>;
}

export interface PermissionView {
  number: string;
  user: string;
  granted: boolean;
  status: string;
  /** ISO time a temporary permission ends. */
  expiresAt?: string;
  canRequest?: boolean;
  canStartCall?: boolean;
  requestLimits?: CachedPermission['requestLimits'];
  cached: boolean;
}

export interface PermissionRequestResult {
  number: string;
  user: string;
  /** The permission before asking: a granted one means nothing was sent. */
  before: PermissionView;
  outcome?: RequestOutcome;
}

export class ControlPlane {
  readonly metrics: ControlMetrics;
  readonly board: RestrictionsBoard;
  readonly sipModes: SipModeMonitor;
  /** PermissionGate.decide(trunk.permission_policy, numberName, callee) before `connect` (src/permissions/). */
  readonly permissionGate: PermissionGate;
  readonly logger: Logger;
  private readonly config: ControlPlaneOptions['config'];
  private readonly directory: NumberDirectory;
  private readonly numbers = new Map<string, ControlNumber>();
  private readonly clients: GraphClient[] = [];
  private readonly providerNumbers: ProviderNumber[] = [];
  private startupCheck?: Promise<SipModeReport[]>;
  private closed = false;

  constructor(opts: ControlPlaneOptions) {
    this.config = opts.config;
    this.directory = opts.directory ?? new NumberDirectory(opts.config.numbers);
    this.logger = opts.logger;
    this.metrics = new ControlMetrics(opts.metrics);
    const byBaseUrl = new Map<string, GraphClient>();
    for (const n of this.directory.all()) {
      let graph: GraphClient | undefined;
      if (n.provider === 'meta') {
        graph = byBaseUrl.get(n.base_url);
        if (!graph) {
          graph = new GraphClient({
            baseUrl: n.base_url, logger: opts.logger.child({ component: 'control' }), metrics: opts.metrics,
            ...(opts.retryDelayMs !== undefined && { retryDelayMs: opts.retryDelayMs }),
          });
          byBaseUrl.set(n.base_url, graph);
          this.clients.push(graph);
        }
      }
      const token = opts.accessTokens.get(n.name);
      const secrets = opts.providerSecrets?.get(n.name);
      let p: ProviderNumber;
      try {
        // The other providers' control traffic gets clients of its own too (one per number).
        p = createProviderNumber(n, { ...(token !== undefined && { accessToken: token }), ...(secrets && { secrets }) }, {
          logger: opts.logger.child({ component: 'control' }), metrics: opts.metrics,
          ...(graph && { graphClient: graph }), ...(opts.retryDelayMs !== undefined && { retryDelayMs: opts.retryDelayMs }),
        });
      } catch (err) {
        // Credentials not read (a CLI command about another number): its operations say why.
        p = unavailableProviderNumber(n, (err as Error).message);
      }
      this.providerNumbers.push(p);
      this.numbers.set(n.name, {
        config: n,
        settings: p.settings,
        permissions: p.permissions,
        requests: p.requests,
        cache: new CallPermissionCache(p.permissions, {
          ...opts.cache, numberName: n.name, metrics: this.metrics, ...(opts.clock && { clock: opts.clock }),
        }),
      });
    }
    this.board = new RestrictionsBoard({ numbers: this.directory, logger: opts.logger, metrics: this.metrics, ...(opts.clock && { clock: opts.clock }) });
    this.sipModes = new SipModeMonitor({ logger: opts.logger, metrics: this.metrics });
    this.permissionGate = new PermissionGate({
      numbers: this.numbers, logger: opts.logger, metrics: this.metrics, ...(opts.clock && { clock: opts.clock }),
    });
  }

  /** A number by name, phone_number_id or display number (as people type them); UnknownNumberError otherwise. */
  number(wanted: string): ControlNumber {
    return this.numbers.get(this.directory.resolve(wanted).name)!;
  }

  private targets(number?: string): ControlNumber[] {
    return number !== undefined ? [this.number(number)] : [...this.numbers.values()];
  }

  // --- inside `watrunk start` ---

  /** Named checks for /readyz: restrictions and SIP mode (both informational, always ok). */
  readinessChecks(): Array<{ name: string; check: () => CheckResult }> {
    return [
      { name: 'whatsapp_restrictions', check: () => this.board.readiness() },
      { name: 'sip_mode', check: () => this.sipModes.readiness() },
    ];
  }

  /**
   * On the internal listener: the admin API when `admin` is configured (and its token is set), and
   * the start-up SIP mode check.
   */
  async attach(app: FastifyInstance, adminToken: string | undefined): Promise<void> {
    const log = this.logger.child({ component: 'control' });
    const admin = this.config.admin;
    if (admin) {
      if (!adminToken) {
        log.error({ tokenEnv: admin.token_env }, 'admin API disabled: no admin token');
      } else {
        await registerAdminApi(app, {
          plane: this, token: adminToken, prefix: admin.path_prefix, credentialsStateFile: admin.credentials_state_file,
        });
        log.info({ prefix: admin.path_prefix }, 'admin API enabled');
      }
    }
    // docs/whatsapp-calling.md#sip-mode: a mode mismatch makes calls fail silently. Checked in the background so a slow
    // Graph API does not delay start-up; the result is logged and shown in /readyz (sip_mode).
    void this.checkSipModes();
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
      const name = numberName ?? this.directory.byPhoneNumberId(event.phoneNumberId)?.name;
      const n = name !== undefined ? this.numbers.get(name) : undefined;
      if (n) n.cache.applyReply(event);
      return;
    }
    if (event.kind !== 'account.notice') return;
    this.board.noteAccountNotice(event);
    const snapshot = settingsSnapshot(event);
    const number = snapshot && this.directory.byPhoneNumberId(snapshot.phoneNumberId);
    if (number && snapshot && typeof snapshot.calling['sip'] === 'object' && snapshot.calling['sip'] !== null) {
      this.sipModes.noteCalling(number, snapshot.calling);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled(this.providerNumbers.map((m) => m.close()));
    await Promise.allSettled(this.clients.map((c) => c.close()));
  }

  // --- operations: the CLI and the admin API ---

  settingsGet(number: string): Promise<SettingsView> {
    return getSettings(this.number(number), { board: this.board, monitor: this.sipModes, logger: this.logger });
  }

  settingsDiff(number?: string): Promise<SettingsDiff[]> {
    return Promise.all(this.targets(number).map((n) => diffSettings(n)));
  }

  /** Numbers are applied one after the other, each stopping at its first failed update. */
  async settingsApply(opts: { number?: string; dryRun: boolean }): Promise<ApplyResult[]> {
    const out: ApplyResult[] = [];
    for (const n of this.targets(opts.number)) out.push(await applySettings(n, { dryRun: opts.dryRun }, { logger: this.logger }));
    return out;
  }

  /** The number, if its provider has Meta's SIP mode; a refusal naming the provider otherwise. */
  private sipNumber(number: string): ControlNumber {
    const n = this.number(number);
    const caps = PROVIDER_CAPABILITIES[n.config.provider];
    if (!caps.sipMode) {
      throw new ProviderError(`${caps.label} offers no SIP signalling (${caps.docs}): number ${n.config.name} has no sip block to manage`, 'api', {
        operation: 'sip', type: 'unsupported', category: 'unsupported',
      });
    }
    return n;
  }

  async sipStatusOf(number: string): Promise<SipStatusView> {
    return sipStatus(this.sipNumber(number), this.sipModes);
  }

  async sipEnableOn(number: string, req: SipEnableRequest): Promise<SipPlan> {
    const n = this.sipNumber(number);
    const plan = await sipEnable(n, req, this.logger);
    if (plan.applied) await sipStatus(n, this.sipModes);
    return plan;
  }

  async sipDisableOn(number: string, opts: { dryRun?: boolean }): Promise<SipPlan> {
    const n = this.sipNumber(number);
    const plan = await sipDisable(n, opts, this.logger);
    if (plan.applied) await sipStatus(n, this.sipModes);
    return plan;
  }

  async sipCredentialsOf(number: string, opts: { stateFile: string; reveal?: boolean; outputFile?: string; hostname?: string }): Promise<CredentialsReport> {
    const n = this.sipNumber(number);
    return sipCredentials({
      number: n.config.name, phoneNumberId: numberKey(n.config), settings: n.settings,
      state: new CredentialFingerprints(opts.stateFile),
      ...(opts.reveal !== undefined && { reveal: opts.reveal }),
      ...(opts.outputFile !== undefined && { outputFile: opts.outputFile }),
      ...(opts.hostname !== undefined && { hostname: opts.hostname }),
    });
  }

  async permissionsCheck(number: string, user: string, opts: { fresh?: boolean } = {}): Promise<PermissionView> {
    const n = this.number(number);
    const r = await this.permissionGate.check(n.config.name, user, { fresh: opts.fresh ?? true });
    const p = r.permission;
    return {
      number: n.config.name, user, granted: r.granted, status: p.status, cached: r.cached,
      ...(p.expiresAt !== undefined && { expiresAt: new Date(p.expiresAt * 1000).toISOString() }),
      ...(p.canRequest !== undefined && { canRequest: p.canRequest }),
      ...(p.canStartCall !== undefined && { canStartCall: p.canStartCall }),
      ...(p.requestLimits && { requestLimits: p.requestLimits }),
    };
  }

  /** The request settings of the first trunk that uses the number and configures them (the defaults of a request). */
  requestOptionsFor(number: string): RequestOptions {
    const name = this.number(number).config.name;
    const trunk = this.config.trunks.find((t) => t.numbers.includes(name) && t.permission_policy);
    return trunk?.permission_policy ? requestOptionsOf(trunk.permission_policy.request) : {};
  }

  /** Checks first; sends a request only when the user has not granted permission. */
  async permissionsRequest(number: string, user: string, opts: RequestOptions): Promise<PermissionRequestResult> {
    const before = await this.permissionsCheck(number, user);
    if (before.granted) return { number: before.number, user, before };
    const outcome = await this.permissionGate.request(before.number, user, opts);
    return { number: before.number, user, before, outcome };
  }
}
