import type { Logger } from '../../logging.js';
import type { Metrics } from '../../metrics.js';
import { BodyProblem, jsonBody, parsedBy } from '../http/answer-body.js';
import { ProviderHttpClient } from '../http/provider-http-client.js';
import type { ProviderHttpAnswer } from '../http/provider-http-types.js';
import { signAcs3 } from './acs3-signer.js';
import { businessError, camsErrorMapper, readEnvelope } from './cams-errors.js';
import { CAMS_DEFAULT_RETRY_DELAY_MS, shouldRetryCams } from './cams-retry.js';
import { CAMS_API_VERSION, CAMS_DEFAULT_ENDPOINT, type CamsAction, type CamsOperation, type CamsTarget } from './cams-types.js';

export interface CamsClientOptions {
  /**
   * Default https://cams.ap-southeast-1.aliyuncs.com. A bare host name means https. A path (a
   * simulator mounted under a prefix) is kept and signed as the canonical URI.
   */
  endpoint?: string;
  logger: Logger;
  metrics: Metrics;
  /** Pause before the single retry the policy allows (cams-retry.ts). */
  retryDelayMs?: number;
  /** How long an idle connection is kept when the server sends no Keep-Alive hint. */
  keepAliveTimeoutMs?: number;
  /** Larger response bodies are a protocol error. */
  maxResponseBytes?: number;
  /** Tests fix the signing date and nonce; production leaves both to the signer. */
  now?: () => Date;
  nonce?: () => string;
}

export interface CamsRequest<T> {
  operation: CamsOperation;
  action: CamsAction;
  /** Query parameters, PascalCase as the API reference names them; undefined ones are left out. */
  params: Readonly<Record<string, string | undefined>>;
  /** Maps the body of an answer whose Code is "OK"; throws when it is not what the API promises. */
  parse: (body: Record<string, unknown>) => T;
}

const SUCCESS_CODE = 'OK';

function endpointUrl(endpoint: string | undefined): URL {
  const raw = endpoint ?? CAMS_DEFAULT_ENDPOINT;
  return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`);
}

/**
 * RPC client for Alibaba Cloud CAMS (docs/providers.md#alibaba-cloud-cams): one per endpoint,
 * used by every business number on it (a keep-alive pool of warm connections, ProviderHttpClient).
 * Each request is a POST to the endpoint path with every parameter in the query string and no
 * body, signed with ACS3-HMAC-SHA256 per attempt. Success is Code "OK"; anything else rejects with
 * ProviderError (cams-errors.ts). Counted in providerRequests/providerLatency like the Graph
 * client; nothing is logged above debug, and never a secret, a signature or a parameter value.
 */
export class CamsClient {
  readonly origin: string;
  private readonly host: string;
  private readonly pathname: string;
  private readonly http: ProviderHttpClient;
  private readonly retryDelayMs: number;
  private readonly now: (() => Date) | undefined;
  private readonly nonce: (() => string) | undefined;

  constructor(opts: CamsClientOptions) {
    const url = endpointUrl(opts.endpoint);
    this.origin = url.origin;
    this.host = url.host;
    this.pathname = url.pathname || '/';
    this.http = new ProviderHttpClient({
      origin: url.origin,
      log: opts.logger.child({ component: 'cams' }),
      metrics: opts.metrics,
      label: 'cams',
      traceIdHeaders: ['x-acs-request-id'],
      traceIdLogKey: 'requestId',
      keepAliveTimeoutMs: opts.keepAliveTimeoutMs,
      maxResponseBytes: opts.maxResponseBytes,
    });
    this.retryDelayMs = opts.retryDelayMs ?? CAMS_DEFAULT_RETRY_DELAY_MS;
    this.now = opts.now;
    this.nonce = opts.nonce;
  }

  /** Sends the request, retrying once when the policy allows it (cams-retry.ts). */
  send<T>(target: CamsTarget, req: CamsRequest<T>): Promise<T> {
    const policy = { shouldRetry: shouldRetryCams, delayMs: this.retryDelayMs };
    return this.http.withRetries(req.operation, policy, (attempt) => this.attempt(target, req, attempt));
  }

  /** Destroys the pool and its connections; later requests fail with a network error. */
  close(): Promise<void> {
    return this.http.close();
  }

  private attempt<T>(target: CamsTarget, req: CamsRequest<T>, attempt: number): Promise<T> {
    const { operation } = req;
    const secrets = [target.credentials.accessKeySecret, target.credentials.securityToken];
    // Signed afresh on every attempt: a new date and nonce (cams-retry.ts).
    const signed = signAcs3({
      method: 'POST', host: this.host, pathname: this.pathname, action: req.action, version: CAMS_API_VERSION,
      query: req.params,
      ...(this.now && { date: this.now() }),
      ...(this.nonce && { nonce: this.nonce() }),
    }, target.credentials);
    return this.http.exchange(
      {
        operation,
        method: 'POST',
        path: signed.query ? `${this.pathname}?${signed.query}` : this.pathname,
        headers: { ...signed.headers, accept: 'application/json', 'user-agent': 'watrunk' },
        timeoutMs: target.timeoutMs,
        errors: camsErrorMapper(operation, secrets),
        // Metadata only: never the AccessKey secret, the Authorization header, or parameter values (SDPs).
        logFields: { action: req.action, custSpaceId: target.custSpaceId, businessNumber: target.businessNumber, attempt },
      },
      (answer) => this.read(req, answer, secrets),
    );
  }

  /** A 2xx answer: a JSON object whose Code is "OK" (docs/providers.md#alibaba-cloud-cams). */
  private read<T>(req: CamsRequest<T>, answer: ProviderHttpAnswer, secrets: readonly (string | undefined)[]): T {
    const doc = jsonBody(answer.text);
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new BodyProblem('body is not a JSON object');
    const body = doc as Record<string, unknown>;
    const env = readEnvelope(body, answer.text);
    answer.traceId = env?.requestId ?? answer.traceId;
    if (!env) throw new BodyProblem('no Code in the answer');
    if (env.code !== SUCCESS_CODE) throw businessError(req.operation, answer.status, env, answer.traceId, secrets);
    return parsedBy(req.parse, body);
  }
}
