import type { Server } from 'node:http';
import { BlockList, isIP, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { LRUCache } from 'lru-cache';
import { TokenBucket } from '../calls/rate-limiter.js';
import { noteRefusal, type RefusalLog } from './refusals.js';

/** Per-address limits of the public listener: what one client on the Internet may hold and send. */

/** "::ffff:192.0.2.1" (an IPv4 client on a dual-stack socket) → "192.0.2.1". */
function plainAddress(address: string): string {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : undefined;
  return v4 !== undefined && isIP(v4) === 4 ? v4 : address;
}

/** Addresses and CIDR blocks (config `http.trust_proxy`) as a BlockList for fast membership tests. */
export function addressSet(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return list;
}

function contains(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * At most `max` open connections per client address; one more is closed at once, before Node's
 * HTTP parser sees a byte of it. Addresses in `exempt` (trusted reverse proxies, which carry many
 * clients) are not limited here.
 */
export function limitConnectionsPerAddress(server: Server, opts: { max: number; exempt: BlockList; refusals: RefusalLog }): void {
  const open = new Map<string, number>();
  server.prependListener('connection', (socket: Socket) => {
    const address = plainAddress(socket.remoteAddress ?? '');
    if (contains(opts.exempt, address)) return;
    const count = (open.get(address) ?? 0) + 1;
    if (count > opts.max) {
      socket.destroy();
      opts.refusals.connection(address, undefined, 'too_many_connections');
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}

/**
 * A token bucket per client address (the X-Forwarded-For client behind a trusted proxy): `burst`
 * requests at once, `perSecond` sustained; beyond that 429 with Retry-After, before the body is read.
 */
export function limitRequestRatePerAddress(app: FastifyInstance, opts: { perSecond: number; burst: number }): void {
  // An idle bucket is full again after burst/perSecond seconds: forgetting it then changes nothing.
  const idleMs = Math.ceil((opts.burst / opts.perSecond) * 1000) + 1000;
  const buckets = new LRUCache<string, TokenBucket>({ max: 10_000, ttl: idleMs, updateAgeOnGet: true });
  const retryAfterS = String(Math.max(1, Math.ceil(1 / opts.perSecond)));
  app.addHook('onRequest', async (req, reply) => {
    const address = plainAddress(req.ip);
    let bucket = buckets.get(address);
    if (!bucket) {
      bucket = new TokenBucket(opts.perSecond, opts.burst);
      buckets.set(address, bucket);
    }
    if (bucket.tryTake()) return undefined;
    noteRefusal(req, { reason: 'rate_limited' });
    return reply.code(429).header('retry-after', retryAfterS).header('connection', 'close').send({ error: 'Too Many Requests' });
  });
}
