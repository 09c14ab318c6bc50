import type { Logger } from '../logging.js';

/**
 * Every timer the simulator starts goes through here, so `close()` and `/_sim/reset` can cancel them
 * all: nothing outlives the simulator.
 */
export class TimerSet {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sleepers = new Set<() => void>();
  constructor(private readonly log: Logger) {}

  /** Runs `fn` once after `ms`; errors (sync or async) are logged, never thrown. */
  set(ms: number, fn: () => void | Promise<void>): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      Promise.resolve().then(fn).catch((err: unknown) => this.log.error({ err }, 'simulator timer failed'));
    }, Math.max(0, ms));
    this.timers.add(t);
    return t;
  }

  clear(t: NodeJS.Timeout | undefined): void {
    if (!t) return;
    clearTimeout(t);
    this.timers.delete(t);
  }

  /** Resolves after `ms`, or at once when the set is cleared. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => { this.sleepers.delete(wake); this.clear(t); resolve(); };
      const t = this.set(ms, wake);
      this.sleepers.add(wake);
    });
  }

  get size(): number {
    return this.timers.size;
  }

  clearAll(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const wake of [...this.sleepers]) wake();
  }
}
