import { describe, expect, it } from 'vitest';
import { EventLoopLag, OverloadGuard, sustainedDelayMs } from '../../src/calls/overload-guard.js';

describe('OverloadGuard', () => {
  it('sheds at max_setups_in_flight with 503 + Retry-After, and admits again when a set-up ends (once)', () => {
    const g = new OverloadGuard({ maxSetupsInFlight: 2, maxEventLoopLagMs: 0, retryAfterS: 4 }, undefined);
    const a = g.setupStarted();
    g.setupStarted();
    expect(g.check()).toMatchObject({ status: 503, retryAfter: 4, cause: 'overload', warning: expect.stringContaining('max_setups_in_flight 2') });
    a();
    a(); // idempotent: one set-up ends once
    expect(g.setupsInFlight).toBe(1);
    expect(g.check()).toBeUndefined();
  });

  it('sheds while the event loop lags more than max_event_loop_lag_ms; 0 turns each limit off', () => {
    const lag = { ms: 0, sustainedMs() { return this.ms; } };
    const g = new OverloadGuard({ maxSetupsInFlight: 0, maxEventLoopLagMs: 50, retryAfterS: 2 }, lag);
    for (let i = 0; i < 1000; i++) g.setupStarted();
    expect(g.check()).toBeUndefined();
    lag.ms = 120;
    expect(g.check()).toMatchObject({ status: 503, warning: expect.stringContaining('event loop delay 120 ms on average for 1.5 s') });
    expect(new OverloadGuard({ maxSetupsInFlight: 0, maxEventLoopLagMs: 0, retryAfterS: 2 }, lag).check()).toBeUndefined();
  });
});

describe('sustained event-loop delay', () => {
  it('counts only a delay that lasted three windows (1.5 s): a one-second stall refuses nothing', () => {
    expect(sustainedDelayMs([60, 60])).toBe(0);
    expect(sustainedDelayMs([60, 60, 10])).toBe(10);
    expect(sustainedDelayMs([10, 60, 60, 60])).toBe(10);
    expect(sustainedDelayMs([80, 60, 70, 0])).toBe(60);
  });
});

describe('EventLoopLag', () => {
  it('reports a loop that is behind all the time, and a quiet one after; one short pause does not count', async () => {
    const lag = new EventLoopLag(200);
    const busy = (ms: number) => { const end = Date.now() + ms; while (Date.now() < end) { /* CPU-bound work */ } };
    try {
      await new Promise((r) => setTimeout(r, 250));
      busy(60); // one pause, like a GC: the window's mean stays low
      await new Promise((r) => setTimeout(r, 450));
      // Thresholds leave room for a test worker that other workers keep off the CPU for a while.
      expect(lag.sustainedMs()).toBeLessThan(25);
      // Sustained: 60 ms of work on every tick, until seen (bounded).
      const timer = setInterval(() => busy(60), 5);
      const deadline = Date.now() + 4_000;
      while (lag.sustainedMs() < 25 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      clearInterval(timer);
      expect(lag.sustainedMs()).toBeGreaterThanOrEqual(25);
      const quiet = Date.now() + 3_000;
      while (lag.sustainedMs() >= 25 && Date.now() < quiet) await new Promise((r) => setTimeout(r, 20));
      expect(lag.sustainedMs()).toBeLessThan(25);
    } finally {
      lag.stop();
    }
  });
});
