import type { NumberConfig } from '../../config/schema.js';
import type { Logger } from '../../logging.js';
import { validateCallingSettings } from '../../calling-settings/validation.js';
import { numberKey } from '../../calls/number-directory.js';
import { settingsRefusal } from '../../config/provider-capabilities.js';
import type { WhatsAppSettings } from '../../calls/ports/whatsapp-provider.js';
import { liveCalling } from './live-settings.js';
import type { Restriction, RestrictionsBoard } from './restrictions-board.js';
import { APPLY_ORDER, diffCalling, type SettingsChange } from './settings-diff.js';
import { compareSipMode, type SipModeMonitor, type SipModeReport } from '../sip/sip-mode-check.js';

/**
 * `watrunk settings get|diff|apply` (and the admin API's equivalents) for one business number:
 * GET /settings, compare with `numbers[].calling`, POST only what differs as focused updates
 * (docs/whatsapp-calling.md#settings). Applying twice changes nothing the second time: the second diff is empty.
 */

export interface SettingsTarget {
  config: NumberConfig;
  settings: WhatsAppSettings;
}

export interface SettingsView {
  number: string;
  /** Meta's phone_number_id, or the display number for a provider without one (numberKey). */
  phoneNumberId: string;
  provider: NumberConfig['provider'];
  mode: 'api' | 'sip';
  /** Meta's live `calling` object (never with SIP passwords). */
  calling: Record<string, unknown>;
  restrictions: Restriction[];
  sipMode: SipModeReport;
}

export interface SettingsDiff {
  number: string;
  /** False when the number has no `calling` block in the config: nothing is managed. */
  declared: boolean;
  changes: SettingsChange[];
  /** Why the live settings could not be read (a write-only provider): `changes` is then every declared key. */
  liveUnknown?: string;
}

export interface AppliedChange extends SettingsChange {
  applied: boolean;
  error?: string;
}

export interface ApplyResult {
  number: string;
  declared: boolean;
  dryRun: boolean;
  ok: boolean;
  /** Problems that stopped the apply before anything was sent. */
  refused?: string[];
  changes: AppliedChange[];
  /** What still differs after applying (read back from Meta); empty on success. */
  remaining: SettingsChange[];
  /** Said when what was sent could not be read back (a write-only provider). */
  note?: string;
}

export interface SettingsDeps {
  board?: RestrictionsBoard;
  monitor?: SipModeMonitor;
  logger: Logger;
  clock?: () => number;
}

/** The live settings, with restrictions and the SIP mode comparison (both also fed to the board/monitor). */
export async function getSettings(n: SettingsTarget, deps: SettingsDeps): Promise<SettingsView> {
  const calling = await liveCalling(n.settings);
  deps.board?.noteSettings(n.config.name, calling);
  const report = compareSipMode(n.config.name, n.config.mode, calling);
  deps.monitor?.record(report);
  const restrictions = deps.board ? deps.board.active(n.config.name) : [];
  return {
    number: n.config.name, phoneNumberId: numberKey(n.config), provider: n.config.provider, mode: n.config.mode, calling, restrictions, sipMode: report,
  };
}

/** Every declared key as an update, in APPLY_ORDER: for a provider whose live settings cannot be read. */
function declaredUpdates(desired: Record<string, unknown>, why: string): SettingsChange[] {
  return APPLY_ORDER.filter((key) => Object.hasOwn(desired, key))
    .map((key) => ({ key, live: undefined, desired: desired[key], update: { [key]: desired[key] }, notes: [why] }));
}

export async function diffSettings(n: SettingsTarget): Promise<SettingsDiff> {
  const desired = n.config.calling;
  if (!desired) return { number: n.config.name, declared: false, changes: [] };
  const unreadable = settingsRefusal(n.config.provider, 'read');
  if (unreadable) return { number: n.config.name, declared: true, changes: declaredUpdates(desired, 'live value unknown: sent as declared'), liveUnknown: unreadable };
  const live = await liveCalling(n.settings);
  return { number: n.config.name, declared: true, changes: diffCalling(desired, live, n.config.mode) };
}

/**
 * Sends the focused updates in order, stopping at the first failure (later groups may depend on an
 * earlier one, e.g. voicemail on calling being ENABLED). Every update is checked with Meta's rules
 * first (a holiday may have become past since the config was loaded): any problem, nothing is sent.
 */
export async function applySettings(n: SettingsTarget, opts: { dryRun: boolean }, deps: SettingsDeps): Promise<ApplyResult> {
  const log = deps.logger.child({ component: 'settings', number: n.config.name });
  const diff = await diffSettings(n);
  const base = { number: n.config.name, declared: diff.declared, dryRun: opts.dryRun };
  const now = (deps.clock ?? Date.now)();
  const refused = diff.changes.flatMap((c) => validateCallingSettings(c.update, now).map((m) => `calling.${c.key}: ${m}`));
  if (refused.length) {
    return { ...base, ok: false, refused, changes: diff.changes.map((c) => ({ ...c, applied: false })), remaining: diff.changes };
  }
  if (opts.dryRun || diff.changes.length === 0) {
    return { ...base, ok: true, changes: diff.changes.map((c) => ({ ...c, applied: false })), remaining: diff.changes };
  }
  // CAMS: no API changes calling settings; refused before anything is sent, saying where to change them.
  const unwritable = settingsRefusal(n.config.provider, 'write');
  if (unwritable) return { ...base, ok: false, refused: [unwritable], changes: diff.changes.map((c) => ({ ...c, applied: false })), remaining: diff.changes };
  const changes: AppliedChange[] = [];
  let failed = false;
  for (const c of diff.changes) {
    if (failed) { changes.push({ ...c, applied: false }); continue; }
    try {
      await n.settings.updateSettings(c.update);
      log.info({ key: c.key, notes: c.notes }, 'calling setting applied');
      changes.push({ ...c, applied: true });
    } catch (err) {
      failed = true;
      const error = err instanceof Error ? err.message : String(err);
      log.error({ key: c.key, error }, 'calling setting update failed: later updates not sent');
      changes.push({ ...c, applied: false, error });
    }
  }
  if (diff.liveUnknown) {
    return { ...base, ok: !failed, changes, remaining: [], note: `${diff.liveUnknown}: what was sent cannot be read back` };
  }
  const remaining = (await diffSettings(n)).changes;
  return { ...base, ok: !failed && remaining.length === 0, changes, remaining };
}
