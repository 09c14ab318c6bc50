import { validateCallHours } from './call-hours.js';

/**
 * Validation of the `calling` object of `POST /{PHONE_NUMBER_ID}/settings` (docs/whatsapp-calling.md#settings, #sip-mode).
 * Pure and framework-free. Texts for `call_hours` are Meta's (see call-hours.ts); Meta documents no
 * texts for the other fields, so those messages are ours, phrased like Graph's "(#100)" parameter errors.
 */

const ENABLED_DISABLED = ['ENABLED', 'DISABLED'] as const;
/** DEFAULT | DISABLE_ALL (docs/whatsapp-calling.md#doc-conflicts: send DISABLE_ALL; "DISABLE ALL"/HIDE_IN_CHAT are doc variants). */
const ICON_VISIBILITY = ['DEFAULT', 'DISABLE_ALL'] as const;
const SRTP = ['DTLS', 'SDES'] as const;
const ADDITIONAL_CODECS = ['PCMA', 'PCMU'] as const;
const VOICEMAIL_TRIGGERS = ['REJECT', 'TIMEOUT'] as const;

/** Keys a client may POST in `calling`. `restrictions` is GET-only. */
export const CALLING_SETTING_KEYS = [
  'status', 'call_icon_visibility', 'call_icons', 'call_hours', 'callback_permission_status', 'sip',
  'srtp_key_exchange_protocol', 'audio', 'voicemail',
] as const;

/** Meta's limit on each `request_uri_user_params` key or value (docs/whatsapp-calling.md#sip-mode). */
const MAX_URI_PARAM_LENGTH = 128;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function oneOf(value: unknown, allowed: readonly string[], key: string, out: string[]): void {
  if (!allowed.includes(value as string)) {
    out.push(`Param ${key} must be one of {${allowed.join(', ')}} - got ${JSON.stringify(value)}`);
  }
}

/** `sip` object: status, servers[{hostname, port, request_uri_user_params}], webhook_delivery (docs/whatsapp-calling.md#sip-mode). */
function validateSipSettings(sip: unknown): string[] {
  const out: string[] = [];
  if (!isObject(sip)) return ['Param sip must be an object'];
  if (sip['status'] !== undefined) oneOf(sip['status'], ENABLED_DISABLED, 'sip.status', out);
  if (sip['webhook_delivery'] !== undefined) oneOf(sip['webhook_delivery'], ENABLED_DISABLED, 'sip.webhook_delivery', out);
  const servers = sip['servers'];
  if (servers !== undefined) {
    if (!Array.isArray(servers)) return [...out, 'Param sip.servers must be an array'];
    servers.forEach((s, i) => {
      const key = `sip.servers[${i}]`;
      if (!isObject(s)) { out.push(`Param ${key} must be an object`); return; }
      const host = s['hostname'];
      if (typeof host !== 'string' || !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$/.test(host)) {
        out.push(`Param ${key}.hostname must be a host name (TLS only, no IP literal needed)`);
      }
      const port = s['port'];
      if (port !== undefined && !(Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535)) {
        out.push(`Param ${key}.port must be an integer between 1 and 65535`);
      }
      const params = s['request_uri_user_params'];
      if (params !== undefined) {
        if (!isObject(params)) out.push(`Param ${key}.request_uri_user_params must be an object`);
        else {
          for (const [k, v] of Object.entries(params)) {
            if (typeof v !== 'string' || k.length > MAX_URI_PARAM_LENGTH || v.length > MAX_URI_PARAM_LENGTH) {
              out.push(`Param ${key}.request_uri_user_params: keys and values must be strings of at most ${MAX_URI_PARAM_LENGTH} characters`);
            }
          }
        }
      }
    });
  }
  return out;
}

function validateVoicemail(vm: unknown, out: string[]): void {
  if (!isObject(vm)) { out.push('Param voicemail must be an object'); return; }
  if (vm['status'] !== undefined) oneOf(vm['status'], ENABLED_DISABLED, 'voicemail.status', out);
  const triggers = vm['triggers'];
  if (triggers !== undefined) {
    if (!Array.isArray(triggers) || triggers.length === 0) out.push('Param voicemail.triggers must list REJECT and/or TIMEOUT');
    else triggers.forEach((t, i) => oneOf(t, VOICEMAIL_TRIGGERS, `voicemail.triggers[${i}]`, out));
  }
  const audio = vm['audio'];
  const def = isObject(audio) && isObject(audio['default']) ? audio['default'] : undefined;
  const timeout = def?.['timeout_seconds'];
  // timeout_seconds: 0–30 (docs/whatsapp-calling.md#settings)
  if (timeout !== undefined && !(Number.isInteger(timeout) && (timeout as number) >= 0 && (timeout as number) <= 30)) {
    out.push('Param voicemail.audio.default.timeout_seconds must be an integer between 0 and 30');
  }
}

/**
 * Checks the `calling` object of a settings POST. Returns every problem found (empty = valid).
 * `nowMs` decides which holidays lie in the past.
 */
export function validateCallingSettings(calling: unknown, nowMs: number): string[] {
  if (!isObject(calling)) return ['The parameter calling is required and must be an object'];
  const out: string[] = [];
  for (const key of Object.keys(calling)) {
    if (!(CALLING_SETTING_KEYS as readonly string[]).includes(key)) out.push(`Unknown parameter calling.${key}`);
  }
  if (calling['status'] !== undefined) oneOf(calling['status'], ENABLED_DISABLED, 'status', out);
  if (calling['call_icon_visibility'] !== undefined) oneOf(calling['call_icon_visibility'], ICON_VISIBILITY, 'call_icon_visibility', out);
  if (calling['callback_permission_status'] !== undefined) {
    oneOf(calling['callback_permission_status'], ENABLED_DISABLED, 'callback_permission_status', out);
  }
  if (calling['srtp_key_exchange_protocol'] !== undefined) oneOf(calling['srtp_key_exchange_protocol'], SRTP, 'srtp_key_exchange_protocol', out);
  if (calling['call_icons'] !== undefined) {
    const icons = calling['call_icons'];
    const countries = isObject(icons) ? icons['restrict_to_user_countries'] : undefined;
    // ISO-3166 alpha-2 codes; [] = no restriction
    if (!Array.isArray(countries) || !countries.every((c) => typeof c === 'string' && /^[A-Z]{2}$/.test(c))) {
      out.push('Param call_icons.restrict_to_user_countries must be a list of ISO 3166 alpha-2 country codes');
    }
  }
  if (calling['audio'] !== undefined) {
    const audio = calling['audio'];
    const codecs = isObject(audio) ? audio['additional_codecs'] : undefined;
    if (!Array.isArray(codecs)) out.push('Param audio.additional_codecs must be a list');
    else codecs.forEach((c, i) => oneOf(c, ADDITIONAL_CODECS, `audio.additional_codecs[${i}]`, out));
  }
  if (calling['voicemail'] !== undefined) validateVoicemail(calling['voicemail'], out);
  if (calling['sip'] !== undefined) out.push(...validateSipSettings(calling['sip']));
  if (calling['call_hours'] !== undefined) out.push(...validateCallHours(calling['call_hours'], nowMs));
  return out;
}

/**
 * Checks the settings that result from applying a POST (docs/whatsapp-calling.md#sip-mode): while SIP is ENABLED at
 * least one server entry must exist.
 */
export function validateMergedCallingSettings(calling: Record<string, unknown>): string[] {
  const sip = calling['sip'];
  if (isObject(sip) && sip['status'] === 'ENABLED') {
    const servers = sip['servers'];
    if (!Array.isArray(servers) || servers.length === 0) {
      return ['At least one SIP server is required while sip.status is ENABLED'];
    }
  }
  return [];
}
