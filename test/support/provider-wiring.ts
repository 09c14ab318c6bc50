import type { ProviderName } from '../../src/config/provider-capabilities.js';
import type { ProviderSecrets } from '../../src/config/provider-secrets.js';

/**
 * One business number wired between the simulator (in the provider's dialect) and the bridge (with
 * the provider's adapter), for the stacks that run the same call flows over every provider
 * (fault-stack.ts, bridge-stack.ts). Meta is the reference: the same number, Meta's Graph API.
 */

export const WIRED_PNID = '105615555715855';
export const WIRED_NUMBER = '15551112222';
export const NUMBER_NAME = 'demo';

const META = { token: 'wired-meta-token', appSecret: 'wired-meta-app-secret', verifyToken: 'wired-vt' };
const D360 = { apiKey: 'wired-d360-api-key', signatureSecret: 'wired-d360-signature-secret' };
const CAMS = { accessKeyId: 'LTAIwiredAccessKeyId', accessKeySecret: 'wired-cams-access-key-secret', custSpaceId: 'cams-wired-space' };
const CM = { apiKey: '123456', apiToken: 'wired-cm-api-token', wabaId: '112735964992110' };
/** The events path tokens (CAMS, Concepto Móvil). */
export const EVENTS_TOKEN = { cams: 'cams-events-token-0123456789abcdef', conceptomovil: 'cm-events-token-0123456789abcdef' } as const;

/** Where the simulator posts this provider's events on the bridge. */
export function eventsPath(provider: ProviderName): string {
  switch (provider) {
    case 'meta': return '/webhooks/whatsapp';
    case '360dialog': return `/webhooks/360dialog/${NUMBER_NAME}`;
    case 'cams': return `/webhooks/cams/${EVENTS_TOKEN.cams}`;
    case 'conceptomovil': return `/webhooks/conceptomovil/${EVENTS_TOKEN.conceptomovil}`;
  }
}

/** numbers[0] of the simulator config: the dialect and its credentials, posting to the bridge on `bridgePort`. */
export function simNumberFor(provider: ProviderName, bridgePort: number): Record<string, unknown> {
  const base = { phone_number_id: WIRED_PNID, display_number: WIRED_NUMBER, webhook_url: `http://127.0.0.1:${bridgePort}${eventsPath(provider)}`, waba_id: CM.wabaId };
  switch (provider) {
    case 'meta': return { ...base, access_token: META.token, app_secret: META.appSecret };
    case '360dialog': return { ...base, dialect: '360dialog', api_key: D360.apiKey, webhook_secret: D360.signatureSecret };
    case 'cams': return { ...base, dialect: 'cams', access_key_id: CAMS.accessKeyId, access_key_secret: CAMS.accessKeySecret, cust_space_id: CAMS.custSpaceId };
    case 'conceptomovil': return { ...base, dialect: 'conceptomovil', api_key: CM.apiKey, api_token: CM.apiToken };
  }
}

/**
 * numbers[0] of the bridge config (name "demo"). The providers other than Meta get no
 * phone_number_id: their events are routed by the display number.
 */
export function bridgeNumberFor(provider: ProviderName, simUrl: string): Record<string, unknown> {
  const base = { name: NUMBER_NAME, display_number: WIRED_NUMBER };
  switch (provider) {
    case 'meta': return { ...base, phone_number_id: WIRED_PNID, access_token_env: 'T', base_url: simUrl };
    case '360dialog': return { ...base, provider, d360: { api_key_env: 'D360_KEY', base_url: simUrl, webhook: { signature_secret_env: 'D360_SECRET' } } };
    case 'cams': return {
      ...base, provider,
      cams: { endpoint: simUrl, access_key_id_env: 'AK_ID', access_key_secret_env: 'AK_SECRET', cust_space_id: CAMS.custSpaceId, events_path_token_env: 'CAMS_EVENTS' },
    };
    case 'conceptomovil': return {
      ...base, provider,
      conceptomovil: { base_url: simUrl, api_key_env: 'CM_KEY', api_token_env: 'CM_TOKEN', waba_id: CM.wabaId, events_path_token_env: 'CM_EVENTS' },
    };
  }
}

export interface WiredSecrets {
  verifyToken: string;
  appSecret: string;
  accessTokens: Map<string, string>;
  providers: Map<string, ProviderSecrets>;
}

/** The bridge's secrets for the wired number; `wrongCredentials` gives it a credential the provider refuses. */
export function bridgeSecretsFor(provider: ProviderName, opts: { wrongCredentials?: boolean } = {}): WiredSecrets {
  const wrong = (s: string) => (opts.wrongCredentials ? `${s}-wrong` : s);
  const providers = new Map<string, ProviderSecrets>();
  const accessTokens = new Map<string, string>();
  switch (provider) {
    case 'meta': accessTokens.set(NUMBER_NAME, wrong(META.token)); break;
    case '360dialog': providers.set(NUMBER_NAME, { provider, apiKey: wrong(D360.apiKey), signatureSecrets: [D360.signatureSecret], headerTokens: [] }); break;
    case 'cams': providers.set(NUMBER_NAME, {
      provider, accessKeyId: CAMS.accessKeyId, accessKeySecret: wrong(CAMS.accessKeySecret), eventsToken: EVENTS_TOKEN.cams,
    }); break;
    case 'conceptomovil': providers.set(NUMBER_NAME, { provider, apiKey: CM.apiKey, apiToken: wrong(CM.apiToken), eventsToken: EVENTS_TOKEN.conceptomovil }); break;
  }
  return { verifyToken: META.verifyToken, appSecret: META.appSecret, accessTokens, providers };
}

/** The 360dialog signature secret the simulator signs with (tests post their own deliveries). */
export const D360_SIGNATURE_SECRET = D360.signatureSecret;
