import { createHmac } from 'node:crypto';
import { validateCallingSettings, validateMergedCallingSettings } from '../calling-settings/validation.js';

/**
 * The `calling` settings of each business number, updated the way Meta applies a settings POST
 * (docs/whatsapp-calling.md#settings, #sip-mode):
 *  - top-level keys present in the POST replace the stored ones; absent keys are kept;
 *  - `call_hours` is replaced as a whole, so a POST with `call_hours` but without `holiday_schedule`
 *    deletes the stored holidays (a POST without `call_hours` leaves call hours alone);
 *  - `sip.servers` replaces this app's entries (an empty array deletes them); entries carry `app_id`;
 *  - the SIP password is generated per (number, server) and returned only with include_sip_credentials.
 */

type Calling = Record<string, unknown>;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

/** Meta's defaults for a number that has never been configured: calling off, SIP off. */
export const DEFAULT_CALLING: Calling = {
  status: 'DISABLED',
  call_icon_visibility: 'DEFAULT',
  callback_permission_status: 'DISABLED',
  sip: { status: 'DISABLED', servers: [] },
};

export interface NumberSettingsInit { phoneNumberId: string; appId: string; calling?: Calling }

export class SettingsStore {
  private readonly byNumber = new Map<string, Calling>();
  private readonly appIds = new Map<string, string>();
  private readonly passwordGenerations = new Map<string, number>();

  constructor(private readonly numbers: NumberSettingsInit[], private readonly seed: number, private readonly clock: () => number) {
    this.reset();
  }

  /** Restores every number to its configured settings. Throws when a configured `calling` is invalid. */
  reset(): void {
    this.passwordGenerations.clear();
    this.byNumber.clear();
    for (const n of this.numbers) {
      this.appIds.set(n.phoneNumberId, n.appId);
      this.byNumber.set(n.phoneNumberId, clone(DEFAULT_CALLING));
      if (n.calling) {
        const problems = this.update(n.phoneNumberId, n.calling);
        if (problems.length) throw new Error(`numbers[${n.phoneNumberId}].calling: ${problems.join('; ')}`);
      }
    }
  }

  /** Deterministic SIP password for (number, server hostname): Meta generates one per number and app. */
  sipPassword(phoneNumberId: string, hostname: string): string {
    const generation = this.passwordGenerations.get(phoneNumberId) ?? 0;
    return createHmac('sha256', `watrunk-sim-${this.seed}`).update(`${phoneNumberId}|${hostname}|${generation}`).digest('base64url').slice(0, 32);
  }

  /**
   * A new SIP password for the number, as Meta's reset does (sip DISABLED with servers [], then
   * ENABLED again: docs/sip-mode.md#password); the control API exposes it for tests.
   */
  rotateSipPassword(phoneNumberId: string): void {
    this.passwordGenerations.set(phoneNumberId, (this.passwordGenerations.get(phoneNumberId) ?? 0) + 1);
  }

  /** The number's SIP server entries (hostname, port, request_uri_user_params). */
  sipServers(phoneNumberId: string): Record<string, unknown>[] {
    const servers = this.field(phoneNumberId, ['sip', 'servers']);
    return Array.isArray(servers) ? servers.filter(isObject) : [];
  }

  /** SDES or DTLS, as srtp_key_exchange_protocol says (DTLS when unset). */
  srtpKeyExchange(phoneNumberId: string): 'SDES' | 'DTLS' {
    return this.field(phoneNumberId, ['srtp_key_exchange_protocol']) === 'SDES' ? 'SDES' : 'DTLS';
  }

  get(phoneNumberId: string, includeSipCredentials = false): Calling {
    const calling = clone(this.byNumber.get(phoneNumberId) ?? DEFAULT_CALLING);
    const sip = calling['sip'];
    if (includeSipCredentials && isObject(sip) && Array.isArray(sip['servers'])) {
      sip['servers'] = sip['servers'].map((s: Record<string, unknown>) => ({
        ...s, sip_user_password: this.sipPassword(phoneNumberId, String(s['hostname'])),
      }));
    }
    return calling;
  }

  /** Applies a POSTed `calling` object. Returns the problems (nothing is changed when there are any). */
  update(phoneNumberId: string, posted: unknown): string[] {
    const problems = validateCallingSettings(posted, this.clock());
    if (problems.length) return problems;
    const update = posted as Calling;
    const next = clone(this.byNumber.get(phoneNumberId) ?? DEFAULT_CALLING);
    for (const [key, value] of Object.entries(update)) {
      if (key === 'sip') next['sip'] = this.mergeSip(phoneNumberId, next['sip'], value as Calling);
      else next[key] = clone(value);
    }
    const merged = validateMergedCallingSettings(next);
    if (merged.length) return merged;
    this.byNumber.set(phoneNumberId, next);
    return [];
  }

  private mergeSip(phoneNumberId: string, current: unknown, update: Calling): Calling {
    const sip: Calling = isObject(current) ? clone(current) : { status: 'DISABLED', servers: [] };
    for (const [key, value] of Object.entries(update)) {
      if (key !== 'servers') sip[key] = value;
    }
    // Meta's password reset: DISABLED with no servers; the next ENABLED gets a new password.
    if (update['status'] === 'DISABLED' && Array.isArray(update['servers']) && update['servers'].length === 0) this.rotateSipPassword(phoneNumberId);
    if (Array.isArray(update['servers'])) {
      const appId = this.appIds.get(phoneNumberId) ?? '';
      const others = (Array.isArray(sip['servers']) ? sip['servers'] : []).filter((s: Record<string, unknown>) => s['app_id'] !== appId);
      const mine = update['servers'].map((s: Record<string, unknown>) => ({ port: 5061, ...clone(s), app_id: appId }));
      sip['servers'] = [...others, ...mine];
    }
    return sip;
  }

  private field(phoneNumberId: string, path: string[]): unknown {
    let v: unknown = this.byNumber.get(phoneNumberId);
    for (const p of path) v = isObject(v) ? v[p] : undefined;
    return v;
  }

  isCallingEnabled(phoneNumberId: string): boolean {
    return this.field(phoneNumberId, ['status']) === 'ENABLED';
  }

  /** Graph /calls is refused with 131055 on a SIP-enabled number (docs/whatsapp-calling.md#sip-mode). */
  isSipEnabled(phoneNumberId: string): boolean {
    return this.field(phoneNumberId, ['sip', 'status']) === 'ENABLED';
  }

  isCallbackPermissionEnabled(phoneNumberId: string): boolean {
    return this.field(phoneNumberId, ['callback_permission_status']) === 'ENABLED';
  }
}
