import { z } from 'zod';

/**
 * The shape of config/watrunk.yaml. Keys are snake_case, like Meta's own API.
 * Secrets never live in the file: a key ending in `_env` names the environment variable that holds
 * the secret, and load.ts resolves it (and fails, naming both, when it is unset).
 */

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');
const digits = z.string().regex(/^[0-9]+$/, 'a string of digits (quote it in YAML)');
const port = z.number().int().min(1).max(65535);

export const graphVersion = z.string().regex(/^v[0-9]+\.[0-9]+$/, 'a Graph API version like "v24.0"');

export const numberSchema = z.object({
  /** Short name used in logs, trunk lists and CLI commands. */
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "-" or "."'),
  provider: z.enum(['meta']).default('meta'),
  phone_number_id: digits,
  /** The business number itself, digits only with country code. */
  display_number: digits,
  access_token_env: envName,
  graph_version: graphVersion.default('v24.0'),
  /** Where the Graph API lives; point it at `watrunk simulate` for tests and demos. */
  base_url: z.url().default('https://graph.facebook.com'),
  /** `api`: calls signalled through the Graph API and webhooks. `sip`: Meta dials us over SIP (issue 5). */
  mode: z.enum(['api', 'sip']).default('api'),
  /** Per-request timeout toward the provider. */
  timeout_ms: z.number().int().min(100).max(60_000).default(5_000),
  /** Concurrent calls allowed on this number before watrunk answers 503 itself (Meta's limit: 1000). */
  max_concurrent_calls: z.number().int().min(1).default(1000),
}).strict();

export const webhookSchema = z.object({
  path: z.string().startsWith('/').default('/webhooks/whatsapp'),
  verify_token_env: envName.default('WATRUNK_VERIFY_TOKEN'),
  app_secret_env: envName.default('WATRUNK_APP_SECRET'),
  /** Larger bodies are answered 413 (Meta batches up to 1000 updates; 1 MiB is ample). */
  max_body_bytes: z.number().int().min(1024).default(1_048_576),
  /** Events older than this are parsed and logged but not acted upon (reference §3.1). */
  max_event_age_s: z.number().int().min(1).default(300),
  /** How many event keys are remembered to drop duplicates. */
  dedupe_capacity: z.number().int().min(100).default(50_000),
}).strict();

export const configSchema = z.object({
  log: z.object({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  }).strict().default({ level: 'info' }),
  http: z.object({
    host: z.string().default('0.0.0.0'),
    port: port.default(8080),
  }).strict().default({ host: '0.0.0.0', port: 8080 }),
  webhook: webhookSchema.default(webhookSchema.parse({})),
  numbers: z.array(numberSchema).min(1, 'at least one business number'),
}).strict().superRefine((cfg, ctx) => {
  const seen = new Map<string, number>();
  cfg.numbers.forEach((n, i) => {
    for (const key of [`name:${n.name}`, `id:${n.phone_number_id}`]) {
      if (seen.has(key)) {
        ctx.addIssue({
          code: 'custom',
          path: ['numbers', i, key.startsWith('name') ? 'name' : 'phone_number_id'],
          message: `duplicate of numbers[${seen.get(key)}]`,
        });
      }
      seen.set(key, i);
    }
  });
});

export type ConfigFile = z.infer<typeof configSchema>;
export type NumberConfig = z.infer<typeof numberSchema>;
export type WebhookConfig = z.infer<typeof webhookSchema>;
