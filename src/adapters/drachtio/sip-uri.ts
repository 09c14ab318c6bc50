import Srf from 'drachtio-srf';
import type { SrfUri } from './srf-types.js';

const parseUri = (Srf as unknown as { parseUri: (uri: string) => SrfUri | undefined }).parseUri;

/** The user part of a SIP/tel URI ('' when there is none or the URI does not parse). */
export function uriUser(uri: string): string {
  try {
    return parseUri(uri)?.user ?? '';
  } catch {
    return '';
  }
}

/** The digest username in an Authorization / Proxy-Authorization header, if any. */
export function digestUsername(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /username\s*=\s*"([^"]*)"/i.exec(header) ?? /username\s*=\s*([^,\s]+)/i.exec(header);
  return m?.[1];
}
