import type { MediaReport, SimulatedUserMedia } from './media/types.js';
import type { SimulatedUser } from './user-rules.js';
import type { DeliveryRecord } from './webhook-delivery.js';
import type { CallDirection } from '../calls/ports/whatsapp-events.js';

/**
 * One simulated call and the store of all of them. States:
 *  business-initiated: calling → ringing → accepted → ended
 *  user-initiated:     ringing → pre_accepted → accepted → ended
 */

export type CallState = 'calling' | 'ringing' | 'pre_accepted' | 'accepted' | 'ended';
export type EndedBy = 'business' | 'user' | 'timeout' | 'network' | 'simulator';

export interface ActionRecord {
  action: string;
  at: number;
  graphVersion: string;
  /**
   * "ok", or the Graph error code returned; with an injected fault that stopped the request:
   * "no_answer" (hang) or "reset" (connection closed).
   */
  result: 'ok' | number | 'no_answer' | 'reset';
  /** An injected fault on this request (fault-plan.ts), e.g. "error:500/1", "hang", "reset:applied". */
  fault?: string;
}

/** When things happened to a call (epoch ms, the simulator's clock) and how it ended. */
export interface CallTimeline {
  createdAt: number;
  ringingAt?: number;
  preAcceptedAt?: number;
  acceptedAt?: number;
  endedAt?: number;
  endedBy?: EndedBy;
  endStatus?: 'COMPLETED' | 'FAILED';
  endReason?: string;
}

export interface SimulatedCall extends CallTimeline {
  id: string;
  phoneNumberId: string;
  businessNumber: string;
  direction: CallDirection;
  state: CallState;
  user: SimulatedUser;
  /** Offer: the business's (BIC) or Meta's (UIC). Answer: the user's (BIC) or the business's (UIC). */
  offerSdp?: string;
  answerSdp?: string;
  preAcceptSdp?: string;
  /** From connect (BIC) or accept (UIC); echoed in statuses and terminate (docs/whatsapp-calling.md#tracking-data). */
  bizOpaque?: string;
  ctaPayload?: string;
  deeplinkPayload?: string;
  media?: SimulatedUserMedia;
  /** SIP mode (sip-edge/): how the call ends over SIP instead of a terminate webhook. */
  sip?: { end(ending: { by: EndedBy; status: 'COMPLETED' | 'FAILED'; reason: string; errors?: { code: number }[] }): Promise<void> };
  /** Last media report, kept after the media is closed. */
  mediaReport?: MediaReport;
  timers: Set<NodeJS.Timeout>;
  webhooks: DeliveryRecord[];
  actions: ActionRecord[];
  dtmfSent: string;
}

export interface SimulatedCallView extends CallTimeline {
  id: string;
  phoneNumberId: string;
  businessNumber: string;
  direction: CallDirection;
  state: CallState;
  user: { number: string; userId?: string; name?: string };
  /** The SDP offer and answer of the call (the business's or Meta's, per direction). */
  offerSdp?: string;
  answerSdp?: string;
  bizOpaqueCallbackData?: string;
  webhooks: Array<{ seq: number; summary: string; outcome: string; attempts: number; faults: string[]; createdAt: number }>;
  actions: ActionRecord[];
  dtmfSent: string;
  /**
   * The user's media report. `firstPacketAt` (business audio first heard) against `acceptedAt`
   * proves whether media flowed before accept (docs/whatsapp-calling.md#first-media-is-the-answer): see `firstPacketBeforeAccept`.
   */
  media: (MediaReport & { firstPacketBeforeAccept: boolean }) | null;
}

const opt = <K extends string, V>(key: K, v: V | undefined): Partial<Record<K, V>> =>
  (v === undefined ? {} : ({ [key]: v } as Record<K, V>));

export function viewOf(call: SimulatedCall): SimulatedCallView {
  const report = call.media && call.state !== 'ended' ? call.media.report() : call.mediaReport;
  return {
    id: call.id,
    phoneNumberId: call.phoneNumberId,
    businessNumber: call.businessNumber,
    direction: call.direction,
    state: call.state,
    user: { number: call.user.number, ...opt('userId', call.user.userId), ...opt('name', call.user.name) },
    createdAt: call.createdAt,
    ...opt('ringingAt', call.ringingAt),
    ...opt('preAcceptedAt', call.preAcceptedAt),
    ...opt('acceptedAt', call.acceptedAt),
    ...opt('endedAt', call.endedAt),
    ...opt('endedBy', call.endedBy),
    ...opt('endStatus', call.endStatus),
    ...opt('endReason', call.endReason),
    ...opt('bizOpaqueCallbackData', call.bizOpaque),
    ...opt('offerSdp', call.offerSdp),
    ...opt('answerSdp', call.answerSdp),
    webhooks: call.webhooks.map((w) => ({
      seq: w.seq, summary: w.summary, outcome: w.outcome, attempts: w.attempts, faults: w.faults, createdAt: w.createdAt,
    })),
    actions: call.actions,
    dtmfSent: call.dtmfSent,
    media: report
      ? {
          ...report,
          firstPacketBeforeAccept: report.firstPacketAt !== undefined
            && (call.acceptedAt === undefined || report.firstPacketAt < call.acceptedAt),
        }
      : null,
  };
}

export class CallStore {
  private readonly calls = new Map<string, SimulatedCall>();
  constructor(private readonly keep: number) {}

  add(call: SimulatedCall): void {
    this.calls.set(call.id, call);
    if (this.calls.size > this.keep) {
      // Forget the oldest ended calls first; active calls are never forgotten.
      for (const [id, c] of this.calls) {
        if (this.calls.size <= this.keep) break;
        if (c.state === 'ended') this.calls.delete(id);
      }
    }
  }

  delete(id: string): void {
    this.calls.delete(id);
  }

  get(id: string): SimulatedCall | undefined {
    return this.calls.get(id);
  }

  list(): SimulatedCall[] {
    return [...this.calls.values()];
  }

  active(phoneNumberId?: string): SimulatedCall[] {
    return this.list().filter((c) => c.state !== 'ended' && (!phoneNumberId || c.phoneNumberId === phoneNumberId));
  }

  /** An ongoing call between this number and this user, in either direction (docs/whatsapp-calling.md#error-codes, 138003). */
  activeWith(phoneNumberId: string, userKey: string): SimulatedCall | undefined {
    return this.active(phoneNumberId).find((c) => c.user.key === userKey);
  }

  clear(): void {
    this.calls.clear();
  }
}
