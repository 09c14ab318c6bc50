/** Free UDP ports and port ranges on 127.0.0.1 for test processes (each test gets its own). */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isUdpPortFree } from '../ports.js';

// One picker for single ports (it never hands out a port twice within a minute).
export { freeUdpPort } from '../ports.js';

/**
 * Where the kernel picks ephemeral ports (bind to port 0: WebRTC peers, RTP endpoints, phones).
 * An rtpengine range inside it can be handed the very port a peer already uses: rtpengine binds
 * with SO_REUSEADDR, so both binds succeed and packets go to whichever socket the kernel picks
 * (a test then hears nothing for seconds). Ranges are therefore taken below it.
 */
function ephemeralRange(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && high) return { low, high };
  } catch { /* not Linux: assume the kernel default */ }
  return { low: 32_768, high: 60_999 };
}

/** Reservations are lock files, one per GRANULE ports, so concurrent test processes never share ports. */
const GRANULE = 100;
const LOCK_DIR = join(tmpdir(), 'watrunk-udp-port-ranges');
const held = new Set<string>();
process.once('exit', () => { for (const f of held) try { unlinkSync(f); } catch { /* gone */ } });

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Takes the lock file of one granule; a lock left by a dead process is taken over. */
function lockGranule(start: number): string | undefined {
  const file = join(LOCK_DIR, String(start));
  for (let i = 0; i < 2; i++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      held.add(file);
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (Number.isFinite(owner) && alive(owner)) return undefined;
      try { unlinkSync(file); } catch { /* someone else took it over */ }
    }
  }
  return undefined;
}

export interface UdpPortRange { min: number; max: number; release(): void }

/**
 * A private range of `size` UDP ports (default 200) for one rtpengine (or phone): reserved with
 * lock files in the temp directory, so no other test process running now gets any of its ports,
 * and taken below the kernel's ephemeral range when it fits (20000..59999 otherwise), with its
 * first, middle and last ports free. Released by release() or when the process exits.
 */
export async function freeUdpPortRange(size = 200): Promise<UdpPortRange> {
  mkdirSync(LOCK_DIR, { recursive: true });
  const granules = Math.ceil(size / GRANULE);
  const span = granules * GRANULE;
  const eph = ephemeralRange();
  const [lo, hi] = eph.low - 10_000 >= span * 4 ? [10_000, eph.low] : [20_000, 60_000];
  const blocks = Math.floor((hi - lo) / span);
  for (let attempt = 0; attempt < 40; attempt++) {
    const min = lo + Math.floor(Math.random() * blocks) * span;
    const max = min + size - 1;
    const locks: string[] = [];
    for (let g = 0; g < granules; g++) {
      const f = lockGranule(min + g * GRANULE);
      if (!f) break;
      locks.push(f);
    }
    const release = () => { for (const f of locks) { held.delete(f); try { unlinkSync(f); } catch { /* gone */ } } };
    if (locks.length === granules) {
      let free = true;
      for (const p of [min, min + Math.floor(size / 2), max]) if (!(await isUdpPortFree(p))) { free = false; break; }
      if (free) return { min, max, release };
    }
    release();
  }
  throw new Error(`no free UDP port range of ${size} found after 40 attempts`);
}
