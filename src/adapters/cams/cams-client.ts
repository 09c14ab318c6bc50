import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises';
import { Pool, type Dispatcher } from 'undici';
import type { Logger } from '../../logging.js';
import type { Metrics } from '../../metrics.js';
import { ProviderError } from '../../calls/ports/whatsapp-errors.js';
import { isUndiciTimeout } from '../meta/graph-errors.js';
import { signAcs3 } from './acs3-signer.js';
import { businessError, gatewayError, networkError, protocolError, readEnvelope, timeoutError } from './cams-errors.js';
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

type Outcome = 'ok' | 'api_error' | 'timeout' | 'network' | 'protocol';

const DEFAULT_KEEP_ALIVE_MS = 30_000;
const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;
const SUCCESS_CODE = 'OK';

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

async function readCapped(body: Dispatcher.ResponseData['body'], maxBytes: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBytes) return undefined; // leaving the loop destroys the stream
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function endpointUrl(endpoint: string | undefined): URL {
  const raw = endpoint ?? CAMS_DEFAULT_ENDPOINT;
  return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`);
}

/**
 * RPC client for Alibaba Cloud CAMS (docs/providers.md#alibaba-cloud-cams): one per endpoint,
 * used by every business number on it (a keep-alive pool of warm connections). Each request is a
 * POST to the endpoint path with every parameter in the query string and no body, signed with
 * ACS3-HMAC-SHA256 per attempt. Success is Code "OK"; anything else rejects with ProviderError
 * (cams-errors.ts). Counted in providerRequests/providerLatency like the Graph client; nothing is
 * logged above debug, and never a secret, a signature or a parameter value.
 */
export class CamsClient {
  readonly origin: string;
  private readonly host: string;
  private readonly pathname: string;
  private readonly pool: Pool;
  private readonly log: Logger;
  private readonly metrics: Metrics;
  private readonly retryDelayMs: number;
  private readonly maxResponseBytes: number;
  private readonly now: (() => Date) | undefined;
  private readonly nonce: (() => string) | undefined;
  private closed = false;

  constructor(opts: CamsClientOptions) {
    const url = endpointUrl(opts.endpoint);
    this.origin = url.origin;
    this.host = url.host;
    this.pathname = url.pathname || '/';
    this.pool = new Pool(url.origin, {
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_MS,
      keepAliveMaxTimeout: 10 * 60_000,
    });
    this.log = opts.logger.child({ component: 'cams' });
    this.metrics = opts.metrics;
    this.retryDelayMs = opts.retryDelayMs ?? CAMS_DEFAULT_RETRY_DELAY_MS;
    this.maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.now = opts.now;
    this.nonce = opts.nonce;
  }

  /** Sends the request, retrying once when the policy allows it (cams-retry.ts). */
  async send<T>(target: CamsTarget, req: CamsRequest<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(target, req, attempt);
      } catch (err) {
        if (!(err instanceof ProviderError) || !shouldRetryCams(req.operation, err, attempt)) throw err;
        this.log.debug(
          { operation: req.operation, attempt, kind: err.kind, httpStatus: err.httpStatus, retryInMs: this.retryDelayMs },
          'cams request failed; retrying',
        );
        await delay(this.retryDelayMs);
      }
    }
  }

  /** Destroys the pool and its connections; later requests fail with a network error. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.destroy();
  }

  private async attempt<T>(target: CamsTarget, req: CamsRequest<T>, attempt: number): Promise<T> {
    const { operation } = req;
    const secrets = [target.credentials.accessKeySecret, target.credentials.securityToken];
    const signed = signAcs3({
      method: 'POST', host: this.host, pathname: this.pathname, action: req.action, version: CAMS_API_VERSION,
      query: req.params,
      ...(this.now && { date: this.now() }),
      ...(this.nonce && { nonce: this.nonce() }),
    }, target.credentials);
    const headers = { ...signed.headers, accept: 'application/json', 'user-agent': 'watrunk' };

    // One event-loop turn so a back-to-back request (pre_accept → accept) reuses the warm socket
    // (the same undici behaviour the Graph client works around).
    await nextTurn();
    const started = performance.now();
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; controller.abort(); }, target.timeoutMs);
    let outcome: Outcome = 'network';
    let status: number | undefined;
    let requestId: string | undefined;
    try {
      let text: string | undefined;
      try {
        const res = await this.pool.request({
          path: signed.query ? `${this.pathname}?${signed.query}` : this.pathname,
          method: 'POST',
          headers,
          signal: controller.signal,
        });
        status = res.statusCode;
        requestId = firstHeader(res.headers['x-acs-request-id']);
        text = await readCapped(res.body, this.maxResponseBytes);
      } catch (err) {
        if (timedOut || isUndiciTimeout(err)) {
          outcome = 'timeout';
          throw timeoutError(operation, target.timeoutMs);
        }
        outcome = 'network';
        throw networkError(operation, err, secrets);
      }
      if (status < 200 || status >= 300) {
        outcome = 'api_error';
        const e = gatewayError(operation, status, text ?? '', requestId, secrets);
        requestId = e.traceId;
        throw e;
      }
      outcome = 'protocol';
      if (text === undefined) throw protocolError(operation, `body over ${this.maxResponseBytes} bytes`, status, requestId, secrets);
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch {
        throw protocolError(operation, 'body is not JSON', status, requestId, secrets);
      }
      if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
        throw protocolError(operation, 'body is not a JSON object', status, requestId, secrets);
      }
      const body = doc as Record<string, unknown>;
      const env = readEnvelope(body, text);
      requestId = env?.requestId ?? requestId;
      if (!env) throw protocolError(operation, 'no Code in the answer', status, requestId, secrets);
      if (env.code !== SUCCESS_CODE) {
        outcome = 'api_error';
        throw businessError(operation, status, env, requestId, secrets);
      }
      let value: T;
      try {
        value = req.parse(body);
      } catch (err) {
        throw protocolError(operation, (err as Error).message, status, requestId, secrets);
      }
      outcome = 'ok';
      return value;
    } finally {
      clearTimeout(timer);
      const seconds = (performance.now() - started) / 1000;
      this.metrics.providerRequests.inc({ operation, outcome });
      this.metrics.providerLatency.observe({ operation }, seconds);
      // Metadata only: never the AccessKey secret, the Authorization header, or parameter values (SDPs).
      this.log.debug(
        {
          operation, action: req.action, custSpaceId: target.custSpaceId, businessNumber: target.businessNumber,
          attempt, status, outcome, durationMs: Math.round(seconds * 1000), requestId,
        },
        'cams request',
      );
    }
  }
}
