import { z } from 'zod';

/**
 * The per-number keys of `watrunk simulate` that pick a provider's wire format ("dialect") and hold
 * its credentials (config/simulator.yaml). The call state machine, the scripted users, the faults and
 * the media are the same for every dialect; only the HTTP API and the event format differ
 * (docs/providers.md).
 */

export const DIALECTS = ['meta', '360dialog', 'cams', 'conceptomovil'] as const;
export type Dialect = (typeof DIALECTS)[number];

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');
const secret = z.string().min(1);

export const dialectNumberFields = {
  /** The provider whose API and events this number speaks: meta (default), 360dialog, cams, conceptomovil. */
  dialect: z.enum(DIALECTS).default('meta'),
  /** 360dialog: the D360-API-KEY; Concepto Móvil: the Api-Key of the token exchange. */
  api_key: secret.optional(),
  api_key_env: envName.optional(),
  /** Concepto Móvil: the Api-Token of the token exchange. */
  api_token: secret.optional(),
  api_token_env: envName.optional(),
  /** 360dialog: webhooks are signed with x-360dialog-signature when a secret is set. */
  webhook_secret: secret.optional(),
  webhook_secret_env: envName.optional(),
  /** Static headers sent with every webhook (360dialog's header set with the webhook URL), literal values. */
  webhook_headers: z.record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'a header name'), z.string()).optional(),
  /** CAMS: the AccessKey requests must be signed with (ACS3-HMAC-SHA256), and the CustSpaceId they name. */
  access_key_id: secret.optional(),
  access_key_secret: secret.optional(),
  access_key_secret_env: envName.optional(),
  cust_space_id: secret.optional(),
  /**
   * CAMS and Concepto Móvil events: `native` (CAMS: a JSON array of PascalCase items; Concepto Móvil:
   * one flat object) or `meta` (Meta's webhook body). Both are guesses: neither format is published.
   */
  event_format: z.enum(['native', 'meta']).default('native'),
};

interface DialectKeys {
  dialect: Dialect;
  access_token?: string | undefined; access_token_env?: string | undefined;
  app_secret?: string | undefined; app_secret_env?: string | undefined;
  api_key?: string | undefined; api_key_env?: string | undefined;
  api_token?: string | undefined; api_token_env?: string | undefined;
  access_key_id?: string | undefined; access_key_secret?: string | undefined; access_key_secret_env?: string | undefined;
  cust_space_id?: string | undefined;
}

/** The credentials a dialect needs, each given literally or by environment variable (exactly one). */
export function checkDialectKeys(n: DialectKeys, ctx: z.core.$RefinementCtx): void {
  const one = (literal: string | undefined, env: string | undefined, key: string) => {
    if (!literal === !env) ctx.addIssue({ code: 'custom', path: [`${key}_env`], message: `dialect ${n.dialect}: set exactly one of ${key}_env or ${key}` });
  };
  const required = (v: string | undefined, key: string) => {
    if (v === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `required for dialect ${n.dialect}` });
  };
  switch (n.dialect) {
    case 'meta':
      one(n.access_token, n.access_token_env, 'access_token');
      one(n.app_secret, n.app_secret_env, 'app_secret');
      return;
    case '360dialog':
      one(n.api_key, n.api_key_env, 'api_key');
      return;
    case 'cams':
      required(n.access_key_id, 'access_key_id');
      one(n.access_key_secret, n.access_key_secret_env, 'access_key_secret');
      required(n.cust_space_id, 'cust_space_id');
      return;
    case 'conceptomovil':
      one(n.api_key, n.api_key_env, 'api_key');
      one(n.api_token, n.api_token_env, 'api_token');
  }
}

/** A dialect's secrets, resolved (literal or from the environment). */
export interface DialectSecrets {
  apiKey?: string;
  apiToken?: string;
  webhookSecret?: string;
  accessKeySecret?: string;
}

interface SecretKeys extends DialectKeys {
  webhook_secret?: string | undefined; webhook_secret_env?: string | undefined;
}

/** Resolves the dialect secrets of one number; problems name the key (numbers[i].…). */
export function resolveDialectSecrets(n: SecretKeys, at: string, env: NodeJS.ProcessEnv, problems: string[]): DialectSecrets {
  const read = (literal: string | undefined, name: string | undefined, key: string): string | undefined => {
    if (literal) return literal;
    if (!name) return undefined;
    const v = env[name];
    if (!v) problems.push(`${at}.${key}_env: environment variable ${name} is not set`);
    return v ?? '';
  };
  const out: DialectSecrets = {};
  const apiKey = read(n.api_key, n.api_key_env, 'api_key');
  const apiToken = read(n.api_token, n.api_token_env, 'api_token');
  const webhookSecret = read((n as SecretKeys).webhook_secret, (n as SecretKeys).webhook_secret_env, 'webhook_secret');
  const accessKeySecret = read(n.access_key_secret, n.access_key_secret_env, 'access_key_secret');
  if (apiKey !== undefined) out.apiKey = apiKey;
  if (apiToken !== undefined) out.apiToken = apiToken;
  if (webhookSecret !== undefined) out.webhookSecret = webhookSecret;
  if (accessKeySecret !== undefined) out.accessKeySecret = accessKeySecret;
  return out;
}
