import { z } from 'zod';
import { digits, envName, headerName, ipOrCidr, text, urlPath } from './primitives.js';
import { PROVIDER_CAPABILITIES, type ProviderName } from './provider-capabilities.js';

/**
 * The provider blocks of `numbers[]` (docs/providers.md): `d360` (360dialog), `cams` (Alibaba
 * Cloud CAMS) and `conceptomovil` (Concepto Móvil), and the checks that tie a number's keys to its
 * `provider`. Secrets are named by `*_env` keys like everywhere else (provider-secrets.ts reads them).
 */

/** One static header 360dialog sends with each delivery: its name and the env var holding its value. */
const d360HeaderToken = z.object({ name: headerName, value_env: envName }).strict();

/** How 360dialog webhook deliveries are authenticated (src/adapters/d360/d360-webhook-verifier.ts). */
const d360WebhookSchema = z.object({
  /** Public path 360dialog posts this number's webhooks to. Default: <webhook.provider_events_prefix>/360dialog/<name>. */
  path: urlPath.optional(),
  /** Env var(s) holding the x-360dialog-signature HMAC secret; a list during a rotation. */
  signature_secret_env: z.union([envName, z.array(envName).min(1)]).optional(),
  signature_header: headerName.default('x-360dialog-signature'),
  /**
   * Static headers set together with the webhook URL at 360dialog ("custom headers"), e.g.
   * {name: Authorization, value_env: …}: one, or a list of which every header must match. A single
   * object is read as a list of one (so a problem in it is named header_token[0]).
   */
  header_token: z.preprocess(
    (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? [v] : v),
    z.array(d360HeaderToken).min(1, 'a header {name, value_env}, or a non-empty list of them'),
  ).optional(),
  /** true: a header token alone is enough (no signature). Deliveries without either are always refused. */
  allow_header_token_only: z.boolean().default(false),
}).strict();

export const d360Schema = z.object({
  /** Env var holding the number's D360-API-KEY. */
  api_key_env: envName,
  base_url: z.url().default('https://waba-v2.360dialog.io'),
  webhook: d360WebhookSchema.default(d360WebhookSchema.parse({})),
}).strict();

/** Where CAMS and Concepto Móvil post events: an unguessable path token, optionally a source allow-list. */
const eventIngressFields = {
  /** Env var holding the token in the events URL path (<prefix>/<provider>/<token>); at least 16 characters. */
  events_path_token_env: envName,
  /** Addresses or CIDR blocks events may come from; empty: any. */
  events_allow_from: z.array(ipOrCidr).default([]),
};

export const camsSchema = z.object({
  /** The CAMS OpenAPI endpoint (Singapore is the only published region). */
  endpoint: z.url().default('https://cams.ap-southeast-1.aliyuncs.com'),
  access_key_id_env: envName,
  access_key_secret_env: envName,
  /** STS token of temporary credentials, if used. */
  security_token_env: envName.optional(),
  /** Space ID of an ISV sub-customer, or the instance ID of a direct customer ("cams-…"). */
  cust_space_id: text,
  /** BusinessNumber in requests; default: display_number. */
  business_number: digits.optional(),
  ...eventIngressFields,
}).strict();

const apiPath = z.string().regex(/^\/[^\s?#]*$/, 'a path such as "/whatsapp-bsp-api-endpoint/services/v1/call"');

export const conceptoMovilSchema = z.object({
  /** The tenant's host (and optional path prefix); there is no public default. */
  base_url: z.url(),
  api_key_env: envName,
  api_token_env: envName,
  /** `from` in requests; default: display_number. */
  business_number: digits.optional(),
  /** WhatsApp Business Account id: needed to write calling settings. */
  waba_id: digits.optional(),
  /** {phone_number} of the settings path; default: the business number. */
  settings_phone_number: digits.optional(),
  paths: z.object({ token: apiPath.optional(), calls: apiPath.optional(), call_settings: apiPath.optional() }).strict().default({}),
  /** Lifetime of a token whose answer states none. */
  token_ttl_ms: z.number().int().min(60_000).max(86_400_000).default(3_600_000),
  ...eventIngressFields,
}).strict();

const BLOCK_OF: Readonly<Record<Exclude<ProviderName, 'meta'>, 'd360' | 'cams' | 'conceptomovil'>> = {
  '360dialog': 'd360', cams: 'cams', conceptomovil: 'conceptomovil',
};

interface NumberProviderKeys {
  provider: ProviderName;
  mode: 'api' | 'sip';
  phone_number_id?: string | undefined;
  access_token_env?: string | undefined;
  calling?: Record<string, unknown> | undefined;
  d360?: z.infer<typeof d360Schema> | undefined;
  cams?: unknown;
  conceptomovil?: unknown;
}

/** A number's keys against its provider: required and foreign blocks, SIP mode, 360dialog webhook auth. */
export function checkNumberProvider(n: NumberProviderKeys, ctx: z.core.$RefinementCtx): void {
  const caps = PROVIDER_CAPABILITIES[n.provider];
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  for (const [provider, block] of Object.entries(BLOCK_OF)) {
    if (provider !== n.provider && n[block] !== undefined) issue([block], `only for provider: ${provider} (this number's provider is ${n.provider})`);
  }
  if (n.provider === 'meta') {
    if (n.phone_number_id === undefined) issue(['phone_number_id'], 'required for provider: meta');
    if (n.access_token_env === undefined) issue(['access_token_env'], 'required for provider: meta');
  } else {
    const block = BLOCK_OF[n.provider];
    if (n[block] === undefined) issue([block], `required for provider: ${n.provider} (${caps.docs})`);
    if (n.access_token_env !== undefined) issue(['access_token_env'], `a Meta key: provider ${n.provider} takes its credentials from the ${block} block`);
  }
  if (!caps.sipMode) {
    if (n.mode === 'sip') issue(['mode'], `sip is not available with provider ${n.provider}: ${caps.label} offers no SIP signalling (${caps.docs}); use mode: api`);
    if (n.calling?.['sip'] !== undefined) issue(['calling', 'sip'], `${caps.label} offers no SIP signalling (${caps.docs}): remove the sip block`);
  }
  const hook = n.d360?.webhook;
  if (n.provider === '360dialog' && hook && n.mode === 'api') {
    if (hook.signature_secret_env === undefined && hook.header_token === undefined) {
      issue(['d360', 'webhook', 'signature_secret_env'], 'configure signature_secret_env (x-360dialog-signature) and/or header_token: unauthenticated deliveries are refused');
    } else if (hook.signature_secret_env === undefined && !hook.allow_header_token_only) {
      issue(['d360', 'webhook', 'allow_header_token_only'], 'only header_token is configured: set allow_header_token_only: true to accept deliveries that carry no signature, or add signature_secret_env');
    }
    const seen = new Set<string>();
    (hook.header_token ?? []).forEach((t, j) => {
      const name = t.name.toLowerCase();
      const at = ['d360', 'webhook', 'header_token', j, 'name'];
      if (seen.has(name)) issue(at, `header ${t.name} is listed twice`);
      else if (hook.signature_secret_env !== undefined && name === hook.signature_header.toLowerCase()) issue(at, `header ${t.name} carries the signature (signature_header): it cannot also be a static header`);
      seen.add(name);
    });
  }
}

/** The public path of a 360dialog number's webhook. */
export function d360WebhookPath(prefix: string, n: { name: string; d360?: { webhook: { path?: string | undefined } } | undefined }): string {
  return n.d360?.webhook.path ?? `${prefix}/360dialog/${n.name}`;
}

/** The public path prefix CAMS or Concepto Móvil events arrive under (the token follows). */
export function eventsPathPrefix(prefix: string, provider: 'cams' | 'conceptomovil'): string {
  return `${prefix}/${provider}/`;
}

interface ConfigProviderKeys {
  webhook: { path: string; provider_events_prefix: string };
  numbers: Array<NumberProviderKeys & { name: string; d360?: { webhook: { path?: string | undefined } } | undefined }>;
  trunks: Array<{ numbers: string[]; permission_policy?: { mode: string } | undefined }>;
}

/**
 * Checks across numbers and trunks: a permission policy on a trunk with a number whose provider has
 * no permissions API, and webhook paths that collide.
 */
export function checkProviderRoutes(cfg: ConfigProviderKeys, builtIn: readonly string[], ctx: z.core.$RefinementCtx): void {
  const byName = new Map(cfg.numbers.map((n) => [n.name, n]));
  cfg.trunks.forEach((t, i) => {
    const mode = t.permission_policy?.mode ?? 'off';
    if (mode === 'off') return;
    for (const name of t.numbers) {
      const n = byName.get(name);
      if (!n || PROVIDER_CAPABILITIES[n.provider].permissions) continue;
      const caps = PROVIDER_CAPABILITIES[n.provider];
      ctx.addIssue({
        code: 'custom', path: ['trunks', i, 'permission_policy'],
        message: `${mode} needs a call permissions API, which ${caps.label} (number "${name}", provider ${n.provider}) does not offer (${caps.docs}): use permission_policy: off on trunks with this number`,
      });
    }
  });
  const prefix = cfg.webhook.provider_events_prefix;
  const tokenPrefixes = (['cams', 'conceptomovil'] as const).map((p) => eventsPathPrefix(prefix, p));
  if (tokenPrefixes.some((p) => cfg.webhook.path.startsWith(p))) {
    ctx.addIssue({ code: 'custom', path: ['webhook', 'path'], message: `under ${tokenPrefixes.join(' or ')}, where CAMS and Concepto Móvil events arrive: choose another path` });
  }
  const seen = new Map<string, number>();
  cfg.numbers.forEach((n, i) => {
    if (n.provider !== '360dialog') return;
    const path = d360WebhookPath(prefix, n);
    const at = ['numbers', i, 'd360', 'webhook', 'path'];
    const clash = path === cfg.webhook.path ? 'webhook.path (Meta\'s webhook)'
      : builtIn.includes(path) ? 'a built-in route'
        : tokenPrefixes.some((p) => path.startsWith(p)) ? 'the CAMS / Concepto Móvil events paths'
          : seen.has(path) ? `numbers[${seen.get(path)}]'s 360dialog webhook path` : undefined;
    if (clash) ctx.addIssue({ code: 'custom', path: at, message: `${path} is ${clash}: give each 360dialog number its own path` });
    seen.set(path, i);
  });
}
