import { pino } from 'pino';
import { ConfigError, readYamlFile, validateConfig } from '../config/load.js';
import { resolveProviderSecrets } from '../config/provider-secrets.js';
import type { ConfigFile } from '../config/schema.js';
import { NumberDirectory } from '../calls/number-directory.js';
import { ControlPlane } from '../control/control-plane.js';
import { createLogger, type Logger } from '../logging.js';
import { Metrics } from '../metrics.js';

/**
 * What `watrunk settings|sip|permissions` need: the validated config and a control plane. Only the
 * numbers' access tokens are read from the environment (the webhook and drachtio secrets that
 * `watrunk start` needs are not). Logs go to stderr (redacted like every watrunk log), output to stdout.
 */

export interface ControlContext {
  file: string;
  config: ConfigFile;
  plane: ControlPlane;
  close(): Promise<void>;
}

/** Reads and validates the YAML file; throws ConfigError naming every bad key. */
function readConfigFile(file: string): ConfigFile {
  return validateConfig(readYamlFile(file), file);
}

/**
 * API credentials of the numbers (all of them, or only `onlyNumber`), naming each unset variable:
 * Meta's access tokens, and the other providers' keys (their webhook secrets are not needed here).
 */
function resolveCredentials(config: ConfigFile, env: NodeJS.ProcessEnv, file?: string, onlyNumber?: string) {
  const problems: string[] = [];
  const tokens = new Map<string, string>();
  config.numbers.forEach((n, i) => {
    if (n.provider !== 'meta' || n.access_token_env === undefined) return;
    const value = env[n.access_token_env];
    if (value) tokens.set(n.name, value);
    else if (onlyNumber === undefined || onlyNumber === n.name) problems.push(`numbers[${i}].access_token_env: environment variable ${n.access_token_env} is not set`);
  });
  const wantedAt = onlyNumber === undefined ? undefined : `numbers[${config.numbers.findIndex((n) => n.name === onlyNumber)}].`;
  const read = (key: string, name: string): string => {
    const value = env[name];
    if (!value && (wantedAt === undefined || key.startsWith(wantedAt))) problems.push(`${key}: environment variable ${name} is not set`);
    return value ?? '';
  };
  const providers = resolveProviderSecrets(config.numbers, read, problems, { ingress: false });
  if (problems.length) throw new ConfigError(problems, file);
  return { tokens, providers };
}

export interface OpenOptions {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Tokens are only required for this number (a command about one number). */
  number?: string;
}

export function openControlContext(file: string, opts: OpenOptions = {}): ControlContext {
  const config = readConfigFile(file);
  const env = opts.env ?? process.env;
  const directory = new NumberDirectory(config.numbers);
  // The number a command is about, by name, phone_number_id or display number; an unknown one is reported by the command.
  const wanted = opts.number !== undefined ? directory.find(opts.number)?.name ?? opts.number : undefined;
  const { tokens: accessTokens, providers } = resolveCredentials(config, env, file, wanted);
  const logger = opts.logger ?? createLogger(env['WATRUNK_LOG_LEVEL'] ?? 'warn', pino.destination(2));
  const plane = new ControlPlane({ config, directory, accessTokens, providerSecrets: providers, logger, metrics: new Metrics() });
  return { file, config, plane, close: () => plane.close() };
}
