/**
 * Chooses the rtpengine for a new call: round-robin over the configured engines, skipping any that
 * does not answer `ping` (failover). A call stays on its engine (the call state lives there).
 * Ping results are cached briefly so a burst of calls does not ping once per call.
 */
import { NgError, type EngineAddress, type NgClient } from './ng-client.js';

export class EnginePool {
  private next = 0;
  private readonly health = new Map<string, { ok: boolean; at: number }>();

  constructor(
    private readonly client: NgClient,
    readonly engines: readonly EngineAddress[],
    private readonly healthTtlMs = 2_000,
  ) {
    if (engines.length === 0) throw new Error('rtpengine: at least one engine is required');
  }

  /** Pings one engine (ng `ping` → `pong`). Never throws. */
  async ping(engine: EngineAddress): Promise<boolean> {
    let ok = false;
    try {
      ok = (await this.client.send(engine, 'ping')).result === 'pong';
    } catch {
      ok = false;
    }
    this.health.set(key(engine), { ok, at: Date.now() });
    return ok;
  }

  /**
   * True when an engine answered recently (within the health TTL) or answers now. A transport error
   * on a call marks its engine down at once (markDown), so a dead engine is seen without a ping.
   */
  async anyRecentlyAlive(): Promise<boolean> {
    const now = Date.now();
    const fresh = this.engines.map((e) => this.health.get(key(e))).filter((h) => h && now - h.at < this.healthTtlMs);
    if (fresh.some((h) => h!.ok)) return true;
    if (fresh.length === this.engines.length) return false;
    return this.anyAlive();
  }

  /** True when any engine answers. */
  async anyAlive(): Promise<boolean> {
    const results = await Promise.all(this.engines.map((e) => this.ping(e)));
    return results.some(Boolean);
  }

  /** The engine for a new call; throws when none answers. Tries each engine at most once. */
  async pick(): Promise<EngineAddress> {
    const n = this.engines.length;
    const start = this.next;
    this.next = (this.next + 1) % n;
    for (let i = 0; i < n; i++) {
      const engine = this.engines[(start + i) % n]!;
      const cached = this.health.get(key(engine));
      if (cached && Date.now() - cached.at < this.healthTtlMs) {
        if (cached.ok) return engine;
        continue;
      }
      if (await this.ping(engine)) return engine;
    }
    throw new NgError('ping', this.engines[start]!, `none of ${n} rtpengine(s) answered ping`, 'transport');
  }

  /** Marks an engine as failed (e.g. after a transport error) so new calls avoid it for a while. */
  markDown(engine: EngineAddress): void {
    this.health.set(key(engine), { ok: false, at: Date.now() });
  }
}

function key(e: EngineAddress): string {
  return `${e.host}:${e.port}`;
}
