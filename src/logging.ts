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

export function createLogger(level = 'info', destination?: DestinationStream): Logger {
  const opts: LoggerOptions = {
    level,
    base: { app: 'watrunk' },
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return destination ? pino(opts, destination) : pino(opts);
}

export type { Logger };
