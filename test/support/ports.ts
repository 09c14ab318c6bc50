/**
 * Free ports on 127.0.0.1 for test processes (drachtio-server, SIPp, phones, ...). Ports come from
 * blocks reserved for this process below the kernel's ephemeral range (port-blocks.ts): a port
 * found free here is not handed by the kernel to anything else (a port-0 bind, an outgoing
 * connection) before its taker binds it, and no other test process picks it. A port is "free"
 * when it can be bound right now; callers that spawn a process on it still retry (bounded) if the
 * process fails to bind.
 */
import { createSocket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';
import { reservePortBlock } from './port-blocks.js';

export const LOOPBACK = '127.0.0.1';

/** Ports handed out in the last RECENT_MS are not handed out again (their taker may not have bound them yet). */
const RECENT_MS = 60_000;
/** Ports per reserved block. */
const BLOCK_SIZE = 100;
/**
 * The ports handed out lately and this process's blocks, walked in order from `cursor`. Per
 * process, not per module instance: vitest evaluates this module afresh for every test file of a worker.
 */
const state = ((globalThis as Record<symbol, unknown>)[Symbol.for('watrunk.test.ports')] ??= {
  recent: new Map<number, number>(),
  blocks: [] as { min: number; max: number }[],
  cursor: 0,
}) as { recent: Map<number, number>; blocks: { min: number; max: number }[]; cursor: number };
const { recent, blocks } = state;

/** Whether `port` lies in one of this process's blocks. */
function ours(port: number): boolean {
  return blocks.some((b) => port >= b.min && port <= b.max);
}

async function pick(usable: (port: number) => Promise<boolean>): Promise<number> {
  const now = Date.now();
  for (const [port, at] of recent) if (now - at > RECENT_MS) recent.delete(port);
  for (let round = 0; round < 3; round++) {
    const total = blocks.length * BLOCK_SIZE;
    for (let n = 0; n < total; n++) {
      const i = (state.cursor + n) % total;
      const block = blocks[Math.floor(i / BLOCK_SIZE)]!;
      const port = block.min + (i % BLOCK_SIZE);
      if (recent.has(port) || !(await usable(port))) continue;
      state.cursor = (i + 1) % total;
      recent.set(port, now);
      return port;
    }
    blocks.push(await reservePortBlock(BLOCK_SIZE));
    state.cursor = total;
  }
  throw new Error('no free port on 127.0.0.1 in three reserved blocks');
}

/** Binds a UDP socket on 127.0.0.1:`port` (0 = any), returns the bound port, closes the socket. */
async function bindUdp(port: number): Promise<number> {
  const sock = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, LOOPBACK, () => resolve());
    });
    return sock.address().port;
  } finally {
    try { sock.close(); } catch { /* never bound */ }
  }
}

/** Listens on TCP 127.0.0.1:`port` (0 = any), returns the bound port, closes the server. */
async function bindTcp(port: number): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen({ port, host: LOOPBACK, exclusive: true }, () => resolve());
  });
  const bound = (srv.address() as AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return bound;
}

/** A UDP port on 127.0.0.1 that was free a moment ago. */
export function freeUdpPort(): Promise<number> {
  return pick(isUdpPortFree);
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freeTcpPort(): Promise<number> {
  return pick(isTcpPortFree);
}

/** True if `port` can be bound on 127.0.0.1 right now for UDP. */
export async function isUdpPortFree(port: number): Promise<boolean> {
  try { await bindUdp(port); return true; } catch { return false; }
}

/** True if `port` can be bound on 127.0.0.1 right now for TCP. */
export async function isTcpPortFree(port: number): Promise<boolean> {
  try { await bindTcp(port); return true; } catch { return false; }
}

/**
 * A port number free on 127.0.0.1 for both UDP and TCP (e.g. a SIP listener with
 * `transport=udp,tcp`), whose next port is free for TCP too: baresip also listens for SIP over TLS
 * on `sip_listen`'s port + 1, and fails to start when that one is taken.
 */
export async function freeUdpTcpPort(): Promise<number> {
  const port = await pick(async (p) => ours(p + 1) && !recent.has(p + 1) && (await isTcpPortFree(p)) && (await isUdpPortFree(p)) && (await isTcpPortFree(p + 1)));
  recent.set(port + 1, Date.now());
  return port;
}

/** `count` distinct ports, each free on both UDP and TCP. */
export async function freeUdpTcpPorts(count: number): Promise<number[]> {
  const out = new Set<number>();
  for (let attempt = 0; out.size < count && attempt < count * 20; attempt++) {
    out.add(await freeUdpTcpPort());
  }
  if (out.size < count) throw new Error(`could not find ${count} distinct free UDP+TCP ports`);
  return [...out];
}
