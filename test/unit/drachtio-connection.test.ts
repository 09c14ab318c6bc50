import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DrachtioConnection } from '../../src/adapters/drachtio/drachtio-connection.js';
import type { SrfLike } from '../../src/adapters/drachtio/srf-types.js';
import { createLogger } from '../../src/logging.js';
import { Metrics } from '../../src/metrics.js';

/**
 * The app connection to drachtio-server when the server is down or flapping: attempts back off
 * with growth (a flapping server must not be hammered every 255 ms), one warn per outage, info on
 * recovery. drachtio-srf is replaced by a fake that records connect() calls.
 */

class FakeSrf extends EventEmitter {
  readonly attempts: number[] = [];
  disconnects = 0;
  connect(): void { this.attempts.push(Date.now()); }
  disconnect(): void { this.disconnects++; }
  /** drachtio-server not listening: socket error, then close. */
  refuse(): void { this.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:9022')); this.emit('close'); }
  accept(): void { this.emit('connect', null, 'udp/127.0.0.1:5060', 'v0.9.2'); }
  drop(): void { this.emit('close'); }
}

function setup() {
  const lines: Array<{ level: string; msg: string } & Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk, _e, cb) { lines.push(JSON.parse(String(chunk))); cb(); } });
  const srf = new FakeSrf();
  const metrics = new Metrics();
  const conn = new DrachtioConnection(
    { host: '127.0.0.1', port: 9022, secret: 'cymru-secret' },
    { logger: createLogger('debug', sink as unknown as Parameters<typeof createLogger>[1]), metrics, srf: srf as unknown as SrfLike },
  );
  const atLeastInfo = () => lines.filter((l) => l.level !== 'debug' && l.level !== 'trace');
  const gauge = async () => (await metrics.dependencyUp.get()).values.find((v) => v.labels.dependency === 'drachtio')?.value;
  /** Runs timers until the next connect() (or `limitMs`), returns the delay since the previous one. */
  const nextAttempt = async (limitMs = 120_000) => {
    const before = srf.attempts.length;
    const from = srf.attempts.at(-1)!;
    for (let waited = 0; srf.attempts.length === before && waited < limitMs; waited += 50) await vi.advanceTimersByTimeAsync(50);
    return srf.attempts.length === before ? undefined : srf.attempts.at(-1)! - from;
  };
  return { srf, conn, lines, atLeastInfo, gauge, nextAttempt };
}

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

describe('DrachtioConnection: drachtio-server down or flapping', () => {
  it('down from the start: attempts back off 0.5 s, 1 s, 2 s … capped at 30 s; one warn for the whole outage', async () => {
    const { srf, conn, atLeastInfo, nextAttempt } = setup();
    conn.start();
    expect(srf.attempts).toHaveLength(1);
    const delays: Array<number | undefined> = [];
    for (let i = 0; i < 9; i++) {
      srf.refuse();
      delays.push(await nextAttempt());
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
    const warns = atLeastInfo();
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ level: 'warn', component: 'drachtio', host: '127.0.0.1', port: 9022 });
    expect(warns[0]!.msg).toMatch(/cannot reach drachtio-server/);
    expect(JSON.stringify(warns)).not.toContain('cymru-secret');
    expect(conn.readiness()).toMatchObject({ ok: false, detail: expect.stringContaining('ECONNREFUSED') });
    conn.stop();
  });

  it('recovery: one info line saying how long it was down, readiness and the gauge up', async () => {
    const { srf, conn, atLeastInfo, gauge, nextAttempt } = setup();
    conn.start();
    srf.refuse();
    await nextAttempt();
    srf.refuse();
    await nextAttempt();
    srf.accept();
    const lines = atLeastInfo();
    expect(lines.map((l) => l.level)).toEqual(['warn', 'info']);
    expect(lines[1]).toMatchObject({ msg: expect.stringMatching(/connected to drachtio-server/), attempts: 3, downForMs: 1500 });
    expect(conn.connected).toBe(true);
    expect(conn.readiness().ok).toBe(true);
    expect(await gauge()).toBe(1);
    conn.stop();
  });

  it('flapping (accepts, drops within a second): the back-off keeps growing and stays one outage', async () => {
    const { srf, conn, atLeastInfo, nextAttempt } = setup();
    conn.start();
    srf.accept();
    const delays: Array<number | undefined> = [];
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(200);
      srf.drop();
      delays.push(await nextAttempt());
      srf.accept();
    }
    // Measured from connect() to connect(): 200 ms up, then the growing delay.
    expect(delays).toEqual([700, 1200, 2200, 4200, 8200]);
    expect(atLeastInfo().filter((l) => l.level === 'warn')).toHaveLength(1);
    conn.stop();
  });

  it('losing a connection that had been stable: back-off starts again at 0.5 s, and it is a new outage (one more warn)', async () => {
    const { srf, conn, atLeastInfo, nextAttempt } = setup();
    conn.start();
    srf.refuse();
    await nextAttempt();
    srf.refuse();
    await nextAttempt();
    srf.accept();
    await vi.advanceTimersByTimeAsync(60_000);
    srf.drop();
    expect(await nextAttempt()).toBe(60_500);
    const warns = atLeastInfo().filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(2);
    expect(warns[1]!.msg).toMatch(/lost the drachtio-server connection/);
    conn.stop();
  });

  it('a wrong secret is logged once per outage at error, naming the key, never the secret', async () => {
    const { srf, conn, lines, nextAttempt } = setup();
    conn.start();
    for (let i = 0; i < 4; i++) {
      srf.emit('connect', new Error('failed to authenticate to server'));
      srf.drop();
      await nextAttempt();
    }
    const errors = lines.filter((l) => l.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.msg).toContain('drachtio.secret_env');
    expect(JSON.stringify(lines)).not.toContain('cymru-secret');
    conn.stop();
  });

  it('stop(): no attempt after it, even with one scheduled', async () => {
    const { srf, conn, nextAttempt } = setup();
    conn.start();
    srf.refuse();
    conn.stop();
    expect(await nextAttempt(60_000)).toBeUndefined();
    expect(srf.attempts).toHaveLength(1);
  });
});
