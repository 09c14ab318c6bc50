import type { WhatsAppCallEnder } from '../calls/call-ending.js';
import { ProviderError } from '../calls/ports/whatsapp-errors.js';
import type { CallDirection } from '../calls/ports/whatsapp-events.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import type { ConnectRequest, WhatsAppCalls } from '../calls/ports/whatsapp-provider.js';
import type { CallJournal, JournaledCall } from './call-journal.js';

/**
 * The WhatsApp side of ONE call as its call object sees it (the WhatsAppCalls port), with what
 * keeps a billed call from being left open:
 *  - the call is in the journal before Meta can bill it. PBX -> WhatsApp: the intent before
 *    `connect` (WhatsApp's call id is known only from its response; webhooks carry our id as
 *    biz_opaque_callback_data meanwhile), the id as soon as `connect` returns. WhatsApp -> PBX: the
 *    id (from the connect webhook) before `pre_accept`, and again before `accept`, from which on
 *    the call is ended with `terminate` rather than `reject`. The record names the WhatsApp user,
 *    for providers that need it to end the call (crash-recovery.ts);
 *  - `terminate` and `reject` go to the WhatsAppCallEnder, which retries until Meta confirms; they
 *    resolve at once, so the call's teardown never waits for Meta;
 *  - the journal record goes when the call has ended AND its ending on WhatsApp has settled. An
 *    ending abandoned because watrunk stopped stays for the next start.
 * A journal write that fails is logged and counted; the call goes on (without crash protection).
 */
export class JournaledWhatsAppCalls implements WhatsAppCalls {
  private journaled?: JournaledCall;
  private readonly startedAt = new Date().toISOString();
  private endingsInFlight = 0;
  private callEnded = false;
  private keepForNextStart = false;

  constructor(private readonly d: {
    calls: WhatsAppCalls;
    journal: CallJournal;
    ender: WhatsAppCallEnder;
    callId: string;
    numberName: string;
    direction: CallDirection;
    /** The WhatsApp user, when known before `connect` (a user's call: from its connect webhook). */
    user?: string;
    log: Logger;
    metrics: Metrics;
    /** A connect that timed out or lost its connection may have placed a call: who ends it (CrashRecovery.adopt). */
    onConnectOutcomeUnknown?: (call: JournaledCall) => { named(waCallId: string): void };
  }) {}

  private adopted?: { named(waCallId: string): void };

  async connect(req: ConnectRequest): Promise<{ callId: string }> {
    // An empty user would make the record unreadable at the next start (the journal's schema).
    await this.record({ endWith: 'terminate', ...(req.to !== '' && { user: req.to }) });
    let answer: { callId: string };
    try {
      answer = await this.d.calls.connect(req);
    } catch (err) {
      const unknown = err instanceof ProviderError && (err.kind === 'timeout' || err.kind === 'network');
      if (unknown && this.d.onConnectOutcomeUnknown && this.journaled) {
        // The call's own CDR says what the PBX got; the journal entry now belongs to the adopter.
        const call = { ...this.journaled, cdrWritten: true as const };
        this.journaled = undefined;
        void this.d.journal.record(call).catch(() => undefined);
        this.adopted = this.d.onConnectOutcomeUnknown(call);
      } else {
        this.forget();
      }
      throw err;
    }
    await this.record({ waCallId: answer.callId });
    return answer;
  }

  async preAccept(waCallId: string, sdpAnswer: string): Promise<void> {
    await this.record({ waCallId, endWith: this.journaled?.endWith ?? 'reject' });
    return this.d.calls.preAccept(waCallId, sdpAnswer);
  }

  async accept(waCallId: string, sdpAnswer: string, trackingData?: string): Promise<void> {
    await this.record({ waCallId, endWith: 'terminate' });
    return this.d.calls.accept(waCallId, sdpAnswer, trackingData);
  }

  async reject(waCallId: string): Promise<void> {
    this.endOnWhatsApp('reject', waCallId);
  }

  async terminate(waCallId: string): Promise<void> {
    // After a connect whose outcome is unknown, the adopter (crash recovery) ends the call.
    if (this.adopted) return this.adopted.named(waCallId);
    this.endOnWhatsApp('terminate', waCallId);
  }

  /** The call has ended and written its CDR. */
  ended(): void {
    this.callEnded = true;
    if (!this.journaled) return;
    if (this.endingsInFlight === 0 && !this.keepForNextStart) this.forget();
    // Meta has not confirmed yet: if watrunk dies now, the next start must not write a second CDR.
    else void this.record({ cdrWritten: true });
  }

  private endOnWhatsApp(action: 'terminate' | 'reject', waCallId: string): void {
    this.endingsInFlight++;
    void this.d.ender.end({ calls: this.d.calls, action, waCallId, log: this.d.log }).then((result) => {
      this.endingsInFlight--;
      if (result === 'abandoned') this.keepForNextStart = true;
      if (this.callEnded && this.endingsInFlight === 0 && !this.keepForNextStart) this.forget();
    });
  }

  private async record(change: Partial<JournaledCall>): Promise<void> {
    this.journaled = {
      callId: this.d.callId, number: this.d.numberName, direction: this.d.direction, startedAt: this.startedAt, endWith: 'terminate',
      ...(this.d.user ? { user: this.d.user } : {}),
      ...this.journaled, ...change,
    };
    try {
      await this.d.journal.record(this.journaled);
    } catch (err) {
      this.d.metrics.journalWriteFailures.inc();
      this.d.log.error({ err }, 'call journal write failed: this call will not be ended by the next start if watrunk crashes');
    }
  }

  private forget(): void {
    if (!this.journaled) return;
    this.journaled = undefined;
    this.d.journal.forget(this.d.callId);
  }
}
