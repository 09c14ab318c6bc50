/**
 * CPU time of a process from /proc/<pid>/stat: utime + stime (fields 14 and 15, in clock ticks),
 * which cover every thread of the process, so a multi-threaded rtpengine is measured whole
 * (https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html). The bench's own process is read
 * the same way, so all three figures have the same resolution (one tick, 10 ms at CLK_TCK 100).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** sysconf(_SC_CLK_TCK), asked once through getconf; 100 when getconf is missing (Linux's usual value). */
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** user + system CPU time of `pid` so far, in milliseconds. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Field 2 (comm) is in parentheses and may contain spaces: count fields after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so utime (14) is rest[11] and stime (15) is rest[12].
  const ticks = Number(rest[11]) + Number(rest[12]);
  return (ticks * 1000) / clockTicks();
}

/** Number of threads of `pid` (field 20), to show how rtpengine spreads its work. */
export function threadCount(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[17]);
}


/** busy and total jiffies of all cores from /proc/stat, to tell contention from other processes (https://man7.org/linux/man-pages/man5/proc.5.html). */
export function hostJiffies(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}
