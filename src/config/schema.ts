import { isIP } from 'node:net';
import { z } from 'zod';
import { desiredCallingSchema, sipModeConflict } from './desired-calling.js';
import { metaSipIssues, metaSipSchema } from './meta-sip-schema.js';
import { permissionPolicySchema } from './permission-policy.js';
import { digits, envName, ipOrCidr, port, text, urlPath } from './primitives.js';
import { PROVIDERS } from './provider-capabilities.js';
import { camsSchema, checkNumberProvider, checkProviderRoutes, conceptoMovilSchema, d360Schema } from './provider-schemas.js';

/**
 * The shape of config/watrunk.yaml. Keys are snake_case, like Meta's own API.
 * Secrets never live in the file: a key ending in `_env` names the environment variable that holds
 * the secret, and load.ts resolves it (and fails, naming both, when it is unset).
 */

/** RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens. */
const HOST_NAME = /^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** Where a listener binds: an IP address or a host name. */
const listenHost = z.string().superRefine((v, ctx) => {
  if (!/\S/.test(v)) ctx.addIssue({ code: 'custom', message: 'must not be blank' });
  else if (!isIP(v) && !HOST_NAME.test(v)) ctx.addIssue({ code: 'custom', message: 'an IP address or host name, e.g. "0.0.0.0", "127.0.0.1" or "watrunk.example.com"' });
});

export const graphVersion = z.string().regex(/^v[0-9]+\.[0-9]+$/, 'a Graph API version like "v24.0"');

const sipTarget = z.string().regex(/^sips?:/, 'a SIP URI template, e.g. "sip:{to}@pbx.example.com:5060"');

/** Where a user-initiated call to this number goes, when one of `rules` matches (first wins). */
const inboundRuleSchema = z.object({
  match: z.object({
    cta_payload: text.optional(),
    deeplink_payload: text.optional(),
    /** Calling code prefix of the caller's number, e.g. "44". */
    caller_country_code: z.string().regex(/^[0-9]{1,3}$/, 'a calling code, e.g. "44"').optional(),
  }).strict(),
  target: sipTarget,
}).strict();

/** WhatsApp -> PBX routing for one business number. */
const inboundSchema = z.object({
  /**
   * Request-URI template. Placeholders: {to} business number digits, {from} caller digits (or
   * BSUID when hidden), {user_id} BSUID, {number} the number's name.
   */
  target: sipTarget,
  rules: z.array(inboundRuleSchema).default([]),
  transport: z.enum(['udp', 'tcp', 'tls']).default('udp'),
  /** Digest credentials, if the PBX challenges watrunk's INVITE. */
  auth: z.object({ username: text, password_env: envName }).strict().optional(),
  /** CANCEL and reject when the PBX has not answered in time (Meta's window is about 30–60 s). */
  ring_timeout_s: z.number().int().min(5).max(55).default(25),
}).strict();

export const numberSchema = z.object({
  /** Short name used in logs, trunk lists and CLI commands. */
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "-" or "."'),
  /** Who carries the calls (docs/providers.md): Meta's Cloud API, or a provider in front of it. */
  provider: z.enum(PROVIDERS).default('meta'),
  /**
   * Meta's id of the number: required for provider meta. Other providers may not show it; events of
   * a number without one are routed by display_number (src/calls/number-directory.ts numberKey).
   */
  phone_number_id: digits.optional(),
  /** The business number itself, digits only with country code. */
  display_number: digits,
  /** Meta: the system-user access token's env var (required for provider meta, refused for others). */
  access_token_env: envName.optional(),
  graph_version: graphVersion.default('v24.0'),
  /** Where the Graph API lives; point it at `watrunk simulate` for tests and demos. */
  base_url: z.url().default('https://graph.facebook.com'),
  /** `api`: calls signalled through the Graph API and webhooks. `sip`: Meta dials us over SIP (docs/whatsapp-calling.md#sip-mode). */
  mode: z.enum(['api', 'sip']).default('api'),
  /** Per-request timeout toward the provider. */
  timeout_ms: z.number().int().min(100).max(60_000).default(5_000),
  /** Concurrent calls allowed on this number before watrunk answers 503 itself (Meta's limit: 1000). */
  max_concurrent_calls: z.number().int().min(1).default(1000),
  /** WhatsApp -> PBX routing. Absent: user-initiated calls are rejected at once. */
  inbound: inboundSchema.optional(),
  /** mode sip: watrunk as the SBC between the PBX and Meta's SIP edge (meta-sip-schema.ts, docs/sip-mode.md). */
  meta_sip: metaSipSchema.optional(),
  /** Desired calling settings (Meta's `calling` object, docs/whatsapp-calling.md#settings): `watrunk settings diff|apply`. */
  calling: desiredCallingSchema.optional(),
  /** provider 360dialog: API key, base URL, webhook authentication (provider-schemas.ts). */
  d360: d360Schema.optional(),
  /** provider cams: Alibaba Cloud CAMS credentials, CustSpaceId, events ingress. */
  cams: camsSchema.optional(),
  /** provider conceptomovil: tenant URL, API key and token, events ingress. */
  conceptomovil: conceptoMovilSchema.optional(),
}).strict().superRefine((n, ctx) => {
  const conflict = sipModeConflict(n.mode, n.calling);
  if (conflict) ctx.addIssue({ code: 'custom', path: ['calling', 'sip', 'status'], message: conflict });
  for (const issue of metaSipIssues(n)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  checkNumberProvider(n, ctx);
});

const webhookSchema = z.object({
  path: urlPath.default('/webhooks/whatsapp'),
  /** Where other providers' events arrive: <prefix>/360dialog/<number>, <prefix>/cams/<token>, <prefix>/conceptomovil/<token>. */
  provider_events_prefix: z.string().regex(/^(\/[A-Za-z0-9_.~-]+)+$/, 'a path such as "/webhooks"').default('/webhooks'),
  verify_token_env: envName.default('WATRUNK_VERIFY_TOKEN'),
  app_secret_env: envName.default('WATRUNK_APP_SECRET'),
  /** Larger bodies are answered 413 (Meta batches up to 1000 updates; 1 MiB is ample). */
  max_body_bytes: z.number().int().min(1024).default(1_048_576),
  /** Events older than this are parsed and logged but not acted upon (docs/whatsapp-calling.md#delivery). */
  max_event_age_s: z.number().int().min(1).default(300),
  /** How many event keys are remembered to drop duplicates. */
  dedupe_capacity: z.number().int().min(100).default(50_000),
}).strict();

/**
 * Time limits of one HTTP listener (Node's http.Server: https://nodejs.org/api/http.html#class-httpserver).
 * They bound what a slow or silent client can hold: a request whose headers and body have not all
 * arrived in time is answered 408 and its connection closed.
 */
function listenerSchema(section: string, defaults: { host: string; port: number; connectionTimeoutMs: number }) {
  return {
    host: listenHost.default(defaults.host),
    port: port.default(defaults.port),
    /** Headers and body must have arrived within this (408 otherwise). */
    request_timeout_ms: z.number().int().min(100).max(600_000).default(10_000),
    /** Headers must have arrived within this; at most request_timeout_ms. */
    headers_timeout_ms: z.number().int().min(100).max(600_000).default(5_000),
    /** An idle keep-alive connection is closed after this. */
    keep_alive_timeout_ms: z.number().int().min(100).max(600_000).default(5_000),
    /** A connection without traffic either way is closed after this; 0: never. */
    connection_timeout_ms: z.number().int().min(0).max(3_600_000).default(defaults.connectionTimeoutMs),
    refine: (l: { headers_timeout_ms: number; request_timeout_ms: number }, ctx: z.core.$RefinementCtx) => {
      if (l.headers_timeout_ms > l.request_timeout_ms) {
        ctx.addIssue({ code: 'custom', path: ['headers_timeout_ms'], message: `at most ${section}.request_timeout_ms (${l.request_timeout_ms})` });
      }
    },
  };
}

const { refine: refinePublic, ...publicListener } = listenerSchema('http', { host: '0.0.0.0', port: 8080, connectionTimeoutMs: 30_000 });

/** The public listener: Meta's webhook deliveries (and /healthz) only. */
export const httpSchema = z.object({
  ...publicListener,
  /** Concurrent connections from one address; more are closed at once. 0: no limit. */
  max_connections_per_ip: z.number().int().min(0).default(64),
  /** Requests per second from one address, sustained; more are answered 429. 0: no limit. */
  requests_per_ip_per_s: z.number().min(0).default(100),
  /** Requests one address may send at once above the sustained rate. */
  request_burst_per_ip: z.number().int().min(1).default(200),
  /**
   * Reverse proxies (addresses or CIDR blocks) whose X-Forwarded-For is believed: the per-address
   * request limit then applies to the client they name, and their own connections are not limited.
   */
  trust_proxy: z.array(ipOrCidr).default([]),
}).strict().superRefine(refinePublic);

const { refine: refineInternal, ...internalListener } = listenerSchema('internal_http', { host: '127.0.0.1', port: 8081, connectionTimeoutMs: 0 });

/**
 * The internal listener: /healthz, /readyz, /metrics and the admin API. Loopback by default; no
 * connection timeout, since an admin request can wait on several Graph API calls.
 */
export const internalHttpSchema = z.object(internalListener).strict().superRefine(refineInternal);

/** Routes every watrunk listener serves itself (src/http/app.ts): no webhook or admin path may take them. */
const BUILT_IN_PATHS: readonly string[] = ['/healthz', '/readyz', '/metrics'];

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

const dialPlanSchema = z.object({
  strip_prefixes: z.array(z.string().regex(/^[0-9*#]+$/, 'digits')).default([]),
  international_prefixes: z.array(z.string().regex(/^[0-9]+$/, 'digits')).default(['00']),
  national_prefix: z.string().regex(/^[0-9]+$/, 'digits').optional(),
  default_country_code: z.string().regex(/^[1-9][0-9]{0,2}$/, 'a country calling code, e.g. "44"').optional(),
  min_digits: z.number().int().min(1).max(15).default(8),
  max_digits: z.number().int().min(1).max(32).default(15),
}).strict();

/** A PBX (or SBC) allowed to send calls to WhatsApp through watrunk. */
export const trunkSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "-" or "."'),
  /** Source addresses the trunk's INVITEs come from. Empty: any source, but then `auth` is required. */
  sources: z.array(ipOrCidr).default([]),
  /** Digest credentials the trunk must present (challenged with 401). */
  auth: z.object({
    username: text,
    password_env: envName,
    realm: text.default('watrunk'),
  }).strict().optional(),
  /** Business numbers (by name) this trunk may call from; the first is its default. */
  numbers: z.array(text).min(1, 'at least one business number name'),
  /** Header a PBX may set to pick one of several business numbers (name or digits). */
  number_header: text.default('X-WA-Business-Number'),
  dial_plan: dialPlanSchema.default(dialPlanSchema.parse({})),
  /** New calls per second accepted from this trunk; more are answered 503. */
  max_cps: z.number().positive().default(10),
  /** Call permission check before `connect` (permission-policy.ts). Absent: off. */
  permission_policy: permissionPolicySchema.optional(),
}).strict().refine((t) => t.sources.length > 0 || t.auth !== undefined, {
  message: 'a trunk needs `sources`, `auth`, or both (otherwise anyone could call through it)',
  path: ['sources'],
});

/** The admin HTTP API: bearer token from the environment variable `token_env`. */
const adminSchema = z.object({
  token_env: envName.default('WATRUNK_ADMIN_TOKEN'),
  path_prefix: z.string().regex(/^(\/[A-Za-z0-9_-]+)+$/, 'a path such as "/admin"').default('/admin'),
  /** Where SIP credential fingerprints (never the password) are kept to notice a change. */
  credentials_state_file: text.default('var/sip-credentials.json'),
}).strict();

const shutdownSchema = z.object({
  /**
   * From the signal to the exit, at most: calls are ended and Meta told within it. Below Docker's
   * default stop grace (10 s, https://docs.docker.com/reference/cli/docker/container/stop/).
   */
  grace_s: z.number().int().min(1).max(300).default(8),
}).strict();

/** calls.overload: when new PBX calls get 503 + Retry-After (src/calls/overload-guard.ts). */
const overloadSchema = z.object({
  /** Call set-ups (INVITE admitted, no 18x/2xx yet) at once; more get 503; 0: no limit. */
  max_setups_in_flight: z.number().int().min(0).default(200),
  /** Mean event-loop delay above this in three 0.5 s windows in a row: 503; 0: no limit. */
  max_event_loop_lag_ms: z.number().int().min(0).default(50),
  retry_after_s: z.number().int().min(1).max(3600).default(2),
}).strict();

const journalSchema = z.object({
  /** false: no journal, nothing recovered after a crash (tests). */
  enabled: z.boolean().default(true),
  /** JSON-lines file; its directory is created. One watrunk process per file. */
  path: z.string().min(1).default('var/calls.journal'),
  /** interval: a record counts once appended (survives a watrunk crash), fdatasync within sync_interval_ms; each_write: after its fdatasync. */
  sync: z.enum(['interval', 'each_write']).default('interval'),
  sync_interval_ms: z.number().int().min(10).max(10_000).default(100),
}).strict();

/**
 * Start-up collisions, named by key: a webhook path or admin prefix that takes a built-in route,
 * an admin prefix overlapping the webhook path, the two listeners on one address.
 */
function checkRoutesAndListeners(
  cfg: { webhook: { path: string }; admin?: { path_prefix: string } | undefined; http: { host: string; port: number }; internal_http: { host: string; port: number } },
  ctx: z.core.$RefinementCtx,
): void {
  const hook = cfg.webhook.path;
  if (BUILT_IN_PATHS.includes(hook)) {
    ctx.addIssue({ code: 'custom', path: ['webhook', 'path'], message: `${hook} is a built-in route (${BUILT_IN_PATHS.join(', ')}): choose another path` });
  }
  const prefix = cfg.admin?.path_prefix;
  if (prefix !== undefined) {
    if (BUILT_IN_PATHS.includes(prefix)) {
      ctx.addIssue({ code: 'custom', path: ['admin', 'path_prefix'], message: `${prefix} is a built-in route (${BUILT_IN_PATHS.join(', ')}): choose another prefix` });
    }
    if (hook === prefix || hook.startsWith(`${prefix}/`) || prefix.startsWith(`${hook}/`)) {
      ctx.addIssue({ code: 'custom', path: ['admin', 'path_prefix'], message: `${prefix} collides with webhook.path ${hook}: give them separate paths` });
    }
  }
  const pub = cfg.http;
  const internal = cfg.internal_http;
  if (pub.port === internal.port && (pub.host === internal.host || WILDCARD_HOSTS.has(pub.host) || WILDCARD_HOSTS.has(internal.host))) {
    ctx.addIssue({ code: 'custom', path: ['internal_http', 'port'], message: `${internal.port} is also http.port (on ${pub.host}): the internal listener needs a port of its own` });
  }
}

export const configSchema = z.object({
  log: z.object({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  }).strict().default({ level: 'info' }),
  /** The public listener (webhooks): the only one to expose to Meta. */
  http: httpSchema.default(httpSchema.parse({})),
  /** The internal listener (/readyz, /metrics, admin API): keep it off the Internet. */
  internal_http: internalHttpSchema.default(internalHttpSchema.parse({})),
  webhook: webhookSchema.default(webhookSchema.parse({})),
  numbers: z.array(numberSchema).min(1, 'at least one business number'),
  /** drachtio-server's admin (app) connection. Absent: no SIP side (webhooks only). */
  drachtio: z.object({
    host: text.default('127.0.0.1'),
    port: port.default(9022),
    secret_env: envName.default('WATRUNK_DRACHTIO_SECRET'),
  }).strict().optional(),
  /** rtpengine ng control addresses; the first that answers is used. */
  rtpengine: z.object({
    engines: z.array(z.object({ host: text, port: port.default(22222) }).strict()).min(1),
    timeout_ms: z.number().int().min(100).default(3_000),
    /** Resend an unanswered ng command (same cookie) after this, doubling, until timeout_ms; 0: never. */
    retransmit_ms: z.number().int().min(0).default(500),
  }).strict().optional(),
  trunks: z.array(trunkSchema).default([]),
  calls: z.object({
    /** PBX -> WhatsApp: give up (480) when the user has not answered within this time. */
    no_answer_timeout_s: z.number().int().min(5).max(600).default(60),
    /** Answer the PBX on the first media from WhatsApp as well as on ACCEPTED. */
    answer_on_first_media: z.boolean().default(true),
    first_media_packets: z.number().int().min(1).default(3),
    media_poll_ms: z.number().int().min(20).default(200),
    /** End an answered call when no RTP came from the PBX for this long (not while it holds); 0: off. */
    pbx_media_timeout_s: z.number().int().min(0).max(3600).default(30),
    /** End an answered call when no RTP came from WhatsApp for this long; 0: off. */
    whatsapp_media_timeout_s: z.number().int().min(0).max(3600).default(30),
    /** How often the media engine's packet counters are read for the two timeouts above. */
    media_check_interval_s: z.number().int().min(1).max(60).default(5),
    /** RFC 4028 session timers on the PBX legs. */
    session_timer: z.object({
      /** Session-Expires asked for on INVITEs to the PBX (watrunk refreshes); 0: none. */
      expires_s: z.number().int().min(0).max(86_400).default(1800),
      /** Smaller Session-Expires from a PBX are answered 422 with this Min-SE. */
      min_se_s: z.number().int().min(90).max(86_400).default(90),
    }).strict().default({ expires_s: 1800, min_se_s: 90 }),
    /** In-dialog OPTIONS to the PBX every this many seconds, for PBXs without session timers; 0: off. */
    options_ping_s: z.number().int().min(0).max(3600).default(0),
    /** Load shedding: 503 + Retry-After to new PBX calls before the machine saturates (docs/sip.md#overload). */
    overload: overloadSchema.default(overloadSchema.parse({})),
  }).strict().default({
    no_answer_timeout_s: 60, answer_on_first_media: true, first_media_packets: 3, media_poll_ms: 200,
    pbx_media_timeout_s: 30, whatsapp_media_timeout_s: 30, media_check_interval_s: 5,
    session_timer: { expires_s: 1800, min_se_s: 90 }, options_ping_s: 0, overload: overloadSchema.parse({}),
  }),
  /** Admin HTTP API under `path_prefix` on the internal listener (src/control/admin/admin-api.ts). Absent: no admin API. */
  admin: adminSchema.optional(),
  /** SIGTERM/SIGINT: drain, end every call, exit (README "Signals and draining"). */
  shutdown: shutdownSchema.default(shutdownSchema.parse({})),
  /** Live WhatsApp calls kept on disk so a start after a crash ends them (README "Crash recovery"). */
  journal: journalSchema.default(journalSchema.parse({})),
}).strict().superRefine((cfg, ctx) => {
  checkRoutesAndListeners(cfg, ctx);
  const numberNames = new Set(cfg.numbers.map((n) => n.name));
  const trunkNames = new Set<string>();
  cfg.trunks.forEach((t, i) => {
    if (trunkNames.has(t.name)) ctx.addIssue({ code: 'custom', path: ['trunks', i, 'name'], message: 'duplicate trunk name' });
    trunkNames.add(t.name);
    t.numbers.forEach((n, j) => {
      if (!numberNames.has(n)) ctx.addIssue({ code: 'custom', path: ['trunks', i, 'numbers', j], message: `no business number named "${n}" in numbers[]` });
    });
  });
  if (cfg.trunks.length > 0 && (!cfg.drachtio || !cfg.rtpengine)) {
    ctx.addIssue({ code: 'custom', path: [cfg.drachtio ? 'rtpengine' : 'drachtio'], message: 'required when trunks are configured' });
  }
  const seen = new Map<string, number>();
  cfg.numbers.forEach((n, i) => {
    // Events are routed by phone_number_id, or by display_number where a provider has no id (numberKey).
    const idKey = n.phone_number_id !== undefined ? 'phone_number_id' : 'display_number';
    for (const [key, field] of [[`name:${n.name}`, 'name'], [`id:${n.phone_number_id ?? n.display_number}`, idKey]] as const) {
      if (seen.has(key)) {
        ctx.addIssue({ code: 'custom', path: ['numbers', i, field], message: `duplicate of numbers[${seen.get(key)}]` });
      }
      seen.set(key, i);
    }
  });
  checkProviderRoutes(cfg, BUILT_IN_PATHS, ctx);
});

export type ConfigFile = z.infer<typeof configSchema>;
export type NumberConfig = z.infer<typeof numberSchema>;
export type TrunkConfig = z.infer<typeof trunkSchema>;
export type InboundConfig = z.infer<typeof inboundSchema>;
export type HttpConfig = z.infer<typeof httpSchema>;
export type InternalHttpConfig = z.infer<typeof internalHttpSchema>;
export type JournalConfig = z.infer<typeof journalSchema>;
