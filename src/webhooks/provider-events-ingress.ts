import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import { noteRefusal, redactPathsUnder } from '../http/refusals.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';

/**
 * Event ingress for providers whose callbacks carry no signature (CAMS, Concepto Móvil:
 * docs/providers.md): `POST <prefix>/<provider>/<token>`, on the public listener.
 *  - The token in the path is the secret. It is compared in constant time with every configured
 *    one (all are tried); a wrong token is answered exactly like an unknown route (404) and says
 *    nothing more. Log lines never show the token (refusals.ts redactPathsUnder).
 *  - Optionally only some source addresses are accepted (404 as well).
 *  - Only `application/json` is read; the body is parsed before the answer (an unknown shape is
 *    logged at warn once per shape, with its top-level keys, never values) and answered 200 at
 *    once: CAMS wants an answer within about 3 s and retries otherwise. The events are handed on
 *    after the answer; duplicates are the dispatcher's to drop (the same event keys as Meta's).
 */

export interface EventsPathEntry<G> {
  /** The path token (a secret). */
  token: string;
  /** Addresses and CIDR blocks events may come from; empty or absent: any. */
  allowFrom?: readonly string[];
  /** What the token stands for (the numbers sharing it); opaque here. */
  group: G;
}

export interface ParsedEvents<E> {
  events: E[];
  /** Set when the delivery (or an item of it) has no known shape: its top-level key names. */
  unknownShapeKeys?: string[];
  /** Items read but not used, for a debug line. */
  ignored: Array<{ where: string; reason: string }>;
}

export interface ProviderEventsIngressOptions<G, E> {
  provider: 'cams' | 'conceptomovil';
  /** Path prefix up to the token, with a trailing "/": "/webhooks/cams/". */
  basePath: string;
  entries: ReadonlyArray<EventsPathEntry<G>>;
  maxBodyBytes: number;
  /** Never throws (the adapters' parsers do not). */
  parse: (body: unknown, group: G) => ParsedEvents<E>;
  /** Receives the events after the 200 has been sent (receivedAt: performance.now() at arrival). Errors are logged. */
  onEvents: (events: E[], group: G, receivedAt: number) => void | Promise<void>;
  logger: Logger;
  metrics: Metrics;
}

/** Names of unknown shapes already warned about, per ingress: each shape once, bounded. */
const MAX_WARNED_SHAPES = 200;

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

function blockListOf(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return list;
}

function allowed(list: BlockList | undefined, address: string): boolean {
  if (!list) return true;
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
  const family = isIP(plain);
  return family !== 0 && list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
}

export async function registerProviderEventsIngress<G, E>(app: FastifyInstance, opts: ProviderEventsIngressOptions<G, E>): Promise<void> {
  const log = opts.logger.child({ component: 'events', provider: opts.provider });
  const entries = opts.entries.map((e) => ({
    digest: sha256(e.token), group: e.group,
    sources: e.allowFrom && e.allowFrom.length > 0 ? blockListOf(e.allowFrom) : undefined,
  }));
  const matched = new WeakMap<IncomingMessage, G>();
  const warnedShapes = new LRUCache<string, true>({ max: MAX_WARNED_SHAPES });
  const count = (outcome: string) => opts.metrics.providerEventDeliveries.inc({ provider: opts.provider, outcome });
  redactPathsUnder(opts.basePath);

  /** Every entry is compared (no early exit), so the time taken does not tell how close a guess was. */
  const entryFor = (token: string) => {
    const digest = sha256(token);
    let found: (typeof entries)[number] | undefined;
    for (const e of entries) if (timingSafeEqual(digest, e.digest)) found = e;
    return found;
  };

  const notFound = (req: FastifyRequest, reply: FastifyReply, reason: string) => {
    count(reason);
    noteRefusal(req, { reason, message: `POST ${opts.basePath}[redacted] refused: 404 ${reason}`, fields: { provider: opts.provider } });
    return reply.callNotFound();
  };

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: opts.maxBodyBytes }, (_req, body, done) => done(null, body));

    scope.post(`${opts.basePath}:token`, {
      // Before the body is read: a wrong token or source costs nothing more.
      onRequest: async (req: FastifyRequest<{ Params: { token: string } }>, reply) => {
        const entry = entryFor(req.params.token ?? '');
        if (!entry) return notFound(req, reply, 'unknown_path');
        if (!allowed(entry.sources, req.ip)) return notFound(req, reply, 'source_refused');
        matched.set(req.raw, entry.group);
        return undefined;
      },
    }, async (req, reply) => {
      const group = matched.get(req.raw);
      if (group === undefined) return reply.callNotFound();
      // Arrival: the whole request has been read; the parse is counted.
      const receivedAt = performance.now();
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        count('bad_json');
        noteRefusal(req, { reason: 'bad_json', message: `${opts.provider} events delivery is not valid JSON: 400`, fields: { provider: opts.provider, bytes: raw.length } });
        return reply.code(400).send({ error: 'malformed JSON' });
      }
      const parsed = opts.parse(body, group);
      if (parsed.unknownShapeKeys) {
        count('unknown_shape');
        const shape = parsed.unknownShapeKeys.join(',');
        if (!warnedShapes.has(shape)) {
          warnedShapes.set(shape, true);
          log.warn({ keys: parsed.unknownShapeKeys, events: parsed.events.length }, `${opts.provider} events delivery of an unknown shape: not understood (answered 200; logged once per shape)`);
        }
      } else {
        count('accepted');
      }
      if (parsed.ignored.length > 0) log.debug({ ignored: parsed.ignored.slice(0, 20) }, 'events delivery content ignored or noted');
      // The 200 first, then the events at once (as src/webhooks/ingress.ts).
      reply.code(200).send({ received: true });
      if (parsed.events.length > 0) {
        Promise.resolve()
          .then(() => opts.onEvents(parsed.events, group, receivedAt))
          .catch((err: unknown) => log.error({ err }, 'processing an events delivery failed'));
      }
      return reply;
    });
  });
}
