import { createHash, createHmac, randomBytes } from 'node:crypto';

/**
 * Alibaba Cloud request signature V3, ACS3-HMAC-SHA256
 * (https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature,
 * docs/providers.md#alibaba-cloud-cams):
 *
 *   CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n
 *                      SignedHeaders \n hex(sha256(body))
 *   StringToSign     = "ACS3-HMAC-SHA256" \n hex(sha256(CanonicalRequest))
 *   Signature        = hex(hmac-sha256(AccessKeySecret, StringToSign))
 *   Authorization    = ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<list>,Signature=<hex>
 *
 * Pure and synchronous: the date and nonce can be fixed, so the published example can be checked.
 * Nothing here logs; the secret only ever enters the HMAC.
 */

export const ACS3_ALGORITHM = 'ACS3-HMAC-SHA256';

/** hex(sha256("")): the payload hash of a request without a body. */
export const EMPTY_PAYLOAD_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export interface Acs3Credentials {
  accessKeyId: string;
  accessKeySecret: string;
  /** STS token of temporary credentials; adds x-acs-security-token and x-acs-accesskey-id. */
  securityToken?: string;
}

export interface Acs3Request {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Host (and port, when not the scheme's default) exactly as sent in the Host header. */
  host: string;
  /** "/" for RPC-style APIs. */
  pathname?: string;
  /** x-acs-action, e.g. "WhatsappCall". */
  action: string;
  /** x-acs-version, e.g. "2020-06-06". */
  version: string;
  /** Query parameters; undefined values are left out. */
  query?: Readonly<Record<string, string | undefined>>;
  /** Request body bytes (the default is no body). */
  body?: string | Buffer;
  /** Needed with a body, e.g. "application/x-www-form-urlencoded". Signed. */
  contentType?: string;
  /** x-acs-date; defaults to now. */
  date?: Date;
  /** x-acs-signature-nonce; defaults to 16 random bytes in hex. Must be unique per request. */
  nonce?: string;
}

export interface Acs3SignedRequest {
  /** Every header to send (lower-case names), Authorization included. */
  headers: Record<string, string>;
  /** The canonical query string; send exactly this after "?" so that what is signed is what is sent. */
  query: string;
  canonicalRequest: string;
  stringToSign: string;
  signedHeaders: string;
  signature: string;
}

/** RFC 3986 percent-encoding: only A-Z a-z 0-9 - _ . ~ stay as they are; space is %20, '*' is %2A. */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Names and values percent-encoded, sorted by name (byte order), joined with '&'; empty values keep their '='. */
export function canonicalQueryString(query: Readonly<Record<string, string | undefined>> = {}): string {
  return Object.entries(query)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`)
    .join('&');
}

/** Each path segment percent-encoded; "" becomes "/". */
export function canonicalUri(pathname: string | undefined): string {
  if (!pathname) return '/';
  return pathname.split('/').map(percentEncode).join('/');
}

/** ISO 8601 UTC without milliseconds: 2023-10-26T10:22:32Z. */
export function acs3Date(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function newSignatureNonce(): string {
  return randomBytes(16).toString('hex');
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Signed headers: host, content-type and every x-acs-* header, lower-cased, values trimmed, sorted. */
function canonicalHeaders(headers: Record<string, string>): { canonical: string; signed: string } {
  const names = Object.keys(headers)
    .map((n) => n.toLowerCase())
    .filter((n) => n === 'host' || n === 'content-type' || n.startsWith('x-acs-'))
    .sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    canonical: names.map((n) => `${n}:${(lower[n] ?? '').trim()}\n`).join(''),
    signed: names.join(';'),
  };
}

/** Builds the ACS3 headers for one request and signs them. Call once per attempt: each needs a fresh nonce. */
export function signAcs3(req: Acs3Request, credentials: Acs3Credentials): Acs3SignedRequest {
  const body = req.body ?? '';
  const payloadHash = sha256Hex(body);
  const headers: Record<string, string> = {
    host: req.host,
    'x-acs-action': req.action,
    'x-acs-version': req.version,
    'x-acs-date': acs3Date(req.date ?? new Date()),
    'x-acs-signature-nonce': req.nonce ?? newSignatureNonce(),
    'x-acs-content-sha256': payloadHash,
  };
  if (req.contentType !== undefined) headers['content-type'] = req.contentType;
  if (credentials.securityToken) {
    headers['x-acs-accesskey-id'] = credentials.accessKeyId;
    headers['x-acs-security-token'] = credentials.securityToken;
  }
  const query = canonicalQueryString(req.query);
  const { canonical, signed } = canonicalHeaders(headers);
  const canonicalRequest = [req.method, canonicalUri(req.pathname), query, canonical, signed, payloadHash].join('\n');
  const stringToSign = `${ACS3_ALGORITHM}\n${sha256Hex(canonicalRequest)}`;
  const signature = createHmac('sha256', credentials.accessKeySecret).update(stringToSign, 'utf8').digest('hex');
  headers['authorization'] = `${ACS3_ALGORITHM} Credential=${credentials.accessKeyId},SignedHeaders=${signed},Signature=${signature}`;
  return { headers, query, canonicalRequest, stringToSign, signedHeaders: signed, signature };
}
