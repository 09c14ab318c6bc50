import { createHmac } from 'node:crypto';
import { Agent, request } from 'undici';
import type { Logger } from '../logging.js';
import type { FaultPlan, WebhookKind } from './fault-plan.js';
import type { TimerSet } from './timer-set.js';

/**
 * Delivers webhooks to the bridge like Meta (docs/whatsapp-calling.md#delivery): POST, `Content-Type: application/json`,
 * `X-Hub-Signature-256: sha256=<HMAC-SHA256(raw body, app secret)>` over the exact bytes sent.
 * Non-2xx answers and timeouts are retried a bounded number of times. Deliveries to one URL go out
 * one after another on `concurrency` lanes; a call's webhooks always share a lane, so without faults
 * they arrive in the order they were produced (with one lane, all webhooks do). Faults (drop /
 * duplicate / delay / reorder, see fault-plan.ts) break that order on purpose.
 */

export function signWebhookBody(raw: Buffer | string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(raw).digest('hex')}`;
}

/** Meta escapes non-ASCII characters as \uXXXX in the payload it signs (docs/whatsapp-calling.md#delivery). */
export function serialiseLikeMeta(payload: unknown): Buffer {
  const json = JSON.stringify(payload).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return Buffer.from(json, 'utf8');
}

/**
 * A copy of the payload whose event timestamps lie `seconds` in the past: what a webhook looks like
 * when Meta delivers it after retrying for that long (docs/whatsapp-calling.md#delivery).
 */
export function backdated(payload: unknown, seconds: number): unknown {
  const copy = structuredClone(payload) as { entry?: Array<{ changes?: Array<{ value?: Record<string, unknown> }> }> };
  for (const entry of copy.entry ?? []) {
    for (const change of entry.changes ?? []) {
      for (const list of ['calls', 'statuses', 'messages']) {
        const items = change.value?.[list];
        if (!Array.isArray(items)) continue;
        for (const item of items as Array<Record<string, unknown>>) {
          for (const key of ['timestamp', 'start_time', 'end_time']) {
            const ts = Number(item[key]);
            if (item[key] !== undefined && Number.isFinite(ts)) item[key] = String(ts - seconds);
          }
        }
      }
    }
  }
  return copy;
}

export interface WebhookTarget {
  url: string;
  appSecret: string;
  /** Another provider's event format and headers (dialects/webhook-shapes.ts); absent: Meta's. */
  shape?: WebhookShape;
}

/** How a dialect sends what Meta would send as a webhook. */
export interface WebhookShape {
  /** The body for a Meta-shaped payload; undefined when the dialect sends no such event. */
  body(payload: unknown): unknown;
  /** Headers for the serialised body, instead of Meta's signature header. */
  headers(raw: Buffer): Record<string, string>;
}

export interface DeliveryRecord {
  seq: number;
  kind: WebhookKind;
  /** e.g. "connect", "status:RINGING", "terminate:COMPLETED", "permission_reply:accept" */
  summary: string;
  callId?: string;
  url: string;
  createdAt: number;
  outcome: 'pending' | 'delivered' | 'failed' | 'dropped';
  /** HTTP attempts over all copies; 0 in httpStatuses marks a timeout or network error. */
  attempts: number;
  httpStatuses: number[];
  /** Copies that reached a 2xx (2 when duplicated). */
  copiesDelivered: number;
  faults: string[];
  deliveredAt?: number;
  error?: string;
}

export interface WebhookDeliveryOptions {
  timeoutMs: number;
  maxAttempts: number;
  retryDelayMs: number;
  /** Parallel delivery lanes per URL (1 = strictly in order). */
  concurrency: number;
  reorderMaxHoldMs: number;
  /** Delivery records kept for /_sim/webhooks (oldest dropped first). */
  keep: number;
  faults: FaultPlan;
  timers: TimerSet;
  clock: () => number;
  log: Logger;
}

interface Job { target: WebhookTarget; raw: Buffer; signature: string; record: DeliveryRecord; copies: number; headers?: Record<string, string> }

export class WebhookDelivery {
  private readonly queues = new Map<string, Promise<void>>();
  private readonly held = new Map<string, Array<() => void>>();
  private readonly agent: Agent;
  /** Requests on the wire, aborted by close(). */
  private readonly inFlight = new Set<AbortController>();
  private readonly slots = new Map<string, { busy: number; waiting: (() => void)[] }>();
  private readonly log: Logger;
  private scheduled = 0;
  private seq = 0;
  private closed = false;
  readonly records: DeliveryRecord[] = [];

  constructor(private readonly opts: WebhookDeliveryOptions) {
    this.log = opts.log.child({ component: 'sim-webhooks' });
    this.agent = new Agent({ connections: Math.max(4, opts.concurrency * 2), keepAliveTimeout: 1_000 });
  }

  /** Busy delivery lanes plus webhooks delayed or held right now (0 = idle). */
  get pending(): number {
    return this.queues.size + this.scheduled;
  }

  /** Serialises, signs and schedules one webhook. The returned record is updated as delivery proceeds. */
  send(target: WebhookTarget, payload: unknown, info: { kind: WebhookKind; summary: string; callId?: string }): DeliveryRecord {
    const decision = this.opts.faults.decide(info.kind);
    const late = decision.lateByS > 0 ? backdated(payload, decision.lateByS) : payload;
    const shaped = target.shape ? target.shape.body(late) : late;
    const raw = serialiseLikeMeta(shaped ?? null);
    const record: DeliveryRecord = {
      seq: ++this.seq, kind: info.kind, summary: info.summary, url: target.url, createdAt: this.opts.clock(),
      outcome: 'pending', attempts: 0, httpStatuses: [], copiesDelivered: 0, faults: [],
      ...(info.callId ? { callId: info.callId } : {}),
    };
    this.records.push(record);
    if (this.records.length > this.opts.keep) this.records.splice(0, this.records.length - this.opts.keep);
    if (decision.drop || this.closed || shaped === undefined) {
      record.outcome = 'dropped';
      if (decision.drop) record.faults.push('drop');
      if (shaped === undefined) record.error = 'no such event in this dialect';
      this.log.debug({ seq: record.seq, summary: record.summary }, 'webhook dropped (fault)');
      return record;
    }
    if (decision.duplicate) record.faults.push('duplicate');
    if (decision.delayMs > 0) record.faults.push(`delay:${decision.delayMs}`);
    if (decision.reorder) record.faults.push('reorder');
    if (decision.lateByS > 0) record.faults.push(`late:${decision.lateByS}s`);
    const job: Job = target.shape
      ? { target, raw, signature: '', headers: target.shape.headers(raw), record, copies: decision.duplicate ? 2 : 1 }
      : { target, raw, signature: signWebhookBody(raw, target.appSecret), record, copies: decision.duplicate ? 2 : 1 };
    const dispatch = () => (decision.reorder ? this.hold(job) : this.enqueue(job, true));
    if (decision.delayMs > 0) {
      this.scheduled += 1;
      this.opts.timers.set(decision.delayMs, () => { this.scheduled = Math.max(0, this.scheduled - 1); dispatch(); });
    } else {
      dispatch();
    }
    return record;
  }

  /** Held back until the next webhook to the same URL has been delivered (or the hold times out). */
  private hold(job: Job): void {
    let released = false;
    this.scheduled += 1;
    const release = () => {
      if (released) return;
      released = true;
      this.scheduled = Math.max(0, this.scheduled - 1);
      this.opts.timers.clear(timer);
      this.enqueue(job, false);
    };
    const list = this.held.get(job.target.url) ?? [];
    list.push(release);
    this.held.set(job.target.url, list);
    const timer = this.opts.timers.set(this.opts.reorderMaxHoldMs, release);
  }

  /**
   * The queue a job joins. concurrency 1: one lane per URL (every webhook in order). More: one lane
   * per call (its webhooks in order) and at most `concurrency` requests in flight per URL, so a slow
   * delivery holds up its own call only, never the calls that happened to share a lane with it.
   */
  private laneOf(job: Job): string {
    if (this.opts.concurrency <= 1 || !job.record.callId) return `${job.target.url}#`;
    return `${job.target.url}#${job.record.callId}`;
  }

  /** Waits for one of the URL's `concurrency` request slots; resolves with its release. */
  private async slot(url: string): Promise<() => void> {
    const n = this.opts.concurrency;
    const s = this.slots.get(url) ?? { busy: 0, waiting: [] as (() => void)[] };
    this.slots.set(url, s);
    if (s.busy >= n) await new Promise<void>((resolve) => s.waiting.push(resolve));
    s.busy++;
    return () => {
      s.busy--;
      s.waiting.shift()?.();
    };
  }

  private enqueue(job: Job, releasesHeld: boolean): void {
    const url = job.target.url;
    const lane = this.laneOf(job);
    const prev = this.queues.get(lane) ?? Promise.resolve();
    const next = prev.then(async () => {
      for (let copy = 0; copy < job.copies && !this.closed; copy++) {
        const release = await this.slot(url);
        try { await this.deliver(job); } finally { release(); }
      }
      if (releasesHeld) {
        const held = this.held.get(url) ?? [];
        this.held.delete(url);
        for (const release of held) release();
      }
    });
    this.queues.set(lane, next);
    void next.finally(() => { if (this.queues.get(lane) === next) this.queues.delete(lane); });
  }

  private async deliver(job: Job): Promise<void> {
    const { record } = job;
    for (let attempt = 1; attempt <= this.opts.maxAttempts && !this.closed; attempt++) {
      record.attempts += 1;
      // One controller and one timer per attempt: AbortSignal.any + AbortSignal.timeout cost several
      // times as much, a visible share of the simulator's CPU under load.
      const attemptAbort = new AbortController();
      const timer = setTimeout(() => attemptAbort.abort(new Error(`no answer within ${this.opts.timeoutMs} ms`)), this.opts.timeoutMs);
      this.inFlight.add(attemptAbort);
      try {
        const res = await request(job.target.url, {
          method: 'POST',
          dispatcher: this.agent,
          // Meta gives up after ~20 s (docs/whatsapp-calling.md#delivery); undici's own timers are too coarse for short test timeouts.
          signal: attemptAbort.signal,
          headers: job.headers ? { 'content-type': 'application/json', ...job.headers } : {
            'content-type': 'application/json',
            'x-hub-signature-256': job.signature,
            'user-agent': 'facebookexternalua',
          },
          body: job.raw,
        });
        await res.body.dump();
        record.httpStatuses.push(res.statusCode);
        if (res.statusCode >= 200 && res.statusCode < 300) {
          record.copiesDelivered += 1;
          record.outcome = 'delivered';
          record.deliveredAt = this.opts.clock();
          return;
        }
        record.error = `HTTP ${res.statusCode}`;
      } catch (err) {
        record.httpStatuses.push(0);
        record.error = (err as Error).message;
      } finally {
        clearTimeout(timer);
        this.inFlight.delete(attemptAbort);
      }
      if (attempt < this.opts.maxAttempts && !this.closed) await this.opts.timers.sleep(this.opts.retryDelayMs * attempt);
    }
    if (record.outcome !== 'delivered') {
      record.outcome = 'failed';
      this.log.warn({ seq: record.seq, summary: record.summary, url: record.url, error: record.error }, 'webhook delivery failed after retries');
    }
  }

  /** Resolves once nothing is queued, delayed or held (bounded wait). */
  async idle(maxWaitMs = 10_000): Promise<void> {
    const until = Date.now() + maxWaitMs;
    while (Date.now() < until) {
      if (this.queues.size === 0 && this.scheduled === 0) return;
      await Promise.race([Promise.all(this.queues.values()), new Promise((r) => setTimeout(r, 20))]);
    }
  }

  /**
   * Control API reset: forgets the delivery log and every delayed or held webhook (their timers are
   * cancelled by the caller's TimerSet.clearAll). Deliveries already on the wire finish.
   */
  reset(): void {
    this.records.length = 0;
    this.held.clear();
    this.scheduled = 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const a of this.inFlight) a.abort(new Error('simulator closing'));
    await Promise.allSettled([...this.queues.values()]);
    await this.agent.close().catch(() => undefined);
  }
}
