import type { GraphOperation } from '../meta/graph-types.js';

/**
 * Wire-level vocabulary of the 360dialog calling API (docs/providers.md#360dialog). 360dialog is a
 * thin proxy in front of Meta's Cloud API: bodies and responses are Meta's, but the host, the
 * paths and the authentication differ, and the API key names the business number (no phone
 * number id in any path).
 */

/** https://docs.360dialog.com/docs/guides (base URL of the Cloud API proxy). Configurable. */
export const D360_DEFAULT_BASE_URL = 'https://waba-v2.360dialog.io';

/** Request header carrying the per-number API key. */
export const D360_API_KEY_HEADER = 'D360-API-KEY';

/** The same request kinds as Meta's; used as the `operation` metric label and in errors. */
export type D360Operation = GraphOperation;

/** Paths under the base URL (docs/providers.md#360dialog). */
export const D360_PATHS = {
  /** All call actions, Meta's body. */
  calls: '/calling/calls',
  /** The user (digits) is a path segment, where Meta uses ?user_wa_id=. */
  permissions: (user: string) => `/calling/permissions/${encodeURIComponent(user)}`,
  /** GET and POST, Meta's `calling` object including the `sip` block. */
  settings: '/calling/settings',
  /** Meta's messages endpoint without the phone number id. */
  messages: '/messages',
} as const;

/** Everything needed to address one business number on 360dialog. */
export interface D360Target {
  /** The number's API key (a secret: never logged). */
  apiKey: string;
  /** Whole-request budget (connect + headers + body), per attempt. */
  timeoutMs: number;
}

export interface D360Request<T> {
  operation: D360Operation;
  method: 'GET' | 'POST';
  /** Absolute path under the base URL, already encoded, e.g. D360_PATHS.calls. */
  path: string;
  query?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Checks a 2xx JSON body and maps it; throws when the body is not what the API promises. */
  parse: (body: unknown) => T;
}
