import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../../logging.js';
import { ProviderError } from '../../calls/ports/whatsapp-errors.js';
import { DEFAULT_RETRY_DELAY_MS, shouldRetry } from '../meta/graph-retry.js';
import { errorInBody } from './conceptomovil-errors.js';
import type { ConceptoMovilHttp } from './conceptomovil-http.js';
import type { ConceptoMovilTokenSource } from './conceptomovil-token.js';
import type { ConceptoMovilRequest } from './conceptomovil-types.js';

export interface ConceptoMovilClientOptions {
  http: ConceptoMovilHttp;
  tokens: ConceptoMovilTokenSource;
  logger: Logger;
  /** Per-attempt request timeout. */
  timeoutMs: number;
  /** Pause before a policy retry (Meta's policy, graph-retry.ts). */
  retryDelayMs?: number;
}

function transient(err: ProviderError): boolean {
  return err.kind === 'network' || err.kind === 'timeout' || (err.kind === 'api' && (err.httpStatus ?? 0) >= 500);
}

/**
 * Authenticated requests to one Concepto Móvil account (docs/providers.md#concepto-movil):
 *  - `Authorization: Bearer <token>` from the token source (cached, single-flight);
 *  - a 401 from the API drops that token, fetches a new one and sends the request once more
 *    (a 401 means the request was refused, so this is safe even for connect);
 *  - otherwise Meta's retry policy (graph-retry.ts): connect never retried, call actions once on
 *    network error, timeout or 5xx;
 *  - a token fetch that fails transiently is tried once more whatever the operation: nothing was
 *    sent to the call API yet.
 * A 401 from the token endpoint itself is a credentials problem and is not retried.
 */
export class ConceptoMovilClient {
  private readonly log: Logger;
  private readonly retryDelayMs: number;

  constructor(private readonly opts: ConceptoMovilClientOptions) {
    this.log = opts.logger;
    this.retryDelayMs = opts.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  }

  async send<T>(req: ConceptoMovilRequest<T>): Promise<T> {
    let refreshedAfter401 = false;
    let tokenRetried = false;
    for (let attempt = 1; ; ) {
      let token: string | undefined;
      try {
        token = await this.opts.tokens.get();
        return await this.once(req, token);
      } catch (err) {
        if (!(err instanceof ProviderError)) throw err;
        const failedAt = token === undefined ? 'token' : 'api';
        if (failedAt === 'api' && err.httpStatus === 401 && !refreshedAfter401) {
          refreshedAfter401 = true;
          this.opts.tokens.invalidate(token!);
          this.log.debug({ operation: req.operation }, 'Concepto Móvil answered 401: fetching a new token and retrying once');
          continue;
        }
        if (failedAt === 'token' && transient(err) && !tokenRetried) {
          tokenRetried = true;
        } else if (failedAt === 'api' && shouldRetry(req.operation, err, attempt)) {
          attempt++;
        } else {
          throw err;
        }
        this.log.debug({ operation: req.operation, failedAt, kind: err.kind, httpStatus: err.httpStatus, retryInMs: this.retryDelayMs }, 'Concepto Móvil request failed; retrying');
        await delay(this.retryDelayMs);
      }
    }
  }

  private once<T>(req: ConceptoMovilRequest<T>, token: string): Promise<T> {
    const secrets = [...this.opts.tokens.secrets(), token];
    return this.opts.http.exchange(
      {
        operation: req.operation, method: req.method, path: req.path, body: req.body, timeoutMs: this.opts.timeoutMs,
        headers: { authorization: `Bearer ${token}` }, secrets,
      },
      (doc) => {
        const hidden = errorInBody(req.operation, undefined, doc, secrets);
        if (hidden) throw hidden;
        return req.parse(doc);
      },
    );
  }
}
