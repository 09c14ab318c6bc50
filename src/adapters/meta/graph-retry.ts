import type { ProviderError } from '../../calls/ports/whatsapp-errors.js';
import type { GraphOperation } from './graph-types.js';

/** Failure classes a retry can be allowed for. 4xx answers and protocol errors are never retried. */
export type RetryableFailure = 'network' | 'timeout' | 'server_error';

/**
 * The retry policy, in one place. At most ONE retry per request, after a short fixed delay.
 *
 *  connect                   never: a retry can ring the user twice (and counts toward the
 *                            100 connected calls / 24 h limit, docs/whatsapp-calling.md#limits).
 *  pre_accept, accept,
 *  reject, terminate         one fast retry on network error, timeout or 5xx: the call is live and
 *                            the user is waiting; a duplicate is answered with an error at worst.
 *  get_call_permissions,
 *  get_settings              one retry on network error or 5xx (reads are idempotent).
 *  update_settings           one retry on network error or 5xx (POST replaces the same state).
 *  send_permission_request   never: a billed message, limited to 1 per 24 h per user (docs/whatsapp-calling.md#limits).
 */
export const RETRY_POLICY: Readonly<Record<GraphOperation, readonly RetryableFailure[]>> = {
  connect: [],
  pre_accept: ['network', 'timeout', 'server_error'],
  accept: ['network', 'timeout', 'server_error'],
  reject: ['network', 'timeout', 'server_error'],
  terminate: ['network', 'timeout', 'server_error'],
  get_call_permissions: ['network', 'server_error'],
  get_settings: ['network', 'server_error'],
  update_settings: ['network', 'server_error'],
  send_permission_request: [],
};

export const MAX_ATTEMPTS = 2;
export const DEFAULT_RETRY_DELAY_MS = 150;

function failureOf(err: ProviderError): RetryableFailure | undefined {
  if (err.kind === 'network') return 'network';
  if (err.kind === 'timeout') return 'timeout';
  if (err.kind === 'api' && err.httpStatus !== undefined && err.httpStatus >= 500) return 'server_error';
  return undefined;
}

/** Whether a failed attempt (1-based) of `operation` may be tried again. */
export function shouldRetry(operation: GraphOperation, err: ProviderError, attempt: number): boolean {
  if (attempt >= MAX_ATTEMPTS) return false;
  const failure = failureOf(err);
  return failure !== undefined && RETRY_POLICY[operation].includes(failure);
}
