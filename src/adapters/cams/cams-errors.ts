import { ProviderError } from '../../calls/ports/whatsapp-errors.js';
import type { ProviderErrorMapper } from '../http/provider-http-types.js';
import type { CamsOperation } from './cams-types.js';

/**
 * Turns what went wrong on a CAMS request into a ProviderError (docs/providers.md#alibaba-cloud-cams).
 * CAMS fails in two layers:
 *  - the Alibaba Cloud API gateway answers HTTP 4xx/5xx with {RequestId, HostId, Code, Message,
 *    Recommend} (XML when it cannot negotiate JSON): bad keys, signature, throttling, …;
 *  - CAMS itself answers HTTP 200 with a Code other than "OK" (its `Success` flag is not reliable).
 * Both become CamsProviderError (kind 'api'), with the Alibaba Code kept as `type` and a category
 * saying how the failure is to be treated. Every text that can reach a message passes through
 * scrubSecrets first.
 */

/**
 * config        the deployment is wrong (credentials, signature, clock, RAM permission, product not
 *               enabled, an operation CAMS does not offer): log loudly, never retry, fix the config.
 * rate_limited  Throttling, Throttling.User, Throttling.Api, HTTP 429: retryable after a pause.
 * server        HTTP 5xx or an internal error code: retryable.
 * rejected      CAMS refused this particular request (parameters, call state, business rule).
 */
export type CamsErrorCategory = 'config' | 'rate_limited' | 'server' | 'rejected';

export class CamsProviderError extends ProviderError {
  constructor(
    message: string,
    readonly category: CamsErrorCategory,
    fields: ProviderError['fields'],
  ) {
    // The provider-neutral category src/calls/failure-mapping.ts reads (it knows no CAMS codes);
    // `server` too, as a business error (HTTP 200, Code InternalError) carries no 5xx status.
    super(message, 'api', category === 'rejected' ? fields : { ...fields, category });
  }
  /** Alibaba's string Code, e.g. "SignatureDoesNotMatch" (also in fields.type). */
  get camsCode(): string | undefined { return this.fields.type; }
  /** A misconfiguration an administrator must see (the Meta adapter's auth failures are the counterpart). */
  get loud(): boolean { return this.category === 'config'; }
  get retryable(): boolean { return this.category === 'rate_limited' || this.category === 'server'; }
  override toLog(): Record<string, unknown> {
    return { ...super.toLog(), category: this.category };
  }
}

/** Code families that mean the deployment, not the request, is wrong. Matched as "X" or "X.*". */
const CONFIG_CODE_FAMILIES = [
  'InvalidAccessKeyId', 'InvalidAccessKeySecret', 'SignatureDoesNotMatch', 'IncompleteSignature',
  'InvalidSecurityToken', 'MissingSecurityToken', 'InvalidTimeStamp', 'UnsupportedSignatureAlgorithm',
  'Forbidden', 'NoPermission', 'AccessDenied', 'Unauthorized',
  'InvalidAction', 'InvalidApi', 'InvalidVersion', 'InvalidProduct',
];
const THROTTLING_FAMILY = 'Throttling';
const SERVER_CODE_FAMILIES = ['InternalError', 'ServiceUnavailable', 'UnknownError'];

function inFamily(code: string, family: string): boolean {
  return code === family || code.startsWith(`${family}.`);
}

/** How a failed CAMS answer is to be treated, from its Code and HTTP status. */
export function classifyCamsFailure(code: string | undefined, httpStatus: number): CamsErrorCategory {
  if (code !== undefined) {
    if (inFamily(code, THROTTLING_FAMILY)) return 'rate_limited';
    if (CONFIG_CODE_FAMILIES.some((f) => inFamily(code, f))) return 'config';
    if (SERVER_CODE_FAMILIES.some((f) => inFamily(code, f))) return 'server';
  }
  if (httpStatus === 429) return 'rate_limited';
  if (httpStatus === 401 || httpStatus === 403) return 'config';
  if (httpStatus >= 500) return 'server';
  return 'rejected';
}

const REDACTED = '[redacted]';
const SNIPPET_CHARS = 160;

/** Removes every non-empty secret (AccessKey secret, STS token) from a text. */
export function scrubSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join(REDACTED);
  return out;
}

const asText = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
/** Alibaba fills empty fields with the string "None". */
const meaningful = (v: unknown): string | undefined => {
  const s = asText(v)?.trim();
  return s && s !== 'None' ? s : undefined;
};

/** The error envelope fields, from JSON or (for a gateway that answered XML) from <Error> tags. */
export interface CamsEnvelope { code?: string; message?: string; requestId?: string; details?: string }

export function readEnvelope(doc: unknown, bodyText: string): CamsEnvelope | undefined {
  if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
    const d = doc as Record<string, unknown>;
    const code = meaningful(d['Code'] ?? d['code']);
    if (code === undefined) return undefined;
    const details = [meaningful(d['Recommend']), meaningful(d['AccessDeniedDetail'])].filter(Boolean).join('; ');
    return {
      code,
      message: meaningful(d['Message'] ?? d['message']),
      requestId: meaningful(d['RequestId'] ?? d['requestId']),
      ...(details && { details }),
    };
  }
  const tag = (name: string) => meaningful(new RegExp(`<${name}>([^<]*)</${name}>`).exec(bodyText)?.[1]);
  const code = tag('Code');
  return code === undefined ? undefined : { code, message: tag('Message'), requestId: tag('RequestId'), details: tag('Recommend') };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function fromEnvelope(
  operation: CamsOperation, httpStatus: number, env: CamsEnvelope, headerRequestId: string | undefined, secrets: readonly (string | undefined)[],
): CamsProviderError {
  const message = scrubSecrets(env.message ?? 'no message', secrets);
  const traceId = env.requestId ?? headerRequestId;
  // A numeric Code is taken for Meta's own error code passed through (unverified:
  // docs/providers.md#alibaba-cloud-cams), so the SIP answer is Meta's row of the error table.
  const metaCode = env.code !== undefined && /^[0-9]{1,9}$/.test(env.code) ? Number(env.code) : undefined;
  return new CamsProviderError(
    `CAMS ${operation} failed: HTTP ${httpStatus}, code ${scrubSecrets(env.code ?? '', secrets)}: ${message}`,
    classifyCamsFailure(env.code, httpStatus),
    {
      httpStatus, operation, type: scrubSecrets(env.code ?? '', secrets),
      ...(metaCode !== undefined && { code: metaCode }),
      ...(env.details !== undefined && { details: scrubSecrets(env.details, secrets) }),
      ...(traceId !== undefined && { traceId }),
    },
  );
}

/** A gateway failure: HTTP status outside 2xx. */
export function gatewayError(
  operation: CamsOperation, httpStatus: number, bodyText: string, headerRequestId: string | undefined, secrets: readonly (string | undefined)[],
): CamsProviderError {
  const env = readEnvelope(parseJson(bodyText), bodyText);
  if (env) return fromEnvelope(operation, httpStatus, env, headerRequestId, secrets);
  const snippet = scrubSecrets(bodyText, secrets).replace(/\s+/g, ' ').trim().slice(0, SNIPPET_CHARS);
  return new CamsProviderError(
    `CAMS ${operation} failed: HTTP ${httpStatus} without an error envelope`,
    classifyCamsFailure(undefined, httpStatus),
    {
      httpStatus, operation,
      ...(snippet.length > 0 && { details: snippet }),
      ...(headerRequestId !== undefined && { traceId: headerRequestId }),
    },
  );
}

/** A business failure: HTTP 200 whose Code is not "OK". */
export function businessError(
  operation: CamsOperation, httpStatus: number, env: CamsEnvelope, headerRequestId: string | undefined, secrets: readonly (string | undefined)[],
): CamsProviderError {
  return fromEnvelope(operation, httpStatus, env, headerRequestId, secrets);
}

/**
 * A problem found by watrunk itself, not answered by CAMS: something CAMS cannot do at all (changing
 * calling settings), or a number the account does not hold. A configuration problem: loud, never retried.
 */
export function configError(operation: string, message: string): CamsProviderError {
  return new CamsProviderError(message, 'config', { operation });
}

/** A 2xx answer whose body is not what the API promises. */
export function protocolError(
  operation: CamsOperation, problem: string, httpStatus: number, traceId: string | undefined, secrets: readonly (string | undefined)[],
): ProviderError {
  return new ProviderError(
    `CAMS ${operation}: unexpected response: ${scrubSecrets(problem, secrets)}`,
    'protocol',
    { httpStatus, operation, ...(traceId !== undefined && { traceId }) },
  );
}

export function timeoutError(operation: CamsOperation, timeoutMs: number): ProviderError {
  return new ProviderError(`CAMS ${operation}: no answer within ${timeoutMs} ms`, 'timeout', { operation });
}

/** Connection refused/reset, DNS, TLS: the request may not have reached CAMS. */
export function networkError(operation: CamsOperation, err: unknown, secrets: readonly (string | undefined)[]): ProviderError {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } } | null;
  const code = asText(e?.code) ?? asText(e?.cause?.code);
  const text = asText(e?.message) ?? String(err);
  const causeText = asText(e?.cause?.message);
  const why = causeText && causeText !== text ? `${text}: ${causeText}` : text;
  return new ProviderError(
    scrubSecrets(`CAMS ${operation}: network error${code ? ` ${code}` : ''} (${why})`, secrets),
    'network',
    { operation },
  );
}

/** The errors of one CAMS request, for ProviderHttpClient. */
export function camsErrorMapper(operation: CamsOperation, secrets: readonly (string | undefined)[]): ProviderErrorMapper {
  return {
    timeout: (timeoutMs) => timeoutError(operation, timeoutMs),
    network: (err) => networkError(operation, err, secrets),
    api: (httpStatus, bodyText, requestId) => gatewayError(operation, httpStatus, bodyText, requestId, secrets),
    protocol: (problem, httpStatus, requestId) => protocolError(operation, problem, httpStatus, requestId, secrets),
  };
}
