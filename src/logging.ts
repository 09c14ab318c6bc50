import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

/**
 * Paths pino blanks out wherever they appear in a log line. Secrets must never reach a log:
 * tokens, the app secret, SIP passwords, Authorization headers, digest credentials.
 */
export const REDACT_PATHS = [
  'token', '*.token', 'accessToken', '*.accessToken', 'access_token', '*.access_token',
  'appSecret', '*.appSecret', 'app_secret', '*.app_secret',
  'verifyToken', '*.verifyToken', 'verify_token', '*.verify_token',
  'password', '*.password', '*.*.password',
  'sip_user_password', '*.sip_user_password', '*.*.sip_user_password', '*.*.*.sip_user_password',
  'secret', '*.secret',
  'authorization', '*.authorization', 'Authorization', '*.Authorization',
  'headers.authorization', '*.headers.authorization', 'headers["proxy-authorization"]',
  'req.headers.authorization', 'req.headers["x-hub-signature-256"]',
  '*.headers["d360-api-key"]',
];

export const REDACTED = '[redacted]';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** True when the top-level object of one JSON line names a key twice. */
export function hasDuplicateTopLevelKey(line: string): boolean {
  const seen = new Set<string>();
  let depth = 0;
  let atKey = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === QUOTE) {
      let j = i + 1;
      while (j < line.length && line.charCodeAt(j) !== QUOTE) j += line.charCodeAt(j) === BACKSLASH ? 2 : 1;
      if (atKey) {
        const key = line.slice(i + 1, j);
        if (seen.has(key)) return true;
        seen.add(key);
        atKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      atKey = c === 0x7b && depth === 1;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x2c /* , */ && depth === 1) {
      atKey = true;
    }
  }
  return false;
}

/**
 * pino writes a child's bindings and the logged object side by side, so a key bound twice (a
 * child rebinding its parent's `component`, a call logging the `waCallId` its logger already
 * binds) would appear twice in one line. Such a line is rewritten with each key once, at its
 * first position, holding the last value: what JSON.parse of the raw line gave anyway.
 */
export function withUniqueKeys(line: string): string {
  if (!hasDuplicateTopLevelKey(line)) return line;
  try {
    return JSON.stringify(JSON.parse(line)) + (line.endsWith('\n') ? '\n' : '');
  } catch {
    return line;
  }
}

export function createLogger(level = 'info', destination?: DestinationStream): Logger {
  const opts: LoggerOptions = {
    level,
    base: { app: 'watrunk' },
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    hooks: { streamWrite: withUniqueKeys },
  };
  return destination ? pino(opts, destination) : pino(opts);
}

export type { Logger };
