import type { ProviderError } from '../../calls/ports/whatsapp-errors.js';
import { CamsProviderError } from './cams-errors.js';
import type { CamsOperation } from './cams-types.js';

/** Failure classes a retry can be allowed for. Configuration errors and rejections are never retried. */
export type CamsRetryableFailure = 'network' | 'timeout' | 'server_error' | 'rate_limited';

/**
 * The retry policy, in one place; the same shape as the Meta adapter's. At most ONE retry, after a
 * short fixed delay, and every attempt is signed afresh (new nonce and date).
 *
 *  connect               never: a retry can ring the user twice.
 *  pre_accept, accept,
 *  reject, terminate     one fast retry on network error, timeout, 5xx or throttling: the call is
 *                        live and the user is waiting.
 *  get_settings          one retry on network error, 5xx or throttling (a read).
 */
export const CAMS_RETRY_POLICY: Readonly<Record<CamsOperation, readonly CamsRetryableFailure[]>> = {
  connect: [],
  pre_accept: ['network', 'timeout', 'server_error', 'rate_limited'],
  accept: ['network', 'timeout', 'server_error', 'rate_limited'],
  reject: ['network', 'timeout', 'server_error', 'rate_limited'],
  terminate: ['network', 'timeout', 'server_error', 'rate_limited'],
  get_settings: ['network', 'server_error', 'rate_limited'],
};

export const CAMS_MAX_ATTEMPTS = 2;
export const CAMS_DEFAULT_RETRY_DELAY_MS = 150;

function failureOf(err: ProviderError): CamsRetryableFailure | undefined {
  if (err.kind === 'network') return 'network';
  if (err.kind === 'timeout') return 'timeout';
  if (err instanceof CamsProviderError) {
    if (err.category === 'server') return 'server_error';
    if (err.category === 'rate_limited') return 'rate_limited';
  }
  return undefined;
}

/** Whether a failed attempt (1-based) of `operation` may be tried again. */
export function shouldRetryCams(operation: CamsOperation, err: ProviderError, attempt: number): boolean {
  if (attempt >= CAMS_MAX_ATTEMPTS) return false;
  const failure = failureOf(err);
  return failure !== undefined && CAMS_RETRY_POLICY[operation].includes(failure);
}
