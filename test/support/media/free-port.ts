/** Free UDP ports on 127.0.0.1 for test processes (each test gets its own). */
import { createSocket } from 'node:dgram';

/** A UDP port that was free a moment ago (bind to 0, read, close). */
export async function freeUdpPort(): Promise<number> {
  const sock = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, '127.0.0.1', () => resolve());
    });
    return sock.address().port;
  } finally {
    sock.close();
  }
}

async function udpPortIsFree(port: number): Promise<boolean> {
  const sock = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, '127.0.0.1', () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    try { sock.close(); } catch { /* never bound */ }
  }
}

/**
 * A private range of `size` UDP ports (default 200) for one rtpengine instance: a random
 * aligned block in 20000..59999 whose first, middle and last ports are free. At most 20 tries.
 */
export async function freeUdpPortRange(size = 200): Promise<{ min: number; max: number }> {
  const blocks = Math.floor(40_000 / size);
  for (let attempt = 0; attempt < 20; attempt++) {
    const min = 20_000 + Math.floor(Math.random() * blocks) * size;
    const max = min + size - 1;
    const probes = [min, min + Math.floor(size / 2), max];
    let free = true;
    for (const p of probes) if (!(await udpPortIsFree(p))) { free = false; break; }
    if (free) return { min, max };
  }
  throw new Error(`no free UDP port range of ${size} found after 20 attempts`);
}
