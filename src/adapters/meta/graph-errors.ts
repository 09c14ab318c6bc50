import { ProviderError } from '../../calls/ports/whatsapp-errors.js';
import type { ProviderErrorMapper } from '../http/provider-http-types.js';
import type { GraphOperation } from './graph-types.js';

/**
 * Turns what went wrong on a Graph request into a ProviderError. Every text that may end up in an
 * error message passes through scrubSecret first, so the access token can never leak through an
 * echoing proxy or a Graph message.
 */

const REDACTED = '[redacted]';
const SNIPPET_CHARS = 160;

export function scrubSecret(text: string, secret: string): string {
  return secret.length > 0 ? text.split(secret).join(REDACTED) : text;
}

function asString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function asCode(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^[0-9]+$/.test(v)) return Number(v);
  return undefined;
}

/** error_data is usually {details: "..."}; older Graph errors send a string or other keys. */
function detailsOf(errorData: unknown): string | undefined {
  if (errorData === undefined || errorData === null) return undefined;
  if (typeof errorData === 'string') return errorData;
  if (typeof errorData === 'object') {
    const d = (errorData as Record<string, unknown>)['details'];
    if (typeof d === 'string') return d;
    return JSON.stringify(d ?? errorData);
  }
  return String(errorData);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A non-2xx answer. Graph's envelope (docs/whatsapp-calling.md#graph-api-basics):
 * {"error":{"message","type","code","error_data":{"details"},"fbtrace_id"}}.
 */
export function apiError(
  operation: GraphOperation, httpStatus: number, bodyText: string, headerTraceId: string | undefined, secret: string,
): ProviderError {
  const doc = parseJson(bodyText);
  const envelope = doc && typeof doc === 'object' ? (doc as Record<string, unknown>)['error'] : undefined;
  if (envelope && typeof envelope === 'object') {
    const e = envelope as Record<string, unknown>;
    const code = asCode(e['code']);
    const graphMessage = scrubSecret(asString(e['message']) ?? 'no message', secret);
    const details = detailsOf(e['error_data']);
    const traceId = asString(e['fbtrace_id']) ?? headerTraceId;
    const type = asString(e['type']);
    return new ProviderError(
      `Graph ${operation} failed: HTTP ${httpStatus}${code !== undefined ? `, code ${code}` : ''}: ${graphMessage}`,
      'api',
      {
        httpStatus, operation,
        ...(code !== undefined && { code }),
        ...(type !== undefined && { type: scrubSecret(type, secret) }),
        ...(details !== undefined && { details: scrubSecret(details, secret) }),
        ...(traceId !== undefined && { traceId }),
      },
    );
  }
  const snippet = scrubSecret(bodyText, secret).replace(/\s+/g, ' ').trim().slice(0, SNIPPET_CHARS);
  return new ProviderError(
    `Graph ${operation} failed: HTTP ${httpStatus} without a Graph error envelope`,
    'api',
    {
      httpStatus, operation,
      ...(snippet.length > 0 && { details: snippet }),
      ...(headerTraceId !== undefined && { traceId: headerTraceId }),
    },
  );
}

/** A 2xx answer whose body is not what the API promises. */
export function protocolError(
  operation: GraphOperation, problem: string, httpStatus: number, traceId: string | undefined, secret: string,
): ProviderError {
  return new ProviderError(
    `Graph ${operation}: unexpected response: ${scrubSecret(problem, secret)}`,
    'protocol',
    { httpStatus, operation, ...(traceId !== undefined && { traceId }) },
  );
}

/** No answer in time: our own deadline fired, or undici's headers/body timer did. */
export function timeoutError(operation: GraphOperation, timeoutMs: number): ProviderError {
  return new ProviderError(`Graph ${operation}: no answer within ${timeoutMs} ms`, 'timeout', { operation });
}

/** Connection refused/reset, DNS, TLS: the request may not have reached Graph. */
export function networkError(operation: GraphOperation, err: unknown, secret: string): ProviderError {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } } | null;
  // undici wraps socket errors (e.g. ECONNREFUSED) in a TypeError("fetch failed")-style cause chain.
  const code = asString(e?.code) ?? asString(e?.cause?.code);
  const text = asString(e?.message) ?? String(err);
  const causeText = asString(e?.cause?.message);
  const why = causeText && causeText !== text ? `${text}: ${causeText}` : text;
  return new ProviderError(
    scrubSecret(`Graph ${operation}: network error${code ? ` ${code}` : ''} (${why})`, secret),
    'network',
    { operation },
  );
}

/** The errors of one Graph request, for ProviderHttpClient. */
export function graphErrorMapper(operation: GraphOperation, secret: string): ProviderErrorMapper {
  return {
    timeout: (timeoutMs) => timeoutError(operation, timeoutMs),
    network: (err) => networkError(operation, err, secret),
    api: (httpStatus, bodyText, traceId) => apiError(operation, httpStatus, bodyText, traceId, secret),
    protocol: (problem, httpStatus, traceId) => protocolError(operation, problem, httpStatus, traceId, secret),
  };
}
