/**
 * The error table for providers that do not speak in Meta's codes (src/calls/failure-mapping.ts):
 * configuration problems get Meta's loud auth answer, throttling Meta's rate-limit answer.
 */
import { describe, expect, it } from 'vitest';
import { businessError, classifyCamsFailure, CamsProviderError } from '../../src/adapters/cams/cams-errors.js';
import { conceptoMovilApiError, conceptoMovilUnsupported } from '../../src/adapters/conceptomovil/conceptomovil-errors.js';
import { d360ApiError } from '../../src/adapters/d360/d360-errors.js';
import { mapProviderError } from '../../src/calls/failure-mapping.js';
import { readmeRow } from '../support/faults/readme-error-table.js';

const cams = (code: string, status: number) => new CamsProviderError(`CAMS connect failed: ${code}`, classifyCamsFailure(code, status), { httpStatus: status, type: code, operation: 'connect' });

describe('provider failures in the error table', () => {
  it.each([
    ['CAMS SignatureDoesNotMatch', cams('SignatureDoesNotMatch', 400)],
    ['CAMS InvalidAccessKeyId.NotFound', cams('InvalidAccessKeyId.NotFound', 404)],
    ['CAMS Forbidden.RAM', cams('Forbidden.RAM', 403)],
    ['360dialog 401 (API key)', d360ApiError('connect', 401, '{"meta":{"success":false,"http_code":401,"developer_message":"Invalid api key"}}', undefined, 'k')],
    ['Concepto Móvil 403', conceptoMovilApiError('connect', 403, '{"message":"forbidden"}', [])],
  ])('%s: loud 503 WhatsApp Auth Failed, as Meta\'s 190', (_name, err) => {
    const f = mapProviderError(err);
    const row = readmeRow(190);
    expect(f).toMatchObject({ status: row.status, reason: row.reason, loud: true, cause: 'auth' });
    expect(f.retryAfter).toBeUndefined();
  });

  it('a CAMS configuration error names the provider\'s code in the Warning', () => {
    expect(mapProviderError(cams('SignatureDoesNotMatch', 400)).warning).toBe('the WhatsApp provider refused watrunk\'s credentials or configuration: SignatureDoesNotMatch');
  });

  it.each([
    ['CAMS Throttling.User', cams('Throttling.User', 400)],
    ['CAMS Throttling (HTTP 503)', cams('Throttling', 503)],
    ['HTTP 429 without a Meta code', conceptoMovilApiError('connect', 429, '', [])],
  ])('%s: 503 WhatsApp Rate Limited with Retry-After, as Meta\'s 613', (_name, err) => {
    const row = readmeRow(613);
    expect(mapProviderError(err)).toMatchObject({ status: row.status, reason: row.reason, retryAfter: row.retryAfter, cause: 'rate_limited' });
  });

  it('a Meta code relayed by a provider keeps Meta\'s row; CAMS 5xx is retried-then-503', () => {
    expect(mapProviderError(d360ApiError('connect', 400, '{"error":{"code":138006,"message":"x"}}', undefined, 'k'))).toMatchObject({ status: 403 });
    expect(mapProviderError(cams('InternalError', 500))).toMatchObject({ status: 503, reason: 'WhatsApp Unavailable', retryAfter: 5 });
  });

  it('a CAMS business error (HTTP 200) with Code InternalError or ServiceUnavailable is the same retryable 503 as a 5xx', () => {
    const row = readmeRow('CAMS `InternalError`, `ServiceUnavailable`');
    for (const code of ['InternalError', 'ServiceUnavailable', 'InternalError.Timeout']) {
      const err = businessError('connect', 200, { code, message: 'try again later', requestId: 'req-9' }, undefined, []);
      expect(err.fields.category).toBe('server');
      expect(err.retryable).toBe(true);
      const f = mapProviderError(err);
      expect(f, code).toMatchObject({ status: row.status, reason: row.reason, retryAfter: row.retryAfter, cause: 'provider_5xx' });
      expect(f.loud).toBeUndefined();
    }
    // A business error of any other Code stays the request's failure.
    expect(mapProviderError(businessError('connect', 200, { code: 'Call.NotFound', message: 'm' }, undefined, []))).toMatchObject({ status: 500, reason: 'WhatsApp Error' });
  });

  it('something the provider does not offer is loud, not an auth failure', () => {
    expect(mapProviderError(conceptoMovilUnsupported('update_settings', 'no sip'))).toMatchObject({ status: 503, reason: 'WhatsApp Not Supported', loud: true });
  });
});
