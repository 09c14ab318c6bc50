import type { NumberConfig } from '../../config/schema.js';
import type { CheckResult } from '../../http/readiness.js';
import type { Logger } from '../../logging.js';
import type { WhatsAppSettings } from '../../calls/ports/whatsapp-provider.js';
import { sipStatusForMode } from '../../config/desired-calling.js';
import { PROVIDER_CAPABILITIES } from '../../config/provider-capabilities.js';
import type { ControlMetrics } from '../control-metrics.js';
import type { RestrictionsBoard } from '../settings/restrictions-board.js';
import { liveCalling } from '../settings/live-settings.js';

/**
 * Does each number's configured `mode` agree with Meta's `sip.status` (docs/whatsapp-calling.md#sip-mode)? A number in
 * `api` mode whose SIP is ENABLED gets 131055 on every /calls request; a number in `sip` mode whose
 * SIP is DISABLED is signalled through Graph webhooks, which a SIP-mode deployment does not serve.
 * Either way calls fail without anything else saying why, so a mismatch is logged at error level,
 * counted (watrunk_sip_mode_mismatch) and shown in /readyz.
 */

export interface SipModeReport {
  number: string;
  configured: 'api' | 'sip';
  /** Meta's sip.status, when it could be read. */
  live?: string;
  state: 'match' | 'mismatch' | 'unknown';
  detail: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Compares a configured mode with a GET /settings `calling` object. Pure. */
export function compareSipMode(number: string, configured: 'api' | 'sip', calling: Record<string, unknown>): SipModeReport {
  const sip = isObject(calling['sip']) ? calling['sip'] : {};
  const live = typeof sip['status'] === 'string' ? sip['status'] : 'DISABLED';
  if (live === sipStatusForMode(configured)) {
    return { number, configured, live, state: 'match', detail: `mode ${configured} matches sip.status ${live}` };
  }
  const detail = configured === 'api'
    ? `configured mode is api but Meta has sip.status ${live}: every Graph /calls request will fail with 131055 — run "watrunk sip disable ${number}" or set mode: sip`
    : `configured mode is sip but Meta has sip.status ${live}: Meta signals calls through the Graph API and webhooks, not over SIP — run "watrunk sip enable ${number} --hostname <host>" or set mode: api`;
  return { number, configured, live, state: 'mismatch', detail };
}

/** The latest known mode comparison per number; readiness() summarises it for /readyz. */
export class SipModeMonitor {
  private readonly reports = new Map<string, SipModeReport>();
  private readonly log: Logger;

  constructor(private readonly opts: { logger: Logger; metrics?: ControlMetrics }) {
    this.log = opts.logger.child({ component: 'sip-mode' });
  }

  /** Records a comparison; logs loudly when a number turns into a mismatch. */
  record(report: SipModeReport): SipModeReport {
    const previous = this.reports.get(report.number);
    this.reports.set(report.number, report);
    this.opts.metrics?.sipModeMismatch.set({ number: report.number }, report.state === 'mismatch' ? 1 : 0);
    if (report.state === 'mismatch' && previous?.state !== 'mismatch') {
      this.log.error({ number: report.number, configuredMode: report.configured, sipStatus: report.live }, `SIP MODE MISMATCH: ${report.detail}`);
    } else if (report.state === 'match' && previous?.state === 'mismatch') {
      this.log.info({ number: report.number, sipStatus: report.live }, 'SIP mode mismatch resolved');
    } else if (report.state === 'unknown') {
      this.log.warn({ number: report.number, configuredMode: report.configured }, `cannot check the SIP mode: ${report.detail}`);
    }
    return report;
  }

  /**
   * A fresh `calling` object for a number (GET /settings, where an absent `sip` means DISABLED).
   * Callers skip account_settings_update snapshots without `sip`: they say nothing about it.
   */
  noteCalling(number: NumberConfig, calling: Record<string, unknown>): SipModeReport {
    return this.record(compareSipMode(number.name, number.mode, calling));
  }

  get(number: string): SipModeReport | undefined {
    return this.reports.get(number);
  }

  all(): SipModeReport[] {
    return [...this.reports.values()];
  }

  /**
   * The detail names every mismatch. A number in mode `sip` that Meta does not have in SIP mode
   * fails readiness: none of its calls can work (watrunk's INVITEs go to an edge that does not
   * expect them, Meta's calls arrive as webhooks nobody serves). An `api` number's mismatch stays
   * ok (its Graph calls fail loudly with 131055 on their own, and a restart fixes nothing).
   */
  readiness(): CheckResult {
    const reports = this.all();
    if (reports.length === 0) return { ok: true, detail: 'not checked yet' };
    const bad = reports.filter((r) => r.state === 'mismatch');
    if (bad.length) return { ok: !bad.some((r) => r.configured === 'sip'), detail: `MISMATCH: ${bad.map((r) => `${r.number}: ${r.detail}`).join('; ')}` };
    const unknown = reports.filter((r) => r.state === 'unknown');
    const okText = `${reports.length - unknown.length} number(s) match Meta's sip.status`;
    return { ok: true, detail: unknown.length ? `${okText}; unknown: ${unknown.map((r) => `${r.number} (${r.detail})`).join('; ')}` : okText };
  }
}

export interface SipModeTarget {
  config: NumberConfig;
  settings: WhatsAppSettings;
}

/**
 * Reads every number's settings (in parallel) and compares the SIP mode; restrictions in the answer
 * go to the board. Never throws: a number whose settings cannot be read is reported as `unknown`.
 */
export async function checkSipModes(
  numbers: readonly SipModeTarget[],
  deps: { monitor: SipModeMonitor; board?: RestrictionsBoard; cancelled?: () => boolean },
): Promise<SipModeReport[]> {
  return Promise.all(numbers.map(async (n) => {
    const caps = PROVIDER_CAPABILITIES[n.config.provider];
    if (!caps.sipMode) {
      // The config allows only mode api for these: nothing to compare, nothing to read.
      return deps.monitor.record({ number: n.config.name, configured: n.config.mode, state: 'match', detail: `${caps.label} has no SIP mode: api only` });
    }
    try {
      const calling = await liveCalling(n.settings);
      deps.board?.noteSettings(n.config.name, calling);
      return deps.monitor.noteCalling(n.config, calling);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      const report: SipModeReport = { number: n.config.name, configured: n.config.mode, state: 'unknown', detail: `GET /settings failed: ${why}` };
      // Stopped while the check was in flight (the Graph client is gone): nothing worth a warning.
      if (deps.cancelled?.()) return report;
      return deps.monitor.record(report);
    }
  }));
}
