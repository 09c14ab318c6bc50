/**
 * Blocks of loopback ports reserved for one test process. Every port a test hands to a process it
 * starts (drachtio-server, rtpengine's range, SIPp, a phone, Kamailio) comes from such a block:
 *  - below the kernel's ephemeral range, so nothing that binds port 0 or connects out (WebRTC
 *    peers, RTP endpoints, HTTP servers and clients, any process on the machine) is ever given
 *    one of them by the kernel between the moment a port was found free and the moment its taker
 *    binds it. rtpengine binds with SO_REUSEADDR, so such a collision does not even fail: packets
 *    go to whichever socket the kernel picks, and a test hears nothing for seconds;
 *  - reserved with a lock file per block in the temp directory, so concurrent test processes
 *    (the unit tier's workers, a benchmark next to a test run) never share one.
 * A lock left by a dead process is taken over.
 */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessExit } from './exit-guard.js';

/** Where the kernel picks ephemeral ports (bind to port 0, outgoing connections). */
export function ephemeralRange(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && high) return { low, high };
  } catch { /* not Linux: assume the kernel default */ }
  return { low: 32_768, high: 60_999 };
}

/** Reservations are lock files, one per GRANULE ports. */
export const GRANULE = 100;
const LOCK_DIR = join(tmpdir(), 'watrunk-udp-port-ranges');
/**
 * Lock files this process holds. Kept on globalThis: vitest evaluates this module afresh for every
 * test file of a worker, and one set (with one exit hook) per process is what the locks mean.
 */
const held: Set<string> = ((globalThis as Record<symbol, unknown>)[Symbol.for('watrunk.test.portLocks')] ??= (() => {
  const files = new Set<string>();
  onProcessExit(() => { for (const f of files) try { unlinkSync(f); } catch { /* gone */ } });
  return files;
})()) as Set<string>;

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

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

export interface PortBlock { min: number; max: number; release(): void }

/**
 * `size` consecutive ports reserved for this process, below the ephemeral range when it leaves
 * room (20000..59999 otherwise). `usable` vets a candidate block (e.g. its ports are not bound by
 * something outside the test run). Released by release() or when the process exits.
 */
export async function reservePortBlock(size: number, usable: (b: { min: number; max: number }) => Promise<boolean> = async () => true): Promise<PortBlock> {
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
    if (locks.length === granules && (await usable({ min, max }))) return { min, max, release };
    release();
  }
  throw new Error(`no free block of ${size} loopback ports found after 40 attempts`);
}
