const UNDICI_TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** undici's own headers/body timers fired (https://undici.nodejs.org/#/docs/api/Errors). */
export function isUndiciTimeout(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && UNDICI_TIMEOUT_CODES.has(code);
}
