import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { HttpConfig } from '../config/schema.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import { noteRefusal, pathOf, RefusalLog, type ListenerName } from './refusals.js';

/** The time limits both listeners share (config `http` and `internal_http`). */
export type ListenerTimeouts = Pick<HttpConfig, 'request_timeout_ms' | 'headers_timeout_ms' | 'keep_alive_timeout_ms' | 'connection_timeout_ms'>;

export interface EdgeOptions {
  listener: ListenerName;
  timeouts: ListenerTimeouts;
  /** Largest request body any route of this listener reads (routes may set less). */
  bodyLimit: number;
  /** Reverse proxies whose X-Forwarded-For is believed (addresses or CIDR blocks). */
  trustProxy?: readonly string[];
  logger: Logger;
  metrics: Metrics;
}

export interface EdgeApp {
  app: FastifyInstance;
  refusals: RefusalLog;
}

/** Errors raised while the body is still unread: the connection is closed after the answer. */
const BODY_UNREAD = new Set(['FST_ERR_CTP_BODY_TOO_LARGE', 'FST_ERR_CTP_INVALID_MEDIA_TYPE', 'FST_ERR_CTP_INVALID_CONTENT_LENGTH']);

const REASON_BY_CODE: Readonly<Record<string, string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_content_length',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad_json',
};

/**
 * Node checks request and headers time limits on a timer (`connectionsCheckingInterval`, 30 s by
 * default): a shorter one makes a 408 arrive close to the configured limit.
 */
function checkingIntervalMs(t: ListenerTimeouts): number {
  return Math.max(50, Math.min(1_000, Math.floor(Math.min(t.headers_timeout_ms, t.request_timeout_ms) / 4)));
}

/**
 * A Fastify instance hardened for one listener: time limits on headers, body and idle connections
 * (https://nodejs.org/api/http.html#serverrequesttimeout), `X-Content-Type-Options: nosniff` and
 * `Cache-Control: no-store` on every response, 4xx answers without stack traces, and each refused
 * request counted (`watrunk_http_rejections_total`) and logged once at warn.
 */
export function createEdgeApp(o: EdgeOptions): EdgeApp {
  const log = o.logger.child({ component: 'http', listener: o.listener });
  const refusals = new RefusalLog(o.listener, log, o.metrics);
  /** Sockets answered by the client-error handler (e.g. 408): their request's abort is not a second refusal. */
  const answeredAtSocket = new WeakSet<Socket>();
  const t = o.timeouts;

  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: o.bodyLimit,
    requestTimeout: t.request_timeout_ms,
    keepAliveTimeout: t.keep_alive_timeout_ms,
    connectionTimeout: t.connection_timeout_ms,
    http: { headersTimeout: t.headers_timeout_ms, connectionsCheckingInterval: checkingIntervalMs(t) },
    trustProxy: o.trustProxy && o.trustProxy.length > 0 ? [...o.trustProxy] : false,
    clientErrorHandler(err: Error & { code?: string }, socket: Socket) {
      // The client is gone (reset, or closed mid-request): nothing to answer; its request, if any, reports the abort.
      if (err.code === 'ECONNRESET' || err.code === 'HPE_INVALID_EOF_STATE' || socket.destroyed || !socket.writable) {
        socket.destroy();
        return;
      }
      const [status, reason] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'request_timeout']
        : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'headers_too_large'] : [400, 'malformed_request'];
      answeredAtSocket.add(socket);
      refusals.connection(socket.remoteAddress ?? '', status, reason);
      const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
      if (!inFlight?.headersSent) {
        const body = JSON.stringify({ error: STATUS_CODES[status] });
        socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n`
          + `X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`);
      }
      socket.destroy();
    },
  });

  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    if (reply.statusCode >= 400 && reply.statusCode < 500) refusals.request(req, reply.statusCode);
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (isAbort(err, req)) {
      if (answeredAtSocket.has(req.raw.socket)) refusals.settled(req);
      else refusals.request(req, 400, 'aborted');
      return reply.code(400).send();
    }
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) {
      log.error({ err, method: req.method, path: pathOf(req.url) }, 'request failed');
      return reply.code(status).send({ error: STATUS_CODES[status] ?? 'error' });
    }
    const reason = REASON_BY_CODE[err.code];
    if (reason) noteRefusal(req, { reason });
    if (BODY_UNREAD.has(err.code)) reply.header('connection', 'close');
    return reply.code(status).send({ error: STATUS_CODES[status] ?? 'error' });
  });

  return { app, refusals };
}

function isAbort(err: FastifyError, req: FastifyRequest): boolean {
  return err.code === 'ECONNRESET' || req.raw.aborted || req.raw.socket?.destroyed === true;
}
