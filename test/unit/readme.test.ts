import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { businessError, gatewayError, protocolError as camsProtocolError } from '../../src/adapters/cams/cams-errors.js';
import { conceptoMovilApiError, conceptoMovilProtocolError, conceptoMovilUnsupported } from '../../src/adapters/conceptomovil/conceptomovil-errors.js';
import { d360ApiError, d360ProtocolError } from '../../src/adapters/d360/d360-errors.js';
import { apiError, networkError, protocolError, timeoutError } from '../../src/adapters/meta/graph-errors.js';
import { GRAPH_ERROR_TABLE, mapProviderError, NO_ANSWER, REJECTED, type SipFailureResponse } from '../../src/calls/failure-mapping.js';
import { mapMetaSipAnswer } from '../../src/calls/meta-sip-failures.js';
import { ProviderError } from '../../src/calls/ports/whatsapp-errors.js';
import { UnsupportedPermissions } from '../../src/providers/unsupported-permissions.js';

const camsGateway = (status: number, code: string) => gatewayError('connect', status, JSON.stringify({ RequestId: 'req-1', Code: code, Message: 'm' }), undefined, []);
/** CAMS's business failure: HTTP 200 whose Code is not OK. */
const camsBusiness = (code: string) => businessError('connect', 200, { code, message: 'm', requestId: 'req-2' }, undefined, []);
const d360Own = (status: number, message: string) =>
  d360ApiError('connect', status, JSON.stringify({ meta: { success: false, http_code: status, developer_message: message } }), undefined, 'd360-key');
const sip = (status: number, reason: string, afterCredentials?: boolean) => mapMetaSipAnswer({ status, reason, ...(afterCredentials !== undefined && { afterCredentials }) });
const refusal = (p: Promise<unknown>): Promise<ProviderError> => p.then(() => { throw new Error('expected a refusal'); }, (err: unknown) => err as ProviderError);

/**
 * The rows without a Graph code, each with failures the code produces for it (built by the adapters'
 * own error mappers where a provider is named). Matched on the README's first column; every such
 * row needs exactly one entry here.
 */
const EXAMPLES: ReadonlyArray<[RegExp, () => Promise<Array<ProviderError | SipFailureResponse>>]> = [
  [/^`REJECTED` status$/, async () => [REJECTED]],
  [/^no answer$/, async () => [NO_ANSWER]],
  [/^Graph timeout$/, async () => [timeoutError('connect', 5_000)]],
  [/^network error$/, async () => [networkError('connect', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'tok')]],
  [/^other 401\/403$/, async () => [apiError('connect', 403, '{"error":{"code":10,"message":"Permission denied"}}', undefined, 'tok'), apiError('connect', 401, '', undefined, 'tok')]],
  [/^other 5xx$/, async () => [apiError('connect', 500, '{"error":{"code":1,"message":"unknown"}}', undefined, 'tok'), apiError('connect', 503, '<html></html>', undefined, 'tok')]],
  [/^unexpected answer$/, async () => [
    protocolError('connect', 'no calls[0].id', 200, undefined, 'tok'),
    d360ProtocolError('connect', 'not JSON', 200, undefined, 'k'),
    camsProtocolError('connect', 'no CallId', 200, undefined, []),
    conceptoMovilProtocolError('connect', 'no call id', 200, []),
  ]],
  [/^operation not offered$/, async () => [
    conceptoMovilUnsupported('update_settings', 'no sip'),
    await refusal(new UnsupportedPermissions('cams').getCallPermission()),
  ]],
  [/^360dialog HTTP 401\/403$/, async () => [d360Own(401, 'Invalid API key'), d360Own(403, 'The endpoint is blocked')]],
  [/^360dialog HTTP 400 .*disabled.*payment/, async () => [
    d360Own(400, 'Your WhatsApp for Business API has been disabled'),
    d360Own(400, 'Could not send message due to lack of payment. Messaging can resume once overdue invoices towards 360dialog are settled. Please reach out to our integration partner.'),
  ]],
  [/^360dialog HTTP 400 .*rate limit/, async () => [d360Own(400, 'You have exceeded the endpoint rate limit.')]],
  [/^CAMS `InvalidAccessKeyId/, async () => [
    camsGateway(404, 'InvalidAccessKeyId.NotFound'), camsGateway(400, 'SignatureDoesNotMatch'), camsGateway(400, 'InvalidTimeStamp.Expired'),
    camsGateway(403, 'Forbidden.RAM'), camsBusiness('NoPermission'), gatewayError('connect', 401, '', undefined, []),
  ]],
  [/^CAMS `Throttling\*`, any provider's HTTP 429$/, async () => [
    camsGateway(400, 'Throttling.User'), camsBusiness('Throttling.Api'),
    d360ApiError('connect', 429, '', undefined, 'k'), conceptoMovilApiError('connect', 429, '', []), apiError('connect', 429, '', undefined, 'tok'),
  ]],
  [/^CAMS `InternalError`, `ServiceUnavailable`$/, async () => [camsGateway(500, 'InternalError'), camsBusiness('InternalError'), camsBusiness('ServiceUnavailable')]],
  [/^CAMS other `Code`$/, async () => [camsGateway(400, 'InvalidParameter'), camsBusiness('Call.NotFound')]],
  [/^Concepto Móvil HTTP 401\/403/, async () => [conceptoMovilApiError('connect', 401, '{"message":"unauthorized"}', []), conceptoMovilApiError('get_token', 403, '', [])]],
  // SIP mode: Meta's answers to watrunk's INVITE (docs/sip-mode.md#errors).
  [/^SIP mode: Meta 400 "Asset not found"$/, async () => [sip(400, 'Asset not found')]],
  [/^SIP mode: Meta 401\/407 after credentials$/, async () => [sip(401, 'Unauthorized', true), sip(407, 'Proxy Authentication Required', true)]],
  [/^SIP mode: Meta 403 "No Approved Call Permission Found"$/, async () => [sip(403, 'No Approved Call Permission Found')]],
  [/^SIP mode: Meta 403 "…Per Day Limit Hit"$/, async () => [sip(403, 'Connected Call Per Day Limit Hit')]],
  [/^SIP mode: Meta 403 "SIP server … does not match…"$/, async () => [sip(403, 'SIP server sip.example.com does not match any SIP server configured')]],
  [/^SIP mode: Meta 403 "…not authorized for phone number id"$/, async () => [sip(403, 'App 123 not authorized for phone number id 456')]],
  [/^SIP mode: Meta 403, other phrase$/, async () => [sip(403, 'Forbidden')]],
  [/^SIP mode: Meta 404$/, async () => [sip(404, 'Not Found')]],
  [/^SIP mode: Meta 408$/, async () => [sip(408, 'Request Timeout')]],
  [/^SIP mode: Meta 480$/, async () => [sip(480, 'Temporarily Unavailable')]],
  [/^SIP mode: Meta 486, 603$/, async () => [sip(486, 'Busy Here'), sip(603, 'Decline')]],
  [/^SIP mode: Meta 488$/, async () => [sip(488, 'Not Acceptable Here')]],
  [/^SIP mode: Meta 503, other 5xx$/, async () => [sip(503, 'Service Unavailable'), sip(500, 'Server Internal Error')]],
];

/** PBX admins read the README's error table: it must say what the code does. */
describe('README error table', () => {
  const readme = readFileSync('README.md', 'utf8');
  const block = /<!-- error-table:start[^>]*-->([\s\S]*?)<!-- error-table:end -->/.exec(readme)?.[1] ?? '';
  const all = block.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| WhatsApp code')).map((l) => l.split('|').map((c) => c.trim()));
  const graphCode = (r: string[]) => /^\d+(,\s*\d+)*$/.test(r[1] ?? '');
  const rows = all.filter(graphCode);
  const loud = (r: string[]) => (r[2] ?? '').includes('**loud**');

  it('has a row for every Graph error code watrunk maps', () => {
    expect(rows.length).toBeGreaterThan(10);
    for (const [code, row] of Object.entries(GRAPH_ERROR_TABLE)) {
      const line = rows.find((r) => (r[1] ?? '').split(/,\s*/).includes(code));
      expect(line, `README row for ${code}`).toBeDefined();
      expect(line![3], `SIP response for ${code}`).toContain(`${row.status} ${row.reason}`);
      expect(line![4] ?? '', `Retry-After for ${code}`).toBe(row.retryAfter !== undefined ? String(row.retryAfter) : '');
      expect(loud(line!), `**loud** for ${code}`).toBe(row.loud === true);
    }
  });

  it('every other row (providers, transport, SIP mode) says what the code answers', async () => {
    const named = all.filter((r) => !graphCode(r));
    expect(named.length).toBeGreaterThan(20);
    for (const r of named) {
      const key = r[1]!;
      const matches = EXAMPLES.filter(([m]) => m.test(key));
      expect(matches.length, `examples for the README row "${key}"`).toBe(1);
      for (const failure of await matches[0]![1]()) {
        const f = failure instanceof ProviderError ? mapProviderError(failure) : failure;
        const what = `README row "${key}" vs ${failure instanceof ProviderError ? failure.message : f.warning}`;
        expect(r[3], what).toBe(`${f.status} ${f.reason}`);
        expect(r[4] ?? '', `Retry-After: ${what}`).toBe(f.retryAfter !== undefined ? String(f.retryAfter) : '');
        expect(loud(r), `**loud**: ${what}`).toBe(f.loud === true);
      }
    }
    // An example whose row was renamed or removed would otherwise check nothing.
    for (const [m] of EXAMPLES) expect(named.some((r) => m.test(r[1]!)), `a README row for ${m}`).toBe(true);
  });

  it('names the two commands, and .ci/run calls the test one', () => {
    expect(readme).toContain('`npm run bridge`');
    expect(readme).toContain('`npm run test:full`');
    expect(readFileSync('.ci/run', 'utf8')).toContain('npm run test:full');
  });
});
