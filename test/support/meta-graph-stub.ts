import Fastify, { type FastifyInstance } from 'fastify';
import type { Socket } from 'node:net';
import { createLogger, type Logger } from '../../src/logging.js';
import { Metrics } from '../../src/metrics.js';
import { GraphClient } from '../../src/adapters/meta/graph-client.js';
import type { GraphTarget } from '../../src/adapters/meta/graph-types.js';

/** Shared fixtures for the meta-graph-*.test.ts files: a stub Graph API on 127.0.0.1:0. */

export const TOKEN = 'test-only-token-not-real-NeverLogMe-7f3a';

export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  /** Parsed JSON body, or undefined when there was none. */
  body: unknown;
  at: number;
}

export interface StubReply {
  status?: number;
  /** Objects are sent as JSON; strings as-is (text/plain unless headers say otherwise). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Never answer. */
  hang?: boolean;
  /** Drop the connection without answering. */
  destroy?: boolean;
  /** Build the reply from the request (e.g. echo the Authorization header). */
  from?: (req: SeenRequest) => StubReply;
}

export class GraphStub {
  readonly requests: SeenRequest[] = [];
  connections = 0;
  openConnections = 0;
  private readonly queue: StubReply[] = [];
  private fallback: StubReply = { status: 200, body: { success: true } };

  private constructor(private readonly app: FastifyInstance, readonly url: string) {}

  static async start(): Promise<GraphStub> {
    const app = Fastify({ forceCloseConnections: true });
    let stub: GraphStub | undefined;
    app.server.on('connection', (socket: Socket) => {
      if (!stub) return;
      stub.connections++;
      stub.openConnections++;
      socket.on('close', () => { if (stub) stub.openConnections--; });
    });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    app.all('/*', async (req, reply) => {
      const s = stub!;
      const url = new URL(req.url, 'http://stub');
      const rawBody = typeof req.body === 'string' ? req.body : '';
      const seen: SeenRequest = {
        method: req.method, path: url.pathname, query: url.searchParams, headers: req.headers,
        rawBody, body: rawBody ? JSON.parse(rawBody) : undefined, at: performance.now(),
      };
      s.requests.push(seen);
      let r = s.queue.shift() ?? s.fallback;
      if (r.from) r = r.from(seen);
      if (r.hang) return new Promise<never>(() => {});
      if (r.destroy) {
        req.raw.socket.destroy();
        return reply.hijack();
      }
      reply.code(r.status ?? 200);
      for (const [k, v] of Object.entries(r.headers ?? {})) reply.header(k, v);
      if (typeof r.body === 'string') {
        if (!r.headers?.['content-type']) reply.type('text/plain');
        return reply.send(r.body);
      }
      return reply.type('application/json').send(JSON.stringify(r.body ?? {}));
    });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    stub = new GraphStub(app, url);
    return stub;
  }

  /** Queue replies for the next requests, in order; afterwards the fallback answers. */
  reply(...replies: StubReply[]): this {
    this.queue.push(...replies);
    return this;
  }

  otherwise(reply: StubReply): this {
    this.fallback = reply;
    return this;
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}

/** A Graph error envelope (docs/whatsapp-calling.md#graph-api-basics). */
export function graphError(code: number, message: string, extra: Record<string, unknown> = {}): unknown {
  return { error: { message, type: 'OAuthException', code, fbtrace_id: `trace-${code}`, ...extra } };
}

/** A pino logger that keeps every line (as parsed JSON and as raw text) for assertions. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[]; text: () => string } {
  const raw: string[] = [];
  const logger = createLogger('debug', { write: (s: string) => { raw.push(s); } });
  return {
    logger,
    get lines() { return raw.map((l) => JSON.parse(l) as Record<string, unknown>); },
    text: () => raw.join(''),
  };
}

export interface Harness {
  stub: GraphStub;
  graph: GraphClient;
  target: GraphTarget;
  metrics: Metrics;
  log: ReturnType<typeof captureLogger>;
  close(): Promise<void>;
}

export async function startHarness(opts: { timeoutMs?: number; retryDelayMs?: number } = {}): Promise<Harness> {
  const stub = await GraphStub.start();
  const metrics = new Metrics();
  const log = captureLogger();
  const graph = new GraphClient({ baseUrl: stub.url, logger: log.logger, metrics, retryDelayMs: opts.retryDelayMs ?? 10 });
  const target: GraphTarget = {
    phoneNumberId: '123456789012345', graphVersion: 'v24.0', accessToken: TOKEN, timeoutMs: opts.timeoutMs ?? 2_000,
  };
  return {
    stub, graph, target, metrics, log,
    async close() {
      await graph.close();
      await stub.close();
    },
  };
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const app = Fastify();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  await app.close();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

/** Resolves with the rejection of `p` (fails the test if it resolves). */
export async function rejectionOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject');
}

export const SDP_OFFER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n';
export const SDP_ANSWER = 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=setup:active\r\n';
export const CALL_ID = 'wacid.HBgLNDQ3NzAwOTAwMTIzFQIAEhggQ0FMTElE_-=';
