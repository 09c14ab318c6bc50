import { describe, expect, it } from 'vitest';
import { EventLoopLag, OverloadGuard } from '../../src/calls/overload-guard.js';

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
    const lag = { ms: 0, p99Ms() { return this.ms; } };
    const g = new OverloadGuard({ maxSetupsInFlight: 0, maxEventLoopLagMs: 50, retryAfterS: 2 }, lag);
    for (let i = 0; i < 1000; i++) g.setupStarted();
    expect(g.check()).toBeUndefined();
    lag.ms = 120;
    expect(g.check()).toMatchObject({ status: 503, warning: expect.stringContaining('event loop delay 120 ms') });
    expect(new OverloadGuard({ maxSetupsInFlight: 0, maxEventLoopLagMs: 0, retryAfterS: 2 }, lag).check()).toBeUndefined();
  });
});

describe('EventLoopLag', () => {
  it('reports a blocked event loop in the next window, and a quiet one after', async () => {
    const lag = new EventLoopLag(200);
    try {
      await new Promise((r) => setTimeout(r, 250));
      const until = Date.now() + 150;
      while (Date.now() < until) { /* block the loop */ }
      const deadline = Date.now() + 2_000;
      while (lag.p99Ms() < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(lag.p99Ms()).toBeGreaterThanOrEqual(100);
      const quiet = Date.now() + 2_000;
      while (lag.p99Ms() >= 100 && Date.now() < quiet) await new Promise((r) => setTimeout(r, 20));
      expect(lag.p99Ms()).toBeLessThan(100);
    } finally {
      lag.stop();
    }
  });
});
