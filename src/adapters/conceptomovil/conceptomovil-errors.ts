import { ProviderError } from '../../calls/ports/whatsapp-errors.js';
import type { ProviderErrorMapper } from '../http/provider-http-types.js';
import { scrubSecret } from '../meta/graph-errors.js';
import { asNonEmptyString, asRecord } from '../meta/coerce.js';
import type { ConceptoMovilOperation } from './conceptomovil-types.js';

/**
 * Turns a failed Concepto Móvil request into a ProviderError, classified as for Meta
 * (src/calls/failure-mapping.ts): the HTTP status always (401/403 → loud credential problem, 5xx →
 * retried where the policy allows), and a provider code only where it can be Meta's.
 * Concepto Móvil's error bodies are not documented (docs/providers.md#concepto-movil), so both
 * Meta's envelope {"error":{"code","message","error_data"}} and flat bodies
 * ({"message"|"error"|"description"|"detail", "code"}) are read.
 */

const PROVIDER = 'Concepto Móvil';
const SNIPPET_CHARS = 160;

export function scrubSecrets(text: string, secrets: readonly string[]): string {
  return secrets.reduce((t, s) => scrubSecret(t, s), text);
}

function integer(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^[0-9]+$/.test(v.trim())) return Number(v.trim());
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A flat body's code is kept only when it cannot be an HTTP status echoed back (100–599). */
function providerCode(v: unknown): number | undefined {
  const n = integer(v);
  return n !== undefined && (n < 100 || n > 599) ? n : undefined;
}

/** The error a body describes, or undefined when it names none. */
export function errorInBody(
  op: ConceptoMovilOperation, httpStatus: number | undefined, doc: unknown, secrets: readonly string[],
): ProviderError | undefined {
  const body = asRecord(doc);
  if (!body) return undefined;
  const meta = asRecord(body['error']);
  const status = httpStatus !== undefined ? `HTTP ${httpStatus}` : 'error in a 2xx answer';
  if (meta) {
    const code = integer(meta['code']);
    const text = asNonEmptyString(meta['message']) ?? 'no message';
    const data = meta['error_data'];
    const details = typeof data === 'string' ? data : asNonEmptyString(asRecord(data)?.['details']);
    const traceId = asNonEmptyString(meta['fbtrace_id']);
    return new ProviderError(`${PROVIDER} ${op} failed: ${status}${code !== undefined ? `, code ${code}` : ''}: ${scrubSecrets(text, secrets)}`, 'api', {
      operation: op,
      ...(httpStatus !== undefined && { httpStatus }),
      ...(code !== undefined && { code }),
      ...(details !== undefined && { details: scrubSecrets(details, secrets) }),
      ...(traceId !== undefined && { traceId }),
    });
  }
  const failed = body['success'] === false || /^(error|fail(ed|ure)?)$/i.test(asNonEmptyString(body['status']) ?? '');
  if (httpStatus === undefined && !failed) return undefined;
  const text = [body['message'], body['error'], body['description'], body['detail'], body['error_description']]
    .map(asNonEmptyString).find((s) => s !== undefined);
  if (httpStatus !== undefined && text === undefined && !failed) return undefined;
  const code = providerCode(body['code'] ?? body['error_code']);
  return new ProviderError(`${PROVIDER} ${op} failed: ${status}${code !== undefined ? `, code ${code}` : ''}: ${scrubSecrets(text ?? 'no message', secrets)}`, 'api', {
    operation: op, type: 'conceptomovil',
    ...(httpStatus !== undefined && { httpStatus }),
    ...(code !== undefined && { code }),
  });
}

/** A non-2xx answer. */
export function conceptoMovilApiError(
  op: ConceptoMovilOperation, httpStatus: number, bodyText: string, secrets: readonly string[],
): ProviderError {
  const known = errorInBody(op, httpStatus, parseJson(bodyText), secrets);
  if (known) return known;
  const snippet = scrubSecrets(bodyText, secrets).replace(/\s+/g, ' ').trim().slice(0, SNIPPET_CHARS);
  return new ProviderError(`${PROVIDER} ${op} failed: HTTP ${httpStatus}`, 'api', {
    httpStatus, operation: op, ...(snippet.length > 0 && { details: snippet }),
  });
}

export function conceptoMovilProtocolError(
  op: ConceptoMovilOperation, problem: string, httpStatus: number, secrets: readonly string[],
): ProviderError {
  return new ProviderError(`${PROVIDER} ${op}: unexpected response: ${scrubSecrets(problem, secrets)}`, 'protocol', { httpStatus, operation: op });
}

export function conceptoMovilTimeoutError(op: ConceptoMovilOperation, timeoutMs: number): ProviderError {
  return new ProviderError(`${PROVIDER} ${op}: no answer within ${timeoutMs} ms`, 'timeout', { operation: op });
}

export function conceptoMovilNetworkError(op: ConceptoMovilOperation, err: unknown, secrets: readonly string[]): ProviderError {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } } | null;
  const code = asNonEmptyString(e?.code) ?? asNonEmptyString(e?.cause?.code);
  const text = asNonEmptyString(e?.message) ?? String(err);
  const causeText = asNonEmptyString(e?.cause?.message);
  const why = causeText && causeText !== text ? `${text}: ${causeText}` : text;
  return new ProviderError(scrubSecrets(`${PROVIDER} ${op}: network error${code ? ` ${code}` : ''} (${why})`, secrets), 'network', { operation: op });
}

/**
 * Something Concepto Móvil does not offer (no settings read endpoint, no SIP block) or a missing
 * configuration value: refused locally, nothing is sent. Kind 'api' without an HTTP status, type
 * 'unsupported', so the admin API and CLI show the message as a provider refusal.
 */
export function conceptoMovilUnsupported(op: ConceptoMovilOperation, why: string): ProviderError {
  return new ProviderError(`${PROVIDER} ${op}: ${why}`, 'api', { operation: op, type: 'unsupported', category: 'unsupported' });
}

/** The errors of one Concepto Móvil exchange, for ProviderHttpClient (no trace id is read). */
export function conceptoMovilErrorMapper(op: ConceptoMovilOperation, secrets: readonly string[]): ProviderErrorMapper {
  return {
    timeout: (timeoutMs) => conceptoMovilTimeoutError(op, timeoutMs),
    network: (err) => conceptoMovilNetworkError(op, err, secrets),
    api: (httpStatus, bodyText) => conceptoMovilApiError(op, httpStatus, bodyText, secrets),
    protocol: (problem, httpStatus) => conceptoMovilProtocolError(op, problem, httpStatus, secrets),
  };
}
