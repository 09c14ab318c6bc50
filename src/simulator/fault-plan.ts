import { z } from 'zod';
import { seededRandom } from './ids.js';

/**
 * Which delivery faults hit the next webhook. Two sources: configured rates (drawn from a seeded
 * generator, so a run is reproducible) and one-off requests from `POST /_sim/faults` that apply to
 * the next N webhooks (optionally only to one kind). Meta's webhooks are neither exactly-once nor
 * ordered (docs/whatsapp-calling.md#delivery); these faults let a bridge prove it copes.
 */

export type WebhookKind = 'connect' | 'status' | 'terminate' | 'permission_reply';

export interface FaultRates {
  duplicate_rate: number;
  reorder_rate: number;
  drop_rate: number;
  delay_ms: number;
}

export const faultRequestSchema = z.object({
  duplicate_next: z.number().int().min(0).max(10_000).optional(),
  drop_next: z.number().int().min(0).max(10_000).optional(),
  delay_next_ms: z.number().int().min(0).max(600_000).optional(),
  /** How many webhooks delay_next_ms applies to (default 1). */
  delay_next: z.number().int().min(1).max(10_000).optional(),
  reorder_next: z.union([z.boolean(), z.number().int().min(0).max(10_000)]).optional(),
  /** Only webhooks of this kind are affected by this request. */
  kind: z.enum(['connect', 'status', 'terminate', 'permission_reply']).optional(),
}).strict();
export type FaultRequest = z.infer<typeof faultRequestSchema>;

export interface FaultDecision {
  drop: boolean;
  duplicate: boolean;
  reorder: boolean;
  delayMs: number;
}

interface Pending { type: 'duplicate' | 'drop' | 'delay' | 'reorder'; remaining: number; delayMs: number; kind?: WebhookKind }

export class FaultPlan {
  private random: () => number;
  private pending: Pending[] = [];

  constructor(private readonly rates: FaultRates, private readonly seed: number) {
    this.random = seededRandom(seed ^ 0x5eed);
  }

  inject(req: FaultRequest): void {
    const add = (type: Pending['type'], n: number | undefined, delayMs = 0) => {
      if (n && n > 0) this.pending.push({ type, remaining: n, delayMs, ...(req.kind ? { kind: req.kind } : {}) });
    };
    add('duplicate', req.duplicate_next);
    add('drop', req.drop_next);
    if (req.delay_next_ms) add('delay', req.delay_next ?? 1, req.delay_next_ms);
    add('reorder', req.reorder_next === true ? 1 : req.reorder_next === false ? 0 : req.reorder_next);
  }

  private take(type: Pending['type'], kind: WebhookKind): Pending | undefined {
    const p = this.pending.find((x) => x.type === type && x.remaining > 0 && (!x.kind || x.kind === kind));
    if (!p) return undefined;
    p.remaining -= 1;
    this.pending = this.pending.filter((x) => x.remaining > 0);
    return p;
  }

  /** A draw happens only for a non-zero rate, so enabling one rate does not shift the others' draws. */
  private draw(rate: number): boolean {
    return rate > 0 && this.random() < rate;
  }

  decide(kind: WebhookKind): FaultDecision {
    const drop = !!this.take('drop', kind) || this.draw(this.rates.drop_rate);
    if (drop) return { drop: true, duplicate: false, reorder: false, delayMs: 0 };
    const duplicate = !!this.take('duplicate', kind) || this.draw(this.rates.duplicate_rate);
    const reorder = !!this.take('reorder', kind) || this.draw(this.rates.reorder_rate);
    const delayMs = (this.take('delay', kind)?.delayMs ?? 0) + this.rates.delay_ms;
    return { drop, duplicate, reorder, delayMs };
  }

  /** What one-off faults are still waiting, for the control API. */
  describe(): Array<{ type: string; remaining: number; delay_ms?: number; kind?: string }> {
    return this.pending.map((p) => ({
      type: p.type, remaining: p.remaining,
      ...(p.type === 'delay' ? { delay_ms: p.delayMs } : {}),
      ...(p.kind ? { kind: p.kind } : {}),
    }));
  }

  reset(): void {
    this.pending = [];
    this.random = seededRandom(this.seed ^ 0x5eed);
  }
}
