import { z } from 'zod';
import { CALLING_SETTING_KEYS, validateCallingSettings } from '../calling-settings/validation.js';

/**
 * `numbers[].calling` in config/watrunk.yaml: the calling settings a business number should have
 * (docs/whatsapp-calling.md#settings, #sip-mode). The keys and values are Meta's own (`status`, `call_hours`, `sip`, ...), so
 * a block can be copied from `watrunk settings get`. Validation is the shared Meta rule set in
 * src/calling-settings/ (the simulator enforces the same), run per key so every problem names its key.
 */

export type DesiredCalling = Record<string, unknown>;

export interface ConfigIssue {
  path: (string | number)[];
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** YAML reads an unquoted 0900 as the number 900: say so, rather than only "Invalid schedule". */
function unquotedTimes(callHours: unknown): ConfigIssue[] {
  if (!isObject(callHours)) return [];
  const out: ConfigIssue[] = [];
  const check = (list: unknown, key: string, fields: string[]) => {
    if (!Array.isArray(list)) return;
    list.forEach((entry, i) => {
      if (!isObject(entry)) return;
      for (const f of fields) {
        if (typeof entry[f] === 'number') {
          out.push({ path: ['call_hours', key, i, f], message: `an HHMM time as a string: quote it in YAML, e.g. "${String(entry[f]).padStart(4, '0')}"` });
        }
      }
    });
  };
  check(callHours['weekly_operating_hours'], 'weekly_operating_hours', ['open_time', 'close_time']);
  check(callHours['holiday_schedule'], 'holiday_schedule', ['start_time', 'end_time']);
  return out;
}

/**
 * Every problem in a desired `calling` block, each with the key it concerns (relative to the block).
 * `nowMs` decides which holidays are in the past (docs/whatsapp-calling.md#settings: Meta refuses past holidays).
 */
export function desiredCallingIssues(calling: DesiredCalling, nowMs: number): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const [key, value] of Object.entries(calling)) {
    if (!(CALLING_SETTING_KEYS as readonly string[]).includes(key)) {
      const hint = key === 'restrictions' ? ' (restrictions are reported by Meta, not set)' : '';
      out.push({ path: [key], message: `unknown calling setting${hint}; known: ${CALLING_SETTING_KEYS.join(', ')}` });
      continue;
    }
    if (key === 'call_hours') out.push(...unquotedTimes(value));
    for (const message of validateCallingSettings({ [key]: value }, nowMs)) out.push({ path: [key], message });
  }
  return out;
}

/** zod type for `numbers[].calling`: Meta's `calling` object, validated with Meta's rules. */
export const desiredCallingSchema = z.record(z.string(), z.unknown()).superRefine((calling, ctx) => {
  for (const issue of desiredCallingIssues(calling, Date.now())) {
    ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  }
});

/** The sip.status a number's configured mode implies: `sip` mode needs ENABLED, `api` mode DISABLED (docs/whatsapp-calling.md#sip-mode). */
export function sipStatusForMode(mode: 'api' | 'sip'): 'ENABLED' | 'DISABLED' {
  return mode === 'sip' ? 'ENABLED' : 'DISABLED';
}

/**
 * A `calling.sip.status` that contradicts `mode` (docs/whatsapp-calling.md#sip-mode: enabling SIP makes every Graph
 * /calls request fail with 131055). Returns the message, or undefined when consistent.
 */
export function sipModeConflict(mode: 'api' | 'sip', calling: DesiredCalling | undefined): string | undefined {
  const sip = calling?.['sip'];
  const status = isObject(sip) ? sip['status'] : undefined;
  if (status === undefined || status === sipStatusForMode(mode)) return undefined;
  return mode === 'api'
    ? 'ENABLED contradicts mode: api — enabling SIP switches off the Graph /calls endpoints (error 131055); set mode: sip, or leave sip.status out'
    : 'DISABLED contradicts mode: sip — Meta would signal calls through the Graph API, not over SIP; set mode: api, or leave sip.status out';
}
