import { LRUCache } from 'lru-cache';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import { ProviderError } from './ports/whatsapp-errors.js';
import type { WhatsAppCalls } from './ports/whatsapp-provider.js';
import type { CallRecord } from './call-record.js';
import type { Ending } from './call-outcome.js';
import type { MediaSession } from './ports/media-engine.js';

/**
 * The end of a call, done once whichever path gets there first: release the media session, write
 * the CDR, leave the registry. `ended` resolves after all of that.
 */
export class CallEnding {
  private running?: Promise<void>;
  private resolveEnded!: () => void;
  readonly ended = new Promise<void>((resolve) => { this.resolveEnded = resolve; });

  constructor(private readonly d: { media: MediaSession; record: CallRecord; logger: Logger; log: Logger; onEnded: () => void }) {}

  get begun(): boolean {
    return this.running !== undefined;
  }

  /** Ends the call once; the CDR is filled from `ending` (the first ending wins). */
  run(ending: Ending): Promise<void> {
    if (this.running) return this.running;
    this.d.record.end(ending);
    this.running = this.d.media.close()
      .catch((err: unknown) => this.d.log.error({ err }, 'media session close failed'))
      .then(() => {
        // The base logger: the CDR carries its own ids.
        this.d.record.finish(this.d.logger);
        this.d.onEnded();
        this.resolveEnded();
      });
    return this.running;
  }
}

/**
 * `terminate` (or `reject`) on WhatsApp, never throwing: a WhatsApp call left open is billed
 * (docs/whatsapp-calling.md#call-actions: terminate is mandatory for accurate billing), so a failure is logged loudly and
 * the rest of the teardown still happens. The calls' WhatsApp port (JournaledWhatsAppCalls) hands
 * both to the WhatsAppCallEnder below, which retries in the background.
 */
export async function endOnWhatsApp(calls: WhatsAppCalls, action: 'terminate' | 'reject', waCallId: string, log: Logger): Promise<void> {
  try {
    await (action === 'terminate' ? calls.terminate(waCallId) : calls.reject(waCallId));
  } catch (err) {
    const detail = err instanceof ProviderError ? err.toLog() : err;
    log.error({ err: detail, waCallId }, `${action} on WhatsApp failed: the call may stay open and billed`);
  }
}

/** How ending a call on WhatsApp came out. */
export type WhatsAppEndResult =
  /** Meta answered 2xx. */
  | 'confirmed'
  /** A terminate webhook said the call is over. */
  | 'ended_by_whatsapp'
  /** Meta answered 4xx (or a body it should not send): asking again cannot change that. */
  | 'refused'
  /** Every try failed with a network error, a timeout or a 5xx. */
  | 'gave_up'
  /** watrunk stopped before Meta confirmed: left to the call journal and the next start. */
  | 'abandoned';

export interface WhatsAppEndRequest {
  calls: WhatsAppCalls;
  action: 'terminate' | 'reject';
  waCallId: string;
  /** The call's logger (it carries the call's ids). */
  log: Logger;
}

/** Pauses between tries: 5 tries over about 30 s. */
export const END_RETRY_DELAYS_MS: readonly number[] = [1_000, 3_000, 8_000, 18_000];
/** While stopping, the pause between tries is at most this. */
const DRAIN_RETRY_DELAY_MS = 250;

interface PendingEnd {
  req: WhatsAppEndRequest;
  tries: number;
  /** The try whose failure decides the next step; a success of any try settles the ending. */
  current?: number;
  timer?: NodeJS.Timeout;
  result?: WhatsAppEndResult;
  done: Promise<WhatsAppEndResult>;
  resolve(result: WhatsAppEndResult): void;
}

/** Network errors, timeouts and 5xx may go through on another try (the classes graph-retry.ts retries). */
function worthRetrying(err: unknown): boolean {
  if (!(err instanceof ProviderError)) return true;
  if (err.kind === 'network' || err.kind === 'timeout') return true;
  // `server`: the provider's own failure reported in an HTTP 200 (CAMS InternalError), as a 5xx.
  return err.kind === 'api' && ((err.httpStatus !== undefined && err.httpStatus >= 500) || err.fields.category === 'server');
}

/**
 * Ends calls on WhatsApp until Meta confirms: `terminate` (or `reject`) is tried again with
 * back-off after a network error, a timeout or a 5xx, up to a cap, and stops early when a terminate
 * webhook says the call is over. One per process, outside every call's queue, so a call's teardown
 * (BYE, media, CDR) never waits for Meta. Only these two actions come here: `connect` is never
 * retried (a retry could ring the user twice; graph-retry.ts). A call left open is billed
 * (https://developers.facebook.com/documentation/business-messaging/whatsapp/calling/reference), so
 * an ending Meta never confirmed is counted (watrunk_terminate_failures_total) and logged at error.
 */
export class WhatsAppCallEnder {
  private readonly pending = new Map<string, PendingEnd>();
  /** WhatsApp call ids a terminate webhook reported over: nothing more to send for them. */
  private readonly knownEnded = new LRUCache<string, true>({ max: 10_000, ttl: 3_600_000 });
  private readonly idleWaiters = new Set<() => void>();
  private readonly delaysMs: readonly number[];
  /** Set while stopping: how long one try may go unanswered before the next is sent. */
  private drainAttemptWaitMs?: number;

  constructor(private readonly d: { logger: Logger; metrics: Metrics; retryDelaysMs?: readonly number[] }) {
    this.delaysMs = d.retryDelaysMs ?? END_RETRY_DELAYS_MS;
  }

  /** Endings not settled yet. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Starts ending the call (the first try is sent before this returns) and resolves with the result
   * once settled. Never rejects. A second request for a call already being ended shares the first.
   */
  end(req: WhatsAppEndRequest): Promise<WhatsAppEndResult> {
    if (this.knownEnded.has(req.waCallId)) return Promise.resolve('ended_by_whatsapp');
    const existing = this.pending.get(req.waCallId);
    if (existing) return existing.done;
    let resolve!: (r: WhatsAppEndResult) => void;
    const done = new Promise<WhatsAppEndResult>((r) => { resolve = r; });
    const p: PendingEnd = { req, tries: 0, done, resolve };
    this.pending.set(req.waCallId, p);
    this.attempt(p);
    return done;
  }

  /** A terminate webhook for this WhatsApp call: it is over, whatever is still being tried. */
  endedByWhatsApp(waCallId: string): void {
    this.knownEnded.set(waCallId, true);
    const p = this.pending.get(waCallId);
    if (!p) return;
    p.req.log.info({ waCallId, tries: p.tries }, `${p.req.action} not confirmed yet, but WhatsApp reports the call ended: no more tries`);
    this.settle(p, 'ended_by_whatsapp');
  }

  /**
   * watrunk is stopping: every pending ending is tried again now, and from now on a try that goes
   * unanswered for `attemptWaitMs` is followed by the next one at once (the request itself is not
   * abandoned: a late 2xx still counts).
   */
  drain(opts: { attemptWaitMs: number }): void {
    this.drainAttemptWaitMs = opts.attemptWaitMs;
    for (const p of this.pending.values()) {
      if (p.current === undefined) {
        clearTimeout(p.timer);
        this.attempt(p);
      } else {
        this.boundTry(p, p.current);
      }
    }
  }

  /** Resolves true once nothing is pending, or false at `deadline` (epoch ms). */
  whenIdle(deadline: number): Promise<boolean> {
    if (this.pending.size === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => { this.idleWaiters.delete(done); resolve(this.pending.size === 0); }, Math.max(0, deadline - Date.now()));
      const done = () => { clearTimeout(timer); resolve(true); };
      this.idleWaiters.add(done);
    });
  }

  /** Stopping for good: what Meta has not confirmed yet is counted and logged as abandoned. */
  abandonPending(): void {
    for (const p of [...this.pending.values()]) {
      const { action, waCallId, log } = p.req;
      this.d.metrics.terminateFailures.inc({ action, reason: 'abandoned' });
      log.error({ waCallId, tries: p.tries }, `${action} on WhatsApp still not confirmed when watrunk stopped: the call may stay open and billed until the next start ends it (call journal)`);
      this.settle(p, 'abandoned');
    }
  }

  private attempt(p: PendingEnd): void {
    if (p.result) return;
    const { calls, action, waCallId } = p.req;
    const tryNumber = ++p.tries;
    p.current = tryNumber;
    if (tryNumber > 1) this.d.metrics.terminateRetries.inc({ action });
    let request: Promise<void>;
    try {
      request = action === 'terminate' ? calls.terminate(waCallId) : calls.reject(waCallId);
    } catch (err) {
      request = Promise.reject(err);
    }
    request.then(() => this.settle(p, 'confirmed'), (err: unknown) => this.tryFailed(p, tryNumber, err));
    if (this.drainAttemptWaitMs !== undefined) this.boundTry(p, tryNumber);
  }

  private boundTry(p: PendingEnd, tryNumber: number): void {
    const waitMs = this.drainAttemptWaitMs!;
    clearTimeout(p.timer);
    p.timer = setTimeout(() => this.tryFailed(p, tryNumber, new Error(`no answer within ${waitMs} ms while stopping`)), waitMs);
    p.timer.unref();
  }

  private tryFailed(p: PendingEnd, tryNumber: number, err: unknown): void {
    if (p.result || p.current !== tryNumber) return;
    p.current = undefined;
    clearTimeout(p.timer);
    const { action, waCallId, log } = p.req;
    const detail = err instanceof ProviderError ? err.toLog() : err;
    if (!worthRetrying(err)) return this.giveUp(p, 'refused', detail);
    if (p.tries >= this.delaysMs.length + 1) return this.giveUp(p, 'gave_up', detail);
    const planned = this.delaysMs[p.tries - 1]!;
    const delayMs = this.drainAttemptWaitMs !== undefined ? Math.min(planned, DRAIN_RETRY_DELAY_MS) : planned;
    log.warn({ err: detail, waCallId, tries: p.tries, retryInMs: delayMs }, `${action} on WhatsApp failed: trying again`);
    p.timer = setTimeout(() => this.attempt(p), delayMs);
    p.timer.unref();
  }

  private giveUp(p: PendingEnd, reason: 'refused' | 'gave_up', detail: unknown): void {
    const { action, waCallId, log } = p.req;
    this.d.metrics.terminateFailures.inc({ action, reason });
    const what = reason === 'refused' ? 'refused by WhatsApp' : `failed ${p.tries} times`;
    log.error({ err: detail, waCallId, tries: p.tries, reason }, `${action} on WhatsApp ${what}: the call may stay open and billed`);
    this.settle(p, reason);
  }

  private settle(p: PendingEnd, result: WhatsAppEndResult): void {
    if (p.result) return;
    p.result = result;
    clearTimeout(p.timer);
    this.pending.delete(p.req.waCallId);
    p.resolve(result);
    if (this.pending.size === 0) {
      for (const waiter of this.idleWaiters) waiter();
      this.idleWaiters.clear();
    }
  }
}
