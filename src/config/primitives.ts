import { isIP } from 'node:net';
import { z } from 'zod';

/** Value types both config schemas use (schema.ts, provider-schemas.ts). */

export const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');
export const digits = z.string().regex(/^[0-9]+$/, 'a string of digits (quote it in YAML)');
export const port = z.number().int().min(1).max(65535);

/** Free text: a blank or whitespace-only value is a mistake (a stray space, an empty template). */
export const text = z.string().regex(/\S/, 'must not be blank');

/** An absolute URL path such as "/webhooks/whatsapp" (no spaces, "?" or "#"). */
export const urlPath = z.string().regex(/^\/[^\s?#]*$/, 'a path such as "/webhooks/whatsapp" (no spaces, "?" or "#")');

/** An HTTP header name (RFC 9110 token). */
export const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'an HTTP header name, e.g. "Authorization"');

export const ipOrCidr = z.string().refine((v) => {
  const [addr, bits, ...rest] = v.split('/');
  if (rest.length || !addr) return false;
  const family = isIP(addr);
  if (!family) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return Number.isInteger(n) && n >= 0 && n <= (family === 4 ? 32 : 128);
}, 'an IP address or CIDR block, e.g. "192.0.2.10" or "192.0.2.0/24"');
