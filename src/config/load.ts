import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { resolveProviderSecrets, type ProviderSecrets } from './provider-secrets.js';
import { configSchema, type ConfigFile, type NumberConfig } from './schema.js';

/** A config problem, already phrased for a person: it names the key and what was expected. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[], readonly file?: string) {
    super(`invalid configuration${file ? ` in ${file}` : ''}:\n  - ${problems.join('\n  - ')}`);
  }
}

/**
 * A start-up failure the config file's syntax cannot catch (a port already in use, an address
 * that is not this machine's), named by the key to change.
 */
export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(readonly key: string, detail: string) {
    super(`${key}: ${detail}`);
  }
}

/**
 * What `watrunk start` prints when it cannot start, and the exit code (2: the config is wrong; 1:
 * the environment is): every problem on one line naming its key; a stack only for an unexpected error.
 */
export function describeStartupFailure(err: unknown): { lines: string[]; exitCode: number } {
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
  if (err instanceof ConfigError) {
    return { exitCode: 2, lines: [`watrunk: invalid configuration${err.file ? ` in ${err.file}` : ''}:`, ...err.problems.map((p) => `  - ${oneLine(p)}`)] };
  }
  if (err instanceof StartupError) return { exitCode: 1, lines: [`watrunk: cannot start: ${oneLine(err.message)}`] };
  return { exitCode: 1, lines: [`watrunk: ${(err as Error)?.stack ?? String(err)}`] };
}

/** Secrets resolved from the environment; kept apart from the config so they are never logged. */
export interface Secrets {
  verifyToken: string;
  appSecret: string;
  /** access token per number name (provider meta) */
  accessTokens: Map<string, string>;
  /** API credentials and webhook/events secrets per number name, for the other providers (provider-secrets.ts) */
  providers?: Map<string, ProviderSecrets>;
  /** drachtio-server admin secret, when a drachtio section exists */
  drachtioSecret?: string;
  /** digest password per trunk name */
  trunkPasswords: Map<string, string>;
  /** digest password for INVITEs to the PBX, per number name */
  inboundPasswords?: Map<string, string>;
  /** mode sip numbers with meta_sip.password_env: name -> Meta's SIP password. */
  metaSipPasswords?: Map<string, string>;
  /** bearer token of the admin HTTP API, when an admin section exists */
  adminToken?: string;
}

/** Shortest admin bearer token accepted: the admin API can change settings and reveal SIP credentials. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

export interface LoadedConfig {
  file: string;
  config: ConfigFile;
  secrets: Secrets;
}

/** `numbers[0].phone_number_id` style path for an issue. */
export function keyPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(top level)';
}

export function formatIssues(issues: ReadonlyArray<z.core.$ZodIssue>): string[] {
  return issues.map((i) => {
    if (i.code === 'unrecognized_keys') {
      return `${keyPath(i.path)}: unknown key(s) ${i.keys.map((k) => `"${k}"`).join(', ')}`;
    }
    return `${keyPath(i.path)}: ${i.message}`;
  });
}

/** Validates an already-parsed document. Throws ConfigError naming every bad key. */
export function validateConfig(doc: unknown, file?: string): ConfigFile {
  const res = configSchema.safeParse(doc ?? {});
  if (!res.success) throw new ConfigError(formatIssues(res.error.issues), file);
  return res.data;
}

/** Reads the secrets a config refers to. Every missing variable is reported, with the key that names it. */
export function resolveSecrets(config: ConfigFile, env: NodeJS.ProcessEnv = process.env, file?: string): Secrets {
  const problems: string[] = [];
  const need = (key: string, name: string): string => {
    const v = env[name];
    if (v === undefined || v === '') {
      problems.push(`${key}: environment variable ${name} is not set`);
      return '';
    }
    if (v.trim() === '') {
      problems.push(`${key}: environment variable ${name} is blank (only whitespace)`);
      return '';
    }
    return v;
  };
  // Meta's webhook secrets are needed only when a number is Meta's (the other providers' are their own).
  const anyMeta = config.numbers.some((n) => n.provider === 'meta');
  const verifyToken = anyMeta ? need('webhook.verify_token_env', config.webhook.verify_token_env) : '';
  const appSecret = anyMeta ? need('webhook.app_secret_env', config.webhook.app_secret_env) : '';
  const accessTokens = new Map<string, string>();
  config.numbers.forEach((n: NumberConfig, i) => {
    if (n.provider === 'meta' && n.access_token_env !== undefined) accessTokens.set(n.name, need(`numbers[${i}].access_token_env`, n.access_token_env));
  });
  const providers = resolveProviderSecrets(config.numbers, need, problems, { ingress: true });
  const drachtioSecret = config.drachtio ? need('drachtio.secret_env', config.drachtio.secret_env) : undefined;
  const trunkPasswords = new Map<string, string>();
  config.trunks.forEach((t, i) => {
    if (t.auth) trunkPasswords.set(t.name, need(`trunks[${i}].auth.password_env`, t.auth.password_env));
  });
  const inboundPasswords = new Map<string, string>();
  config.numbers.forEach((n, i) => {
    if (n.inbound?.auth) inboundPasswords.set(n.name, need(`numbers[${i}].inbound.auth.password_env`, n.inbound.auth.password_env));
  });
  // mode sip: the Meta SIP password from the environment when configured so (else fetched from Meta).
  const metaSipPasswords = new Map<string, string>();
  config.numbers.forEach((n, i) => {
    if (n.mode === 'sip' && n.meta_sip?.password_env) metaSipPasswords.set(n.name, need(`numbers[${i}].meta_sip.password_env`, n.meta_sip.password_env));
  });
  const adminToken = config.admin ? need('admin.token_env', config.admin.token_env) : undefined;
  if (adminToken && adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    problems.push(`admin.token_env: the token in ${config.admin?.token_env} must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`);
  }
  if (problems.length) throw new ConfigError(problems, file);
  return {
    verifyToken, appSecret, accessTokens, providers, trunkPasswords, inboundPasswords, metaSipPasswords,
    ...(drachtioSecret !== undefined ? { drachtioSecret } : {}), ...(adminToken !== undefined ? { adminToken } : {}),
  };
}

/** Reads a YAML file into a plain document; an unreadable file or bad YAML is a ConfigError. */
export function readYamlFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read the file: ${(err as Error).message}`], file);
  }
  try {
    return parseYaml(text);
  } catch (err) {
    throw new ConfigError([`not valid YAML: ${(err as Error).message}`], file);
  }
}

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const config = validateConfig(readYamlFile(file), file);
  return { file, config, secrets: resolveSecrets(config, env, file) };
}
