/**
 * CPU time (cpu-time.ts) and memory (VmRSS) of a process from /proc (Linux). Two
 * samples give the CPU a process used over a window, as % of one core.
 */
import { readFileSync } from 'node:fs';
import { cpuMs } from './cpu-time.js';

export interface ProcessSample { pid: number; at: number; cpuMs: number; rssBytes: number }

export function sampleProcess(pid: number): ProcessSample | undefined {
  try {
    const cpu = cpuMs(pid);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
    return { pid, at: performance.now(), cpuMs: cpu, rssBytes: rssKb * 1024 };
  } catch {
    return undefined;
  }
}

/** CPU used between two samples, as % of one core. */
export function cpuPercent(a: ProcessSample | undefined, b: ProcessSample | undefined): number {
  if (!a || !b || b.at <= a.at) return NaN;
  return ((b.cpuMs - a.cpuMs) / (b.at - a.at)) * 100;
}

/** A named set of processes sampled together. */
export class ProcessGroup {
  private readonly pids = new Map<string, number>();
  add(name: string, pid: number | undefined): void { if (pid) this.pids.set(name, pid); }
  sample(): Map<string, ProcessSample | undefined> {
    return new Map([...this.pids].map(([name, pid]) => [name, sampleProcess(pid)]));
  }
  names(): string[] { return [...this.pids.keys()]; }
}

export const mb = (bytes: number): string => `${(bytes / 1_048_576).toFixed(0)}MB`;

/** p-th percentile (0..100) of unsorted values, nearest rank; NaN for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
