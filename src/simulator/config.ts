import { z } from 'zod';
import { ConfigError, formatIssues, readYamlFile } from '../config/load.js';
import { checkDialectKeys, dialectNumberFields, resolveDialectSecrets, type DialectSecrets } from './dialects/dialect-config.js';
import { GRAPH_CALL_ACTIONS } from './fault-plan.js';

/**
 * The shape of config/simulator.yaml (`watrunk simulate --config …`). snake_case like Meta's API.
 * Every key is documented with its default in config/simulator.yaml.
 */

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');
const digits = z.string().regex(/^[0-9]+$/, 'a string of digits (quote it in YAML)');
const ms = z.number().int().min(0);
const rate = z.number().min(0).max(1);

/** A BSUID such as "US.13491208655302741918" (docs/whatsapp-calling.md#user-identities: at most 256 alphanumerics, scoped per portfolio). */
export const bsuidPattern = /^[A-Z]{2}\.[A-Za-z0-9]{1,256}$/;

export const behaviours = ['answer', 'reject', 'no_answer', 'busy', 'not_on_whatsapp', 'fail'] as const;
export type Behaviour = (typeof behaviours)[number];

const userRuleFields = {
  /** What the user does when the business calls (business-initiated calls). */
  behaviour: z.enum(behaviours).default('answer'),
  /** connect → RINGING status (and busy's REJECTED, fail's terminate). */
  ring_ms: ms.default(100),
  /** RINGING → ACCEPTED / REJECTED. */
  answer_after_ms: ms.default(1000),
  /** Accepted calls: the user hangs up after this long. Omit: stays up until the business terminates. */
  hangup_after_ms: ms.optional(),
  /** behaviour fail: the code in the terminate webhook's errors[] (docs/whatsapp-calling.md#error-codes: 138019–138023). */
  error_code: z.number().int().default(138019),
  /** Initial call permission for business-initiated calls (docs/whatsapp-calling.md#permissions). */
  permission: z.enum(['none', 'temporary', 'permanent']).default('temporary'),
  /** How the user answers a call_permission_request message. */
  permission_reply: z.enum(['accept', 'reject', 'none']).default('accept'),
  permission_reply_after_ms: ms.default(500),
  /** contacts[].profile.name */
  name: z.string().optional(),
  /** BSUID; when omitted one is derived from the number. */
  user_id: z.string().regex(bsuidPattern, 'a BSUID like "US.13491208655302741918"').optional(),
  username: z.string().optional(),
  country_code: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166 alpha-2 code').optional(),
};

export const userRuleSchema = z.object({
  /** "447700900123" exact, "4477*" prefix, or an exact BSUID. First matching rule wins. */
  match: z.string().regex(/^([0-9]+\*?|[A-Z]{2}\.[A-Za-z0-9]+)$/, 'digits, digits followed by "*", or a BSUID'),
  ...userRuleFields,
}).strict();
export const defaultUserSchema = z.object(userRuleFields).strict();

export const simNumberSchema = z.object({
  phone_number_id: digits,
  display_number: digits,
  /** entry[].id in webhooks (the WABA id). Default: derived from phone_number_id. */
  waba_id: digits.optional(),
  /** app_id recorded on sip.servers[] entries this number's token creates. */
  app_id: digits.default('1000000000000001'),
  /** Env var holding the bearer token Graph requests must carry. */
  access_token_env: envName.optional(),
  /** Literal token, for demos only. */
  access_token: z.string().min(1).optional(),
  /** The bridge's webhook URL for this number. */
  webhook_url: z.url(),
  /** Env var holding the app secret webhooks are signed with (X-Hub-Signature-256). */
  app_secret_env: envName.optional(),
  app_secret: z.string().min(1).optional(),
  /** Initial `calling` settings (as POST /settings would set them). */
  calling: z.record(z.string(), z.unknown()).optional(),
  /** Another provider's wire format and its credentials (dialects/dialect-config.ts). */
  ...dialectNumberFields,
}).strict().superRefine((n, ctx) => {
  if (n.dialect !== 'meta') return checkDialectKeys(n, ctx);
  if (!n.access_token_env === !n.access_token) {
    ctx.addIssue({ code: 'custom', path: ['access_token_env'], message: 'set exactly one of access_token_env or access_token' });
  }
  if (!n.app_secret_env === !n.app_secret) {
    ctx.addIssue({ code: 'custom', path: ['app_secret_env'], message: 'set exactly one of app_secret_env or app_secret' });
  }
});

const limitsSchema = z.object({
  /** Per business number (docs/whatsapp-calling.md#limits); above it connect fails with 138002. */
  max_concurrent_calls: z.number().int().min(1).default(1000),
  /** Permission requests per (number, user): 1 per 24 h and 2 per 7 days (docs/whatsapp-calling.md#limits) → 138009. */
  permission_requests_per_24h: z.number().int().min(1).default(1),
  permission_requests_per_7d: z.number().int().min(1).default(2),
  /** Connected business-initiated calls per (number, user) per 24 h (docs/whatsapp-calling.md#limits) → 138012. */
  connected_calls_per_24h: z.number().int().min(1).default(100),
  /** Consecutive unanswered/rejected BIC calls that auto-revoke a permission (docs/whatsapp-calling.md#permissions); 0 = never. */
  auto_revoke_after_unanswered: z.number().int().min(0).default(4),
  /** Ended calls kept for /_sim/calls (oldest forgotten first); bounds memory under load tests. */
  max_calls_kept: z.number().int().min(10).default(10_000),
}).strict();

const timingSchema = z.object({
  /** User-initiated: no accept/reject within this → terminate webhook ("Not Answered", docs/whatsapp-calling.md#accept-window). */
  accept_window_ms: ms.default(60_000),
  /** Business-initiated no_answer: ringing ends after this (undocumented by Meta, docs/whatsapp-calling.md#business-initiated-calls). */
  ring_timeout_ms: ms.default(45_000),
  /** Temporary permission lifetime: 7 days (docs/whatsapp-calling.md#permissions). */
  temporary_permission_ms: ms.default(7 * 24 * 3600 * 1000),
  /** Delay between the connect response and the connect webhook. */
  connect_webhook_delay_ms: ms.default(0),
}).strict();

const webhooksSchema = z.object({
  timeout_ms: z.number().int().min(50).max(60_000).default(5_000),
  /** Attempts per webhook (first try included) on non-2xx or timeout. */
  max_attempts: z.number().int().min(1).max(10).default(3),
  /** Backoff before retry n is n × retry_delay_ms. */
  retry_delay_ms: ms.default(500),
  /** Parallel deliveries per webhook URL. 1 = every webhook in order; more = calls in parallel, each call's in order (load tests). */
  concurrency: z.number().int().min(1).max(256).default(1),
}).strict();

const mediaSchema = z.object({
  mode: z.enum(['signalling-only', 'real']).default('signalling-only'),
  /** Tone the simulated user plays (real mode). */
  tone_hz: z.number().positive().default(440),
  /** Tones the simulated user listens for in the business's audio (real mode). */
  listen_hz: z.array(z.number().positive()).default([1000]),
}).strict();

const faultsSchema = z.object({
  /** Share of webhooks delivered twice. */
  duplicate_rate: rate.default(0),
  /** Share of webhooks held back and delivered after the next one. */
  reorder_rate: rate.default(0),
  /** Share of webhooks never delivered. */
  drop_rate: rate.default(0),
  /** Every webhook is delivered this much later. */
  delay_ms: ms.default(0),
  /** A held-back (reordered) webhook is released after this even if no other webhook follows. */
  reorder_max_hold_ms: ms.default(2_000),
  /** Share of webhooks delivered with timestamps `late_by_s` in the past (Meta retried them for that long). */
  late_rate: rate.default(0),
  late_by_s: z.number().int().min(1).default(600),
  /** Share of Graph `/calls` requests answered HTTP 500 (code 1) without being carried out. */
  graph_error_rate: rate.default(0),
  /** The actions graph_error_rate applies to. */
  graph_error_actions: z.array(z.enum(GRAPH_CALL_ACTIONS)).default([...GRAPH_CALL_ACTIONS]),
}).strict();

const sipEdgeSchema = z.object({
  /** The simulator's own drachtio-server (admin connection). */
  drachtio: z.object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(1).max(65535).default(9023),
    secret: z.string().optional(),
    secret_env: z.string().optional(),
  }).strict(),
  /** The rtpengine that plays Meta's media relay between the business's SDES/DTLS and the user's WebRTC. */
  rtpengine: z.object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(1).max(65535).default(22222) }).strict(),
  /** Meta's SIP domain. */
  domain: z.string().default('wa.meta.vc'),
  /**
   * Where INVITEs to the business go, whatever the number's sip.servers[].hostname says (tests:
   * "sip:127.0.0.1:<watrunk's TLS port>;transport=tls"). Default: the configured hostname and port over TLS.
   */
  business_proxy: z.string().regex(/^sips?:/).optional(),
  /** A Record-Route the edge adds to its 200 OK (Meta's proxies add theirs); must reach this edge. */
  record_route: z.string().optional(),
}).strict();

export type SipEdgeConfig = z.infer<typeof sipEdgeSchema>;

export const simulatorConfigSchema = z.object({
  http: z.object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8090),
  }).strict().default({ host: '127.0.0.1', port: 8090 }),
  /** The Graph version clients are expected to use; any vNN.N is accepted and recorded. */
  graph_version: z.string().regex(/^v[0-9]+\.[0-9]+$/, 'a Graph API version like "v24.0"').default('v24.0'),
  /** Seed for ids, passwords and fault rates: the same seed and inputs give the same run. */
  seed: z.number().int().default(1),
  /** When true, /calls on a number whose calling.status is not ENABLED fails with 138000. */
  require_calling_enabled: z.boolean().default(false),
  numbers: z.array(simNumberSchema).min(1, 'at least one business number'),
  limits: limitsSchema.default(limitsSchema.parse({})),
  timing: timingSchema.default(timingSchema.parse({})),
  webhooks: webhooksSchema.default(webhooksSchema.parse({})),
  users: z.array(userRuleSchema).default([]),
  default_user: defaultUserSchema.default(defaultUserSchema.parse({})),
  media: mediaSchema.default(mediaSchema.parse({})),
  faults: faultsSchema.default(faultsSchema.parse({})),
  /**
   * Meta's SIP edge for numbers whose simulated sip.status is ENABLED (sip-edge/, docs/sip-mode.md#simulator).
   * Needs a drachtio-server of its own (with a TLS listener) and an rtpengine standing in for Meta's relay.
   */
  sip_edge: sipEdgeSchema.optional(),
}).strict().superRefine((cfg, ctx) => {
  const seen = new Map<string, number>();
  cfg.numbers.forEach((n, i) => {
    const prev = seen.get(n.phone_number_id);
    if (prev !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['numbers', i, 'phone_number_id'], message: `duplicate of numbers[${prev}]` });
    }
    seen.set(n.phone_number_id, i);
  });
});

export type SimulatorConfig = z.infer<typeof simulatorConfigSchema>;
/** What callers may pass before defaults are applied. */
export type SimulatorConfigInput = z.input<typeof simulatorConfigSchema>;
export type SimNumberConfig = z.infer<typeof simNumberSchema>;
export type UserRule = z.infer<typeof defaultUserSchema> & { match?: string };

/** Validates an already-parsed document; throws ConfigError naming every bad key. */
export function parseSimulatorConfig(doc: unknown, file?: string): SimulatorConfig {
  const res = simulatorConfigSchema.safeParse(doc ?? {});
  if (!res.success) throw new ConfigError(formatIssues(res.error.issues), file);
  return res.data;
}

export interface NumberSecrets { accessToken: string; appSecret: string; dialect: DialectSecrets }

/** Resolves each number's token and app secret (literal or from the env var), naming the key when unset. */
export function resolveNumberSecrets(config: SimulatorConfig, env: NodeJS.ProcessEnv = process.env, file?: string): Map<string, NumberSecrets> {
  const problems: string[] = [];
  const out = new Map<string, NumberSecrets>();
  config.numbers.forEach((n, i) => {
    const read = (literal: string | undefined, name: string | undefined, key: string): string => {
      if (literal) return literal;
      const v = name ? env[name] : undefined;
      if (!v) problems.push(`numbers[${i}].${key}: environment variable ${name} is not set`);
      return v ?? '';
    };
    const dialect = resolveDialectSecrets(n, `numbers[${i}]`, env, problems);
    if (n.dialect !== 'meta') {
      out.set(n.phone_number_id, { accessToken: '', appSecret: '', dialect });
      return;
    }
    out.set(n.phone_number_id, {
      accessToken: read(n.access_token, n.access_token_env, 'access_token_env'),
      appSecret: read(n.app_secret, n.app_secret_env, 'app_secret_env'),
      dialect,
    });
  });
  if (problems.length) throw new ConfigError(problems, file);
  return out;
}

/** Reads and validates a YAML simulator config. Secrets are checked too, so a missing env var fails here. */
export function loadSimulatorConfig(file: string, env: NodeJS.ProcessEnv = process.env): SimulatorConfig {
  const config = parseSimulatorConfig(readYamlFile(file), file);
  resolveNumberSecrets(config, env, file);
  return config;
}
