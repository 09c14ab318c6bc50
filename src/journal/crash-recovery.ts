import type { WhatsAppCallEnder, WhatsAppEndResult } from '../calls/call-ending.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import type { CallEvent } from '../calls/ports/whatsapp-events.js';
import type { WhatsAppCalls } from '../calls/ports/whatsapp-provider.js';
import type { CallJournal, JournaledCall } from './call-journal.js';

/** How a call found in the journal at start-up came out. */
export type RecoveryResult = WhatsAppEndResult | 'whatsapp_call_id_unknown' | 'number_not_configured';

export interface CrashRecoveryDeps {
  journal: CallJournal;
  /** The WhatsApp calls port of each configured business number, by name. */
  numbers: ReadonlyMap<string, WhatsAppCalls>;
  ender: WhatsAppCallEnder;
  logger: Logger;
  metrics: Metrics;
  /**
   * A call whose `connect` was in flight at the crash has no WhatsApp id in the journal. Webhooks
   * about it carry watrunk's id (biz_opaque_callback_data) and are acted upon only while fresh
   * (webhook.max_event_age_s): after this long from the call's start none can name it any more.
   */
  connectingWindowMs: number;
}

/**
 * What a start does with the calls a crash left in the journal: each is ended on WhatsApp
 * (`terminate`, or `reject` if `accept` was never sent) through the WhatsAppCallEnder (retries with
 * back-off), after telling the provider the journaled WhatsApp user (WhatsAppCalls.noteCallUser),
 * and logged as a CDR line with cause `recovered_after_crash` unless the dead process had already
 * written its CDR. README "Crash recovery (the call journal)".
 */
export class CrashRecovery {
  private readonly log: Logger;
  /** Calls whose WhatsApp id is still unknown, by watrunk call id, until a webhook names it. */
  private readonly awaitingId = new Map<string, { call: JournaledCall; timer: NodeJS.Timeout }>();
  private outstanding = 0;
  private readonly doneWaiters = new Set<() => void>();

  constructor(private readonly d: CrashRecoveryDeps) {
    this.log = d.logger.child({ component: 'recovery' });
  }

  /** Starts ending every call the journal held at open. Returns at once. */
  start(): void {
    const left = this.d.journal.leftOver;
    if (left.length === 0) return;
    this.log.warn({ calls: left.length }, 'the call journal holds calls the previous run did not end (crash?): ending them on WhatsApp');
    for (const call of left) this.recover(call);
  }

  /**
   * A webhook event: true when it names a recovered call whose WhatsApp id was unknown (by our
   * tracking data). That call is then ended; the event goes no further.
   */
  claim(event: CallEvent): boolean {
    const tracking = 'trackingData' in event ? event.trackingData : undefined;
    const waiting = tracking !== undefined ? this.awaitingId.get(tracking) : undefined;
    if (!waiting) return false;
    clearTimeout(waiting.timer);
    this.awaitingId.delete(waiting.call.callId);
    const call: JournaledCall = { ...waiting.call, waCallId: event.callId };
    this.log.info({ callId: call.callId, waCallId: event.callId, event: event.kind }, 'a webhook names the WhatsApp call of a recovered call');
    if (event.kind === 'call.terminated') {
      this.conclude(call, 'ended_by_whatsapp');
    } else {
      void this.d.journal.record(call).catch((err: unknown) => this.log.error({ err, callId: call.callId }, 'call journal write failed'));
      this.endOnWhatsApp(call, this.d.numbers.get(call.number)!, event.callId);
    }
    return true;
  }

  /**
   * A `connect` that timed out or lost its connection at run time: Meta may have placed the call
   * anyway, and its phone would ring on with nobody to end it. Handled like a connect in flight at a
   * crash: the first webhook naming our call id (tracking data) has it terminated.
   */
  adopt(call: JournaledCall): { named(waCallId: string): void } {
    this.log.warn({ callId: call.callId, number: call.number }, '`connect` got no answer: if Meta placed the call anyway, the first webhook naming it ends it');
    this.recover(call);
    return { named: (waCallId) => { this.namedElsewhere(call.callId, waCallId); } };
  }

  /** A webhook that reached the call object (it came before adopt) names the adopted call's WhatsApp id. */
  private namedElsewhere(callId: string, waCallId: string): void {
    const waiting = this.awaitingId.get(callId);
    if (!waiting) return;
    clearTimeout(waiting.timer);
    this.awaitingId.delete(callId);
    const call: JournaledCall = { ...waiting.call, waCallId };
    void this.d.journal.record(call).catch((err: unknown) => this.log.error({ err, callId }, 'call journal write failed'));
    this.endOnWhatsApp(call, this.d.numbers.get(call.number)!, waCallId);
  }

  /** Resolves when every recovered call has been concluded (tests). */
  whenDone(): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => { this.doneWaiters.add(resolve); });
  }

  /** watrunk is stopping: calls still waiting for their id stay in the journal for the next start. */
  stop(): void {
    for (const { timer } of this.awaitingId.values()) clearTimeout(timer);
    this.awaitingId.clear();
  }

  private recover(call: JournaledCall): void {
    this.outstanding++;
    const calls = this.d.numbers.get(call.number);
    if (!calls) {
      this.log.error({ callId: call.callId, waCallId: call.waCallId, number: call.number }, 'a journaled call\'s business number is no longer configured: it cannot be ended on WhatsApp and may stay open and billed');
      return this.conclude(call, 'number_not_configured');
    }
    if (call.waCallId) return this.endOnWhatsApp(call, calls, call.waCallId);
    const waitMs = Math.max(0, Date.parse(call.startedAt) + this.d.connectingWindowMs - Date.now());
    this.log.info({ callId: call.callId, waitMs }, '`connect` was in flight at the crash: waiting for a webhook naming its WhatsApp call');
    const timer = setTimeout(() => {
      this.awaitingId.delete(call.callId);
      this.log.error({ callId: call.callId, number: call.number }, 'no webhook named the WhatsApp call of a `connect` in flight at the crash: it cannot be terminated (Meta ends a call without media by itself)');
      this.conclude(call, 'whatsapp_call_id_unknown');
    }, waitMs);
    timer.unref();
    this.awaitingId.set(call.callId, { call, timer });
  }

  private endOnWhatsApp(call: JournaledCall, calls: WhatsAppCalls, waCallId: string): void {
    const log = this.d.logger.child({ callId: call.callId, number: call.number, waCallId });
    // Concepto Móvil names the user on terminate/reject too; what the dead process knew is in the journal.
    if (call.user !== undefined) calls.noteCallUser?.(waCallId, call.user);
    void this.d.ender.end({ calls, action: call.endWith, waCallId, log }).then((result) => this.conclude({ ...call, waCallId }, result));
  }

  private conclude(call: JournaledCall, result: RecoveryResult): void {
    this.outstanding--;
    // watrunk is stopping again: the call stays in the journal, the next start tries again.
    if (result !== 'abandoned') {
      this.d.metrics.callsRecovered.inc({ result });
      if (call.cdrWritten) {
        this.log.info({ callId: call.callId, waCallId: call.waCallId, endAction: call.endWith, endResult: result }, 'the previous run\'s unconfirmed end of a call settled');
      } else {
        this.writeCdr(call, result);
      }
      this.d.journal.forget(call.callId);
    }
    if (this.outstanding === 0) {
      for (const waiter of this.doneWaiters) waiter();
      this.doneWaiters.clear();
    }
  }

  /** The CDR the dead process never wrote, shaped like CallRecord's (src/calls/call-record.ts). */
  private writeCdr(call: JournaledCall, result: RecoveryResult): void {
    this.d.logger.info({
      cdr: true,
      callId: call.callId,
      direction: call.direction,
      waCallId: call.waCallId,
      number: call.number,
      startedAt: call.startedAt,
      endedAt: new Date().toISOString(),
      outcome: 'recovered',
      cause: 'recovered_after_crash',
      endedBy: result === 'ended_by_whatsapp' ? 'whatsapp' : 'watrunk',
      endAction: call.endWith,
      endResult: result,
    }, 'call ended');
  }
}
