/**
 * Admission control for new calls: refuse with 503 + Retry-After *before* the machine saturates,
 * rather than accept calls that then time out (a PBX retransmits INVITEs it gets no answer to, and
 * rtpengine replies lost in full UDP buffers turn into 3 s waits). RFC 3261 §21.5.4 makes 503 with
 * Retry-After the signal a PBX or proxy acts on by trying elsewhere or later; RFC 7339 describes
 * the same idea for SIP overload control.
 *
 * Two signals, either of which sheds load:
 *  - call set-ups in progress (INVITE admitted, no provisional or final answer yet): they pile up
 *    when anything downstream (Graph API, rtpengine, the webhook path) is slower than the arrival rate;
 *  - the event loop's mean delay, over each of the last three 0.5 s windows: the process itself is
 *    out of CPU. The mean, and three windows in a row, because one GC pause or one stall of the
 *    (virtual) machine must not refuse calls: a p99 limit on one window shed 3 % of the calls at
 *    100 calls/s in bench:cps while every admitted call was set up in time, and with two windows a
 *    one-second stall of a 2-core VM shared with rtpengine, the simulator and SIPp shed 55 calls at
 *    100 calls/s, a rate the same run then carried without a failure. A loop that is really out of
 *    CPU stays behind on average, window after window.
 * docs/sip.md#overload
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Refusal } from './pbx-admission.js';

export interface OverloadLimits {
  /** Refuse new calls while this many are between admission and their first answer to the PBX; 0: no limit. */
  maxSetupsInFlight: number;
  /** Refuse new calls while the event loop's mean delay stays above this for three 0.5 s windows; 0: no limit. */
  maxEventLoopLagMs: number;
  /** Retry-After of the 503. */
  retryAfterS: number;
}

const RESOLUTION_MS = 10;
/** Windows in a row whose mean delay must all be over the limit. */
const SUSTAINED_WINDOWS = 3;

/**
 * The delay a loop kept up through the last `windows` windows (their lowest mean, newest first in
 * `means`); 0 until that many windows have been measured.
 */
export function sustainedDelayMs(means: readonly number[], windows = SUSTAINED_WINDOWS): number {
  return means.length < windows ? 0 : Math.min(...means.slice(0, windows));
}

/** Event-loop delay, mean over consecutive windows (the last complete window is what counts). */
export class EventLoopLag {
  private readonly histogram: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;
  /** Mean delay of the last SUSTAINED_WINDOWS complete windows, newest first. */
  private readonly means: number[] = [];

  constructor(windowMs = 500) {
    this.histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    this.histogram.enable();
    this.timer = setInterval(() => {
      // Each sample is the whole interval between two timer ticks: the resolution itself is not delay.
      this.means.unshift(this.histogram.count > 0 ? Math.max(0, this.histogram.mean / 1e6 - RESOLUTION_MS) : 0);
      this.means.length = Math.min(this.means.length, SUSTAINED_WINDOWS);
      this.histogram.reset();
    }, windowMs);
    this.timer.unref();
  }

  /** Mean delay over the last complete window, ms. */
  meanMs(): number { return this.means[0] ?? 0; }

  /** The lowest of the last three windows' mean delays: above a limit only when the loop stayed behind. */
  sustainedMs(): number { return sustainedDelayMs(this.means); }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }
}

export class OverloadGuard {
  private setups = 0;

  constructor(private readonly limits: OverloadLimits, private readonly lag: { sustainedMs(): number } | undefined) {}

  /** A refusal while overloaded, else undefined. */
  check(): Refusal | undefined {
    const l = this.limits;
    if (l.maxSetupsInFlight > 0 && this.setups >= l.maxSetupsInFlight) {
      return this.refusal(`overloaded: ${this.setups} call set-ups in progress (calls.overload.max_setups_in_flight ${l.maxSetupsInFlight})`);
    }
    const lagMs = this.lag?.sustainedMs() ?? 0;
    if (l.maxEventLoopLagMs > 0 && lagMs > l.maxEventLoopLagMs) {
      return this.refusal(`overloaded: event loop delay ${lagMs.toFixed(0)} ms on average for 1.5 s (calls.overload.max_event_loop_lag_ms ${l.maxEventLoopLagMs})`);
    }
    return undefined;
  }

  /** A call set-up began; the returned function ends it (idempotent). */
  setupStarted(): () => void {
    this.setups++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.setups--;
    };
  }

  get setupsInFlight(): number { return this.setups; }

  private refusal(warning: string): Refusal {
    return { status: 503, reason: 'Service Unavailable', warning, retryAfter: this.limits.retryAfterS, cause: 'overload' };
  }
}

/** No limits: every call is admitted (tests, and the default when nothing is configured). */
export const NO_OVERLOAD_LIMITS: OverloadLimits = { maxSetupsInFlight: 0, maxEventLoopLagMs: 0, retryAfterS: 2 };
