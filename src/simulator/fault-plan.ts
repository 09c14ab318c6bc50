import { z } from 'zod';
import { seededRandom } from './ids.js';

/**
 * Which faults hit the next webhook or Graph request. Two sources: configured rates (drawn from
 * seeded generators, so a run is reproducible) and one-off requests from `POST /_sim/faults` that
 * apply to the next N webhooks (optionally only to one kind) or the next N `/calls` requests
 * (optionally only to one action). Meta's webhooks are neither exactly-once nor ordered, and may
 * arrive long after the event (docs/whatsapp-calling.md#delivery); the Graph API can fail, be slow
 * or drop the connection (docs/whatsapp-calling.md#error-codes, #retries). These faults let a
 * bridge prove it copes.
 */

export type WebhookKind = 'connect' | 'status' | 'terminate' | 'permission_reply';

export const GRAPH_CALL_ACTIONS = ['connect', 'pre_accept', 'accept', 'reject', 'terminate'] as const;
export type GraphCallAction = (typeof GRAPH_CALL_ACTIONS)[number];

export interface FaultRates {
  duplicate_rate: number;
  reorder_rate: number;
  drop_rate: number;
  delay_ms: number;
  /** Share of webhooks whose timestamps say they are `late_by_s` old (held back by retries). */
  late_rate?: number;
  late_by_s?: number;
  /** Share of `/calls` requests (of `graph_error_actions`) answered HTTP 500, code 1, not carried out. */
  graph_error_rate?: number;
  graph_error_actions?: readonly GraphCallAction[];
}

/**
 * A one-off Graph fault for the next `count` `/calls` requests (of `action`, or any):
 *  error  Graph's error envelope with `code` (default 1) and HTTP `status` (default: Meta's for the code)
 *  hang   no answer: the connection is closed after `hang_ms` (the client times out first)
 *  reset  the connection is closed at once, without an answer
 * `applied`: the action is carried out first and only its answer is lost or replaced (Meta did it,
 * the business does not know). Otherwise the request fails before it has any effect.
 */
export const graphFaultSchema = z.object({
  action: z.enum(GRAPH_CALL_ACTIONS).optional(),
  fault: z.enum(['error', 'hang', 'reset']),
  status: z.number().int().min(400).max(599).optional(),
  code: z.number().int().min(1).optional(),
  count: z.number().int().min(1).max(10_000).default(1),
  applied: z.boolean().default(false),
  hang_ms: z.number().int().min(0).max(600_000).default(30_000),
}).strict();
export type GraphFault = z.infer<typeof graphFaultSchema>;

export const faultRequestSchema = z.object({
  duplicate_next: z.number().int().min(0).max(10_000).optional(),
  drop_next: z.number().int().min(0).max(10_000).optional(),
  delay_next_ms: z.number().int().min(0).max(600_000).optional(),
  /** How many webhooks delay_next_ms applies to (default 1). */
  delay_next: z.number().int().min(1).max(10_000).optional(),
  reorder_next: z.union([z.boolean(), z.number().int().min(0).max(10_000)]).optional(),
  /** The next N webhooks carry timestamps `late_by_s` in the past (default 600 s). */
  late_next: z.number().int().min(0).max(10_000).optional(),
  late_by_s: z.number().int().min(1).max(7 * 24 * 3600).optional(),
  /** Only webhooks of this kind are affected by this request. */
  kind: z.enum(['connect', 'status', 'terminate', 'permission_reply']).optional(),
  /** Faults for the next Graph `/calls` requests. */
  graph: z.union([graphFaultSchema, z.array(graphFaultSchema).max(20)]).optional(),
}).strict();
export type FaultRequest = z.input<typeof faultRequestSchema>;

export interface FaultDecision {
  drop: boolean;
  duplicate: boolean;
  reorder: boolean;
  delayMs: number;
  /** Shift the webhook's timestamps this far into the past (0: none). */
  lateByS: number;
}

export interface GraphFaultDecision {
  fault: 'error' | 'hang' | 'reset';
  status?: number;
  code?: number;
  applied: boolean;
  hangMs: number;
}

type WebhookFaultType = 'duplicate' | 'drop' | 'delay' | 'reorder' | 'late';
interface Pending { type: WebhookFaultType; remaining: number; value: number; kind?: WebhookKind }
interface PendingGraph { fault: GraphFault; remaining: number }

export class FaultPlan {
  private random: () => number;
  private graphRandom: () => number;
  private pending: Pending[] = [];
  private pendingGraph: PendingGraph[] = [];

  constructor(private readonly rates: FaultRates, private readonly seed: number) {
    this.random = seededRandom(seed ^ 0x5eed);
    // A generator of its own: Graph faults never shift the webhook draws of a seeded run.
    this.graphRandom = seededRandom(seed ^ 0x9a9f);
  }

  inject(input: FaultRequest): void {
    const req = faultRequestSchema.parse(input);
    const add = (type: WebhookFaultType, n: number | undefined, value = 0) => {
      if (n && n > 0) this.pending.push({ type, remaining: n, value, ...(req.kind ? { kind: req.kind } : {}) });
    };
    add('duplicate', req.duplicate_next);
    add('drop', req.drop_next);
    if (req.delay_next_ms) add('delay', req.delay_next ?? 1, req.delay_next_ms);
    add('reorder', req.reorder_next === true ? 1 : req.reorder_next === false ? 0 : req.reorder_next);
    add('late', req.late_next, req.late_by_s ?? 600);
    const graph = req.graph === undefined ? [] : Array.isArray(req.graph) ? req.graph : [req.graph];
    for (const fault of graph) this.pendingGraph.push({ fault, remaining: fault.count });
  }

  private take(type: WebhookFaultType, kind: WebhookKind): Pending | undefined {
    const p = this.pending.find((x) => x.type === type && x.remaining > 0 && (!x.kind || x.kind === kind));
    if (!p) return undefined;
    p.remaining -= 1;
    this.pending = this.pending.filter((x) => x.remaining > 0);
    return p;
  }

  /** A draw happens only for a non-zero rate, so enabling one rate does not shift the others' draws. */
  private draw(rate: number | undefined, random = this.random): boolean {
    return rate !== undefined && rate > 0 && random() < rate;
  }

  decide(kind: WebhookKind): FaultDecision {
    const drop = !!this.take('drop', kind) || this.draw(this.rates.drop_rate);
    if (drop) return { drop: true, duplicate: false, reorder: false, delayMs: 0, lateByS: 0 };
    const duplicate = !!this.take('duplicate', kind) || this.draw(this.rates.duplicate_rate);
    const reorder = !!this.take('reorder', kind) || this.draw(this.rates.reorder_rate);
    const delayMs = (this.take('delay', kind)?.value ?? 0) + this.rates.delay_ms;
    const late = this.take('late', kind)?.value ?? (this.draw(this.rates.late_rate) ? this.rates.late_by_s ?? 600 : 0);
    return { drop, duplicate, reorder, delayMs, lateByS: late };
  }

  /** The fault for one `/calls` request, if any: a one-off first, else the configured rate. */
  decideGraph(action: GraphCallAction): GraphFaultDecision | undefined {
    const p = this.pendingGraph.find((x) => x.remaining > 0 && (!x.fault.action || x.fault.action === action));
    if (p) {
      p.remaining -= 1;
      this.pendingGraph = this.pendingGraph.filter((x) => x.remaining > 0);
      const f = p.fault;
      return {
        fault: f.fault, applied: f.applied, hangMs: f.hang_ms,
        ...(f.status !== undefined ? { status: f.status } : {}), ...(f.code !== undefined ? { code: f.code } : {}),
      };
    }
    const actions = this.rates.graph_error_actions ?? GRAPH_CALL_ACTIONS;
    if (actions.includes(action) && this.draw(this.rates.graph_error_rate, this.graphRandom)) {
      return { fault: 'error', status: 500, code: 1, applied: false, hangMs: 0 };
    }
    return undefined;
  }

  /** What one-off faults are still waiting, for the control API. */
  describe(): Array<Record<string, unknown>> {
    return [
      ...this.pending.map((p) => ({
        type: p.type, remaining: p.remaining,
        ...(p.type === 'delay' ? { delay_ms: p.value } : {}),
        ...(p.type === 'late' ? { late_by_s: p.value } : {}),
        ...(p.kind ? { kind: p.kind } : {}),
      })),
      ...this.pendingGraph.map((p) => {
        const { count: _count, ...fault } = p.fault;
        return { type: 'graph', remaining: p.remaining, ...fault };
      }),
    ];
  }

  reset(): void {
    this.pending = [];
    this.pendingGraph = [];
    this.random = seededRandom(this.seed ^ 0x5eed);
    this.graphRandom = seededRandom(this.seed ^ 0x9a9f);
  }
}
