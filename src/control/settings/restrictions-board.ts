import type { NumberDirectory, NumberIdentity } from '../../calls/number-directory.js';
import type { CheckResult } from '../../http/readiness.js';
import type { Logger } from '../../logging.js';
import type { AccountNotice } from '../../calls/ports/whatsapp-events.js';
import type { ControlMetrics } from '../control-metrics.js';

/**
 * Restrictions and quality warnings Meta reports for the business numbers (the settings'
 * `restrictions`, and `account_update`, `account_settings_update`:
 * docs/whatsapp-calling.md#account-notices). Fed by `settings get` (and the start-up settings
 * read) and by account notices from webhooks; logged, counted, and shown in
 * /readyz. A restriction never makes watrunk "not ready": another instance would have the same
 * number and the same restriction, so it is reported, not failed over.
 */

export interface Restriction {
  /** Number name, or "*" when Meta did not say which number (WABA-level). */
  number: string;
  /** RESTRICTED_BUSINESS_INITIATED_CALLING | RESTRICTED_USER_INITIATED_CALLING | ..._CALL_BUTTON_HIDDEN */
  type: string;
  /** Unix seconds; restrictions last 7 days (docs/whatsapp-calling.md#account-notices). */
  expiresAt?: number;
  reason?: string;
  source: 'settings' | 'account_update';
}

export interface Violation {
  number: string;
  /** e.g. LOW_BUSINESS_INITIATED_CALLING_QUALITY */
  type: string;
  at: number;
  remediation?: string;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
function seconds(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^[0-9]+$/.test(v)) return Number(v);
  return undefined;
}
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** `restrictions.restrictions_list` (the table spells it `restriction_list`: accept both, docs/whatsapp-calling.md#doc-conflicts). */
export function restrictionsFromSettings(calling: Json): Array<{ type: string; expiresAt?: number; reason?: string }> {
  const r = calling['restrictions'];
  if (!isObject(r)) return [];
  const list = asList(r['restrictions_list'] ?? r['restriction_list']);
  return list.filter(isObject).flatMap((item) => {
    const type = str(item['type']) ?? str(item['restriction_type']);
    if (!type) return [];
    const expiresAt = seconds(item['expiration']);
    const reason = str(item['reason']);
    return [{ type, ...(expiresAt !== undefined && { expiresAt }), ...(reason !== undefined && { reason }) }];
  });
}

/** The calling snapshot an account_settings_update carries (PHONE_NUMBER_SETTINGS, docs/whatsapp-calling.md#account-notices). */
export function settingsSnapshot(e: AccountNotice): { phoneNumberId: string; calling: Json } | undefined {
  const settings = isObject(e.raw) ? e.raw['phone_number_settings'] : undefined;
  if (!isObject(settings) || !isObject(settings['calling'])) return undefined;
  const phoneNumberId = str(settings['phone_number_id']) ?? e.phoneNumberId;
  return phoneNumberId ? { phoneNumberId, calling: settings['calling'] } : undefined;
}

export class RestrictionsBoard {
  private readonly restrictions = new Map<string, Restriction>();
  private readonly violationsList: Violation[] = [];
  private readonly log: Logger;
  private readonly clock: () => number;

  constructor(private readonly opts: { numbers: NumberDirectory<NumberIdentity>; logger: Logger; metrics?: ControlMetrics; clock?: () => number }) {
    this.log = opts.logger.child({ component: 'restrictions' });
    this.clock = opts.clock ?? Date.now;
  }

  /** The number a notice is about, by phone_number_id or the number's digits; "*" when Meta named none of ours. */
  private nameFor(phoneNumberId?: string, displayNumber?: string): string {
    return (this.opts.numbers.byPhoneNumberId(phoneNumberId) ?? this.opts.numbers.byDigits(displayNumber))?.name ?? '*';
  }

  private put(r: Restriction): void {
    const key = `${r.number}|${r.type}`;
    const isNew = !this.restrictions.has(key);
    this.restrictions.set(key, r);
    this.refreshGauge();
    if (isNew) {
      this.log.error({ number: r.number, restriction: r.type, expiresAt: r.expiresAt, source: r.source, reason: r.reason },
        'Meta restricts calling on this business number');
    }
  }

  /** The restrictions in a GET /settings answer replace those known from earlier reads of that number. */
  noteSettings(numberName: string, calling: Json): void {
    for (const [key, r] of this.restrictions) {
      if (r.number === numberName && r.source === 'settings') this.restrictions.delete(key);
    }
    for (const r of restrictionsFromSettings(calling)) this.put({ number: numberName, ...r, source: 'settings' });
    this.refreshGauge();
  }

  /** An account_update / account_settings_update webhook (docs/whatsapp-calling.md#account-notices): logged, counted, remembered. */
  noteAccountNotice(e: AccountNotice): void {
    this.opts.metrics?.accountNotices.inc({ event: e.event });
    const raw = isObject(e.raw) ? e.raw : {};
    const number = this.nameFor(e.phoneNumberId, str(raw['phone_number']) ?? str(raw['display_phone_number']));
    if (e.event === 'ACCOUNT_RESTRICTION') {
      const list = asList(raw['restriction_info']).filter(isObject);
      for (const item of list) {
        const type = str(item['restriction_type']) ?? str(item['type']);
        if (!type) continue;
        const expiresAt = seconds(item['expiration']);
        this.put({ number, type, source: 'account_update', ...(expiresAt !== undefined && { expiresAt }) });
      }
      if (list.length === 0) this.log.error({ number, accountId: e.accountId }, 'ACCOUNT_RESTRICTION without restriction_info');
      return;
    }
    if (e.event === 'ACCOUNT_VIOLATION') {
      const info = isObject(raw['violation_info']) ? raw['violation_info'] : {};
      const type = str(info['violation_type']) ?? 'UNKNOWN';
      const remediation = str(raw['remediation']) ?? str(info['remediation']);
      this.violationsList.push({ number, type, at: e.timestamp, ...(remediation !== undefined && { remediation }) });
      if (this.violationsList.length > 100) this.violationsList.shift();
      this.log.warn({ number, violation: type, remediation, accountId: e.accountId }, 'Meta reports a calling quality violation (restrictions may follow)');
      return;
    }
    const snapshot = settingsSnapshot(e);
    if (snapshot) {
      const name = this.nameFor(snapshot.phoneNumberId);
      this.log.info({ number: name, calling: summarize(snapshot.calling) }, 'calling settings changed on Meta (account_settings_update)');
      if (name !== '*' && snapshot.calling['restrictions'] !== undefined) this.noteSettings(name, snapshot.calling);
      return;
    }
    this.log.info({ number, accountEvent: e.event, accountId: e.accountId }, 'account notice');
  }

  /** Restrictions still in force (expired ones are dropped), optionally for one number (and "*"). */
  active(numberName?: string): Restriction[] {
    const now = this.clock() / 1000;
    let dropped = false;
    for (const [key, r] of this.restrictions) {
      if (r.expiresAt !== undefined && r.expiresAt <= now) { this.restrictions.delete(key); dropped = true; }
    }
    if (dropped) this.refreshGauge();
    return [...this.restrictions.values()].filter((r) => numberName === undefined || r.number === numberName || r.number === '*');
  }

  violations(numberName?: string): Violation[] {
    return this.violationsList.filter((v) => numberName === undefined || v.number === numberName || v.number === '*');
  }

  /** For /readyz: always ok (see the class comment); the detail lists what is in force. */
  readiness(): CheckResult {
    const list = this.active();
    if (list.length === 0) return { ok: true, detail: 'no calling restrictions reported by Meta' };
    return { ok: true, detail: list.map(describeRestriction).join('; ') };
  }

  private refreshGauge(): void {
    const gauge = this.opts.metrics?.restrictions;
    if (!gauge) return;
    gauge.reset();
    for (const r of this.restrictions.values()) gauge.set({ number: r.number, type: r.type }, 1);
  }
}

export function describeRestriction(r: Restriction): string {
  const until = r.expiresAt !== undefined ? ` until ${new Date(r.expiresAt * 1000).toISOString()}` : '';
  return `${r.number}: ${r.type}${until}${r.reason ? ` (${r.reason})` : ''}`;
}

/** The settings fields worth a log line (never the whole document: it may hold SIP passwords). */
function summarize(calling: Json): Json {
  const sip = isObject(calling['sip']) ? calling['sip'] : {};
  return {
    status: calling['status'], callIconVisibility: calling['call_icon_visibility'],
    callbackPermissionStatus: calling['callback_permission_status'], sipStatus: sip['status'],
    srtp: calling['srtp_key_exchange_protocol'],
  };
}
