import type { TrunkConfig } from '../config/schema.js';
import type { ControlPlane } from './control-plane.js';
import type { CachedPermission } from './permission-cache.js';
import type { RequestOptions, RequestOutcome } from './permission-gate.js';
import {
  applySettings, diffSettings, getSettings, type ApplyResult, type SettingsDiff, type SettingsView,
} from './settings-control.js';
import { CredentialFingerprints, sipCredentials, type CredentialsReport } from './sip-credentials.js';
import { sipDisable, sipEnable, sipStatus, type SipEnableRequest, type SipPlan, type SipStatusView } from './sip-control.js';

/**
 * The operations people run, shared by the CLI (src/cli/) and the admin HTTP API (admin-api.ts) so
 * both do exactly the same thing. `number` is a name, phone_number_id or display number; `undefined`
 * means every configured number (diff, apply).
 */

export function settingsGet(plane: ControlPlane, number: string): Promise<SettingsView> {
  const n = plane.number(number);
  return getSettings(n, { board: plane.board, monitor: plane.sipModes, logger: plane.logger });
}

function targets(plane: ControlPlane, number?: string) {
  return number !== undefined ? [plane.number(number)] : [...plane.numbers.values()];
}

export async function settingsDiff(plane: ControlPlane, number?: string): Promise<SettingsDiff[]> {
  return Promise.all(targets(plane, number).map((n) => diffSettings(n)));
}

/** Numbers are applied one after the other, each stopping at its first failed update. */
export async function settingsApply(plane: ControlPlane, opts: { number?: string; dryRun: boolean }): Promise<ApplyResult[]> {
  const out: ApplyResult[] = [];
  for (const n of targets(plane, opts.number)) out.push(await applySettings(n, { dryRun: opts.dryRun }, { logger: plane.logger }));
  return out;
}

export function sipStatusOf(plane: ControlPlane, number: string): Promise<SipStatusView> {
  return sipStatus(plane.number(number), plane.sipModes);
}

export async function sipEnableOn(plane: ControlPlane, number: string, req: SipEnableRequest): Promise<SipPlan> {
  const n = plane.number(number);
  const plan = await sipEnable(n, req, plane.logger);
  if (plan.applied) await sipStatus(n, plane.sipModes);
  return plan;
}

export async function sipDisableOn(plane: ControlPlane, number: string, opts: { dryRun?: boolean }): Promise<SipPlan> {
  const n = plane.number(number);
  const plan = await sipDisable(n, opts, plane.logger);
  if (plan.applied) await sipStatus(n, plane.sipModes);
  return plan;
}

export function sipCredentialsOf(
  plane: ControlPlane, number: string, opts: { stateFile: string; reveal?: boolean; outputFile?: string; hostname?: string },
): Promise<CredentialsReport> {
  const n = plane.number(number);
  return sipCredentials({
    number: n.config.name, phoneNumberId: n.config.phone_number_id, settings: n.settings,
    state: new CredentialFingerprints(opts.stateFile),
    ...(opts.reveal !== undefined && { reveal: opts.reveal }),
    ...(opts.outputFile !== undefined && { outputFile: opts.outputFile }),
    ...(opts.hostname !== undefined && { hostname: opts.hostname }),
  });
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

export async function permissionsCheck(plane: ControlPlane, number: string, user: string, opts: { fresh?: boolean } = {}): Promise<PermissionView> {
  const n = plane.number(number);
  const r = await plane.permissionGate.check(n.config.name, user, { fresh: opts.fresh ?? true });
  const p = r.permission;
  return {
    number: n.config.name, user, granted: r.granted, status: p.status, cached: r.cached,
    ...(p.expiresAt !== undefined && { expiresAt: new Date(p.expiresAt * 1000).toISOString() }),
    ...(p.canRequest !== undefined && { canRequest: p.canRequest }),
    ...(p.canStartCall !== undefined && { canStartCall: p.canStartCall }),
    ...(p.requestLimits && { requestLimits: p.requestLimits }),
  };
}

/** The request settings of the first trunk that uses `numberName` and configures them. */
export function requestOptionsFor(trunks: readonly TrunkConfig[], numberName: string): RequestOptions {
  const trunk = trunks.find((t) => t.numbers.includes(numberName) && t.permission_policy);
  const r = trunk?.permission_policy?.request;
  if (!r) return {};
  return { message: r.message, ...(r.body_text !== undefined && { bodyText: r.body_text }), ...(r.template && { template: r.template }) };
}

export interface PermissionRequestResult {
  number: string;
  user: string;
  /** The permission before asking: a granted one means nothing was sent. */
  before: PermissionView;
  outcome?: RequestOutcome;
}

/** Checks first; sends a request only when the user has not granted permission. */
export async function permissionsRequest(plane: ControlPlane, number: string, user: string, opts: RequestOptions): Promise<PermissionRequestResult> {
  const before = await permissionsCheck(plane, number, user);
  if (before.granted) return { number: before.number, user, before };
  const outcome = await plane.permissionGate.request(before.number, user, opts);
  return { number: before.number, user, before, outcome };
}
