import type { NumberConfig } from './schema.js';

/**
 * The secrets of numbers whose provider is not Meta, read from the environment variables their
 * `*_env` keys name (provider-schemas.ts). Kept apart from the config so they are never logged.
 */
export type ProviderSecrets =
  | {
    provider: '360dialog';
    apiKey: string;
    /** x-360dialog-signature secrets (several during a rotation); empty: header token only. */
    signatureSecrets: string[];
    /** The static headers every delivery must carry (d360.webhook.header_token); empty: none. */
    headerTokens: Array<{ name: string; value: string }>;
  }
  | { provider: 'cams'; accessKeyId: string; accessKeySecret: string; securityToken?: string; eventsToken: string }
  | { provider: 'conceptomovil'; apiKey: string; apiToken: string; eventsToken: string };

/** Shortest events path token accepted: it is the only thing keeping strangers from posting call events. */
export const MIN_EVENTS_TOKEN_LENGTH = 16;
/** Longest: a path parameter of the public listener's router (Fastify's maxParamLength). */
export const MAX_EVENTS_TOKEN_LENGTH = 100;
const TOKEN_CHARS = /^[A-Za-z0-9._~-]+$/;

/** Reads one variable, or records a problem naming the key and returns ''. */
export type SecretReader = (key: string, envName: string) => string;

export interface ProviderSecretOptions {
  /** Also read the webhook and events secrets (`watrunk start`); the CLI needs only API credentials. */
  ingress: boolean;
}

/** Secrets per number name, for every number whose provider is not meta. */
export function resolveProviderSecrets(
  numbers: readonly NumberConfig[], read: SecretReader, problems: string[], opts: ProviderSecretOptions,
): Map<string, ProviderSecrets> {
  const out = new Map<string, ProviderSecrets>();
  numbers.forEach((n, i) => {
    const at = `numbers[${i}]`;
    const eventsToken = (key: string, env: string): string => {
      if (!opts.ingress) return '';
      const v = read(key, env);
      if (v !== '' && (v.length < MIN_EVENTS_TOKEN_LENGTH || v.length > MAX_EVENTS_TOKEN_LENGTH || !TOKEN_CHARS.test(v))) {
        problems.push(`${key}: the token in ${env} must be ${MIN_EVENTS_TOKEN_LENGTH} to ${MAX_EVENTS_TOKEN_LENGTH} characters of A-Z a-z 0-9 . _ ~ - (it is part of a URL path)`);
      }
      return v;
    };
    if (n.provider === '360dialog' && n.d360) {
      const hook = n.d360.webhook;
      const secretEnvs = hook.signature_secret_env === undefined ? [] : ([] as string[]).concat(hook.signature_secret_env);
      out.set(n.name, {
        provider: '360dialog',
        apiKey: read(`${at}.d360.api_key_env`, n.d360.api_key_env),
        signatureSecrets: opts.ingress ? secretEnvs.map((env) => read(`${at}.d360.webhook.signature_secret_env`, env)) : [],
        headerTokens: !opts.ingress ? [] : (hook.header_token ?? []).map((t, j) => ({
          name: t.name, value: read(`${at}.d360.webhook.header_token[${j}].value_env`, t.value_env),
        })),
      });
    } else if (n.provider === 'cams' && n.cams) {
      const c = n.cams;
      out.set(n.name, {
        provider: 'cams',
        accessKeyId: read(`${at}.cams.access_key_id_env`, c.access_key_id_env),
        accessKeySecret: read(`${at}.cams.access_key_secret_env`, c.access_key_secret_env),
        ...(c.security_token_env !== undefined && { securityToken: read(`${at}.cams.security_token_env`, c.security_token_env) }),
        eventsToken: eventsToken(`${at}.cams.events_path_token_env`, c.events_path_token_env),
      });
    } else if (n.provider === 'conceptomovil' && n.conceptomovil) {
      const c = n.conceptomovil;
      out.set(n.name, {
        provider: 'conceptomovil',
        apiKey: read(`${at}.conceptomovil.api_key_env`, c.api_key_env),
        apiToken: read(`${at}.conceptomovil.api_token_env`, c.api_token_env),
        eventsToken: eventsToken(`${at}.conceptomovil.events_path_token_env`, c.events_path_token_env),
      });
    }
  });
  return out;
}
