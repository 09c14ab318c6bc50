import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';

import type { CallOutcome, EndedBy, Ending } from './call-outcome.js';
import type { CallDirection } from './ports/whatsapp-events.js';

/**
 * The call detail record: collected through the call, written as ONE structured log line when the
 * call ends (`"cdr": true`), and mirrored into the call metrics.
 */
export class CallRecord {
  readonly startedAt = Date.now();
  firstResponseAt?: number;
  answeredAt?: number;
  endedAt?: number;
  waCallId?: string;
  sipStatus?: number;
  waErrorCode?: number;
  outcome: CallOutcome | 'unknown' = 'unknown';
  cause?: string;
  endedBy?: EndedBy;
  waDurationS?: number;
  private active = false;

  constructor(
    readonly id: string,
    readonly direction: CallDirection,
    readonly fields: { sipCallId: string; number: string; trunk?: string; from: string; to: string },
    private readonly metrics: Metrics,
  ) {}

  begin(): void {
    this.active = true;
    this.metrics.callAttempts.inc({ direction: this.direction, number: this.fields.number });
    this.metrics.callsActive.inc({ direction: this.direction, number: this.fields.number });
  }

  /** First 18x or answer toward the caller: post-dial delay. */
  firstResponse(): void {
    if (this.firstResponseAt !== undefined) return;
    this.firstResponseAt = Date.now();
    this.metrics.postDialDelay.observe((this.firstResponseAt - this.startedAt) / 1000);
  }

  answered(): void {
    this.answeredAt = Date.now();
    this.sipStatus = 200;
    this.firstResponse();
    this.metrics.callsAnswered.inc({ direction: this.direction, number: this.fields.number });
  }

  /** How the call ended (CallEnding.run): the CDR's outcome, cause, statuses and who ended it. */
  end(e: Ending): void {
    this.outcome = e.outcome;
    if (e.endedBy !== undefined) this.endedBy = e.endedBy;
    if (e.cause !== undefined) this.cause = e.cause;
    if (e.sipStatus !== undefined) this.sipStatus = e.sipStatus;
    if (e.waErrorCode !== undefined) this.waErrorCode = e.waErrorCode;
    if (e.waDurationS !== undefined) this.waDurationS = e.waDurationS;
  }

  /** Writes the CDR. Idempotent. Give it the base logger: the CDR carries its own ids. */
  finish(logger: Logger): void {
    if (this.endedAt !== undefined) return;
    this.endedAt = Date.now();
    if (this.active) this.metrics.callsActive.dec({ direction: this.direction, number: this.fields.number });
    if (this.answeredAt === undefined) this.metrics.callFailures.inc({ direction: this.direction, cause: this.cause ?? this.outcome });
    this.metrics.callsEnded.inc({ direction: this.direction, outcome: this.outcome, cause: this.cause ?? 'none' });
    logger.info({
      cdr: true,
      callId: this.id,
      direction: this.direction,
      sipCallId: this.fields.sipCallId,
      waCallId: this.waCallId,
      number: this.fields.number,
      trunk: this.fields.trunk,
      from: this.fields.from,
      to: this.fields.to,
      startedAt: new Date(this.startedAt).toISOString(),
      answeredAt: this.answeredAt !== undefined ? new Date(this.answeredAt).toISOString() : undefined,
      endedAt: new Date(this.endedAt).toISOString(),
      postDialDelayMs: this.firstResponseAt !== undefined ? this.firstResponseAt - this.startedAt : undefined,
      durationS: this.answeredAt !== undefined ? Math.round((this.endedAt - this.answeredAt) / 1000) : 0,
      waDurationS: this.waDurationS,
      outcome: this.outcome,
      cause: this.cause,
      sipStatus: this.sipStatus,
      waErrorCode: this.waErrorCode,
      endedBy: this.endedBy,
    }, 'call ended');
  }
}
