import type { Logger } from '../../logging.js';
import { validateCallingSettings } from '../../calling-settings/validation.js';
import { liveCalling } from '../settings/live-settings.js';
import type { SettingsTarget } from '../settings/settings-sync.js';
import { compareSipMode, type SipModeMonitor, type SipModeReport } from './sip-mode-check.js';

/**
 * `watrunk sip status|enable|disable` (docs/whatsapp-calling.md#sip-mode). Enabling SIP moves the number to SIP-only
 * call signalling: the Graph /calls endpoints then fail with 131055. So enabling is refused for a
 * number the config runs in `api` mode, unless forced. Disabling keeps `servers` (re-enabling
 * reuses them) and restores API mode.
 */

export interface SipServer {
  hostname: string;
  port: number;
  request_uri_user_params?: Record<string, string>;
  app_id?: string;
}

export interface SipStatusView {
  number: string;
  configuredMode: 'api' | 'sip';
  /** Meta's sip.status (DISABLED when Meta's answer has no sip block). */
  status: string;
  servers: SipServer[];
  webhookDelivery?: string;
  /** Calling itself (calling.status): SIP needs it ENABLED to carry calls. */
  callingStatus: string;
  mode: SipModeReport;
}

export interface SipPlan {
  number: string;
  /** Set when nothing was (or would be) sent, and why. */
  refused?: string;
  /** What changes, one line each ("sip.status: DISABLED → ENABLED"). */
  changes: string[];
  notes: string[];
  /** The `calling` object of the POST. */
  update: Record<string, unknown>;
  applied: boolean;
}

export interface SipEnableRequest {
  hostname?: string;
  port?: number;
  requestUriUserParams?: Record<string, string>;
  force?: boolean;
  dryRun?: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function serversOf(sip: Record<string, unknown>): SipServer[] {
  return (Array.isArray(sip['servers']) ? sip['servers'] : []).filter(isObject).map((s) => ({
    hostname: String(s['hostname'] ?? ''),
    port: typeof s['port'] === 'number' ? s['port'] : 5061,
    ...(isObject(s['request_uri_user_params']) && { request_uri_user_params: s['request_uri_user_params'] as Record<string, string> }),
    ...(typeof s['app_id'] === 'string' && { app_id: s['app_id'] }),
  }));
}

/** "sip.example.com:5061;tgrp=wacall;trunk-context=byoc.example.com" */
export function describeServer(s: Pick<SipServer, 'hostname' | 'port' | 'request_uri_user_params'>): string {
  const params = Object.entries(s.request_uri_user_params ?? {}).map(([k, v]) => `;${k}=${v}`).join('');
  return `${s.hostname}:${s.port}${params}`;
}

export async function sipStatus(n: SettingsTarget, monitor?: SipModeMonitor): Promise<SipStatusView> {
  const calling = await liveCalling(n.settings);
  const sip = isObject(calling['sip']) ? calling['sip'] : {};
  const mode = compareSipMode(n.config.name, n.config.mode, calling);
  monitor?.record(mode);
  return {
    number: n.config.name,
    configuredMode: n.config.mode,
    status: typeof sip['status'] === 'string' ? sip['status'] : 'DISABLED',
    servers: serversOf(sip),
    ...(typeof sip['webhook_delivery'] === 'string' && { webhookDelivery: sip['webhook_delivery'] }),
    callingStatus: typeof calling['status'] === 'string' ? calling['status'] : 'DISABLED',
    mode,
  };
}

async function send(n: SettingsTarget, plan: SipPlan, dryRun: boolean | undefined, log: Logger): Promise<SipPlan> {
  if (plan.refused || dryRun || plan.changes.length === 0) return plan;
  await n.settings.updateSettings(plan.update);
  log.info({ number: n.config.name, changes: plan.changes }, 'SIP settings updated');
  return { ...plan, applied: true };
}

export async function sipEnable(n: SettingsTarget, req: SipEnableRequest, log: Logger): Promise<SipPlan> {
  const current = await sipStatus(n);
  const name = n.config.name;
  const servers = req.hostname
    ? [{
      hostname: req.hostname,
      port: req.port ?? 5061,
      ...(req.requestUriUserParams && Object.keys(req.requestUriUserParams).length > 0 && { request_uri_user_params: req.requestUriUserParams }),
    }]
    : undefined;
  const update = { sip: { status: 'ENABLED', ...(servers && { servers }) } };
  const changes: string[] = [];
  if (current.status !== 'ENABLED') changes.push(`sip.status: ${current.status} → ENABLED`);
  const before = current.servers.map(describeServer).join(', ') || '(none)';
  if (servers) {
    const after = servers.map(describeServer).join(', ');
    if (after !== before) changes.push(`sip.servers: ${before} → ${after}`);
  }
  const notes: string[] = [];
  if (current.callingStatus !== 'ENABLED') notes.push(`calling.status is ${current.callingStatus}: no calls reach the number until it is ENABLED`);
  notes.push('Meta dials the server over TLS only (port 5061 by default); its certificate must be CA-valid for the hostname (docs/whatsapp-calling.md#sip-mode)');
  const plan: SipPlan = { number: name, changes, notes, update, applied: false };

  if (!servers && current.servers.length === 0) return { ...plan, refused: 'no SIP server on Meta yet: give --hostname (and --port, --uri-param)' };
  const problems = validateCallingSettings(update, Date.now());
  if (problems.length) return { ...plan, refused: problems.join('; ') };
  if (n.config.mode === 'api' && !req.force) {
    return {
      ...plan,
      refused: `number ${name} is configured with mode: api; enabling SIP switches off the Graph /calls endpoints (error 131055), so every call watrunk places or answers through the API would fail. Set mode: sip in the config first, or pass --force.`,
    };
  }
  if (n.config.mode === 'api') notes.push('forced: the config still says mode: api — calls through the Graph API will fail with 131055 until SIP is disabled again');
  return send(n, plan, req.dryRun, log);
}

export async function sipDisable(n: SettingsTarget, opts: { dryRun?: boolean }, log: Logger): Promise<SipPlan> {
  const current = await sipStatus(n);
  const changes = current.status !== 'DISABLED' ? [`sip.status: ${current.status} → DISABLED`] : [];
  const notes = ['servers are kept: enabling again reuses them (docs/whatsapp-calling.md#sip-mode)'];
  if (n.config.mode === 'sip') notes.push('the config says mode: sip — set mode: api, or watrunk will report a SIP mode mismatch');
  const plan: SipPlan = { number: n.config.name, changes, notes, update: { sip: { status: 'DISABLED' } }, applied: false };
  return send(n, plan, opts.dryRun, log);
}
