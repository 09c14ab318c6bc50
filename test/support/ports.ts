/**
 * Free ports on 127.0.0.1 for test processes (drachtio-server, SIPp, ...). Each helper binds port 0
 * on loopback, reads the port the kernel picked, closes the socket and returns the number. The
 * port is only "free a moment ago": callers that spawn a process on it should retry (bounded) if
 * the process fails to bind.
 */
import { createSocket } from 'node:dgram';
import { createServer, type AddressInfo } from 'node:net';

export const LOOPBACK = '127.0.0.1';

/**
 * Ports handed out in the last RECENT_MS: not handed out again. The kernel may pick the same
 * ephemeral port twice in a row while its first taker has not bound it yet (CI once got one port
 * for both of a bridge's listeners).
 */
const RECENT_MS = 60_000;
const recent = new Map<number, number>();

async function pick(bind: () => Promise<number>, usable: (port: number) => Promise<boolean> = async () => true): Promise<number> {
  const now = Date.now();
  for (const [port, at] of recent) if (now - at > RECENT_MS) recent.delete(port);
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await bind();
    if (recent.has(port) || !(await usable(port))) continue;
    recent.set(port, now);
    return port;
  }
  throw new Error('no free port on 127.0.0.1 after 50 attempts');
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
  return pick(() => bindUdp(0));
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freeTcpPort(): Promise<number> {
  return pick(() => bindTcp(0));
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
 * on `sip_listen`'s port + 1, and fails to start when that one is taken. At most 50 tries.
 */
export async function freeUdpTcpPort(): Promise<number> {
  const port = await pick(() => bindTcp(0), async (p) => p < 65_535 && !recent.has(p + 1) && (await isUdpPortFree(p)) && (await isTcpPortFree(p + 1)));
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
