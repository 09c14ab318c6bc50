/**
 * Graph API errors as Meta returns them (the envelope: docs/whatsapp-calling.md#graph-api-basics;
 * codes and HTTP statuses: docs/whatsapp-calling.md#error-codes):
 *   {"error":{"message":"(#138006) …","type":"OAuthException","code":138006,
 *             "error_data":{"messaging_product":"whatsapp","details":"…"},"fbtrace_id":"…"}}
 */

interface CodeSpec { http: number; title: string }

/** docs/whatsapp-calling.md#error-codes (plus 190 for bad tokens and 2500 for unknown paths, standard Graph codes). */
export const GRAPH_CODES: Record<number, CodeSpec> = {
  1: { http: 500, title: 'An unknown error has occurred.' },
  100: { http: 400, title: 'Invalid parameter' },
  190: { http: 401, title: 'Invalid OAuth access token - Cannot parse access token' },
  613: { http: 429, title: 'Calls to this api have exceeded the rate limit' },
  2500: { http: 400, title: 'Unknown path components' },
  131009: { http: 400, title: 'Parameter value is not valid' },
  131030: { http: 400, title: 'Recipient phone number not in allowed list' },
  131044: { http: 400, title: 'Payment method error' },
  131055: { http: 400, title: 'Graph API calls are not allowed for SIP enabled numbers' },
  138000: { http: 401, title: 'Calling is not enabled for this business phone number' },
  138001: { http: 400, title: 'Receiver is unable to receive calls' },
  138002: { http: 429, title: 'Concurrent calls limit reached' },
  138003: { http: 400, title: 'Duplicate call: a call with this receiver is already ongoing' },
  138004: { http: 500, title: 'Connection error' },
  138005: { http: 429, title: 'Call rate limit exceeded' },
  138006: { http: 401, title: 'No approved call permission found' },
  138007: { http: 500, title: 'Connect timeout' },
  138009: { http: 400, title: 'Call permission request limit reached' },
  138012: { http: 400, title: 'Business initiated connected call limit reached' },
  138013: { http: 400, title: 'Business initiated calling is not available for this business phone number' },
  138014: { http: 400, title: 'Calling is temporarily disabled for this business phone number' },
  138017: { http: 400, title: 'A permanent call permission already exists' },
  138019: { http: 400, title: 'Call setup failed' },
  138020: { http: 400, title: 'Relay connection failed' },
  138021: { http: 400, title: 'Media receive timeout' },
  138022: { http: 400, title: 'Media transmit timeout' },
  138023: { http: 400, title: 'Call accepted but terminated with no media signals' },
};

export const ERROR_HREF = 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/';

export function titleOf(code: number): string {
  return GRAPH_CODES[code]?.title ?? 'Unknown error';
}

export class GraphError extends Error {
  override readonly name = 'GraphError';
  readonly httpStatus: number;
  /** `httpStatus` overrides Meta's status for the code (fault injection: a 503 with code 1). */
  constructor(readonly code: number, readonly details?: string, message?: string, httpStatus?: number) {
    super(message ?? titleOf(code));
    this.httpStatus = httpStatus ?? GRAPH_CODES[code]?.http ?? 400;
  }
}

/** Code 100 with a readable message naming the parameter (Graph: "(#100) The parameter to is required."). */
export function invalidParameter(message: string, details?: string): GraphError {
  return new GraphError(100, details ?? message, message);
}

export function graphErrorBody(err: GraphError, fbtraceId: string): Record<string, unknown> {
  const error: Record<string, unknown> = {
    message: err.code === 190 ? err.message : `(#${err.code}) ${err.message}`,
    type: 'OAuthException',
    code: err.code,
  };
  if (err.details !== undefined) error['error_data'] = { messaging_product: 'whatsapp', details: err.details };
  error['fbtrace_id'] = fbtraceId;
  return { error };
}
