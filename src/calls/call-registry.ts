import { LRUCache } from 'lru-cache';
import type { CallDirection, CallEvent } from './ports/whatsapp-events.js';

/** What the registry needs of a call, whichever its direction. */
export interface ActiveCall {
  readonly id: string;
  readonly numberName: string;
  readonly direction: CallDirection;
  handleEvent(e: CallEvent): Promise<void>;
  /** Ends the call from watrunk's side (terminate on WhatsApp, BYE/503 on SIP). */
  shutdown(): Promise<void>;
  whenEnded(): Promise<void>;
}

/**
 * Every call in progress, indexed by watrunk's id and by WhatsApp's call id, so webhook events
 * find their call. Webhooks can overtake the `connect` response (docs/whatsapp-calling.md#delivery: ordering is not
 * guaranteed): events carrying our tracking data (biz_opaque_callback_data = watrunk's id) are
 * routed at once; events for a WhatsApp call id not yet known are held briefly and delivered when
 * the connect response names the id.
 */
export class CallRegistry {
  private readonly byId = new Map<string, ActiveCall>();
  private readonly byWhatsAppId = new Map<string, ActiveCall>();
  private readonly whatsAppIdOf = new Map<ActiveCall, string>();
  private readonly held: LRUCache<string, CallEvent[]>;
  /** Set once watrunk is stopping: receives calls registered after that. */
  private lateArrivals?: (call: ActiveCall) => void;
  private readonly emptyWaiters = new Set<() => void>();

  constructor(opts: { holdMs?: number; holdCapacity?: number } = {}) {
    this.held = new LRUCache({ max: opts.holdCapacity ?? 10_000, ttl: opts.holdMs ?? 10_000 });
  }

  /** False once watrunk is stopping: the intakes refuse new calls (README "Signals and draining"). */
  get takingCalls(): boolean {
    return this.lateArrivals === undefined;
  }

  /**
   * watrunk is stopping. A call registered from now on got past its intake's check just before
   * (an intake awaits between its check and `add`): it is handed to `onLateArrival`, to be ended.
   */
  stopTakingCalls(onLateArrival: (call: ActiveCall) => void): void {
    this.lateArrivals = onLateArrival;
  }

  add(call: ActiveCall): void {
    this.byId.set(call.id, call);
    this.lateArrivals?.(call);
  }

  /** The call now knows its WhatsApp id: index it and deliver anything held for it. */
  bindWhatsAppId(call: ActiveCall, waCallId: string): void {
    this.byWhatsAppId.set(waCallId, call);
    this.whatsAppIdOf.set(call, waCallId);
    const held = this.held.get(waCallId);
    if (held) {
      this.held.delete(waCallId);
      for (const e of held) void call.handleEvent(e);
    }
  }

  remove(call: ActiveCall): void {
    this.byId.delete(call.id);
    const wa = this.whatsAppIdOf.get(call);
    if (wa !== undefined && this.byWhatsAppId.get(wa) === call) this.byWhatsAppId.delete(wa);
    this.whatsAppIdOf.delete(call);
    if (this.byId.size === 0) {
      for (const waiter of this.emptyWaiters) waiter();
      this.emptyWaiters.clear();
    }
  }

  /** Resolves when no call is left. */
  whenEmpty(): Promise<void> {
    if (this.byId.size === 0) return Promise.resolve();
    return new Promise((resolve) => { this.emptyWaiters.add(resolve); });
  }

  /**
   * Delivers a WhatsApp event to its call. Returns 'delivered', 'held' (waiting for the call id to
   * be learnt) or 'unmatched' (a user-initiated offer: a new call for the caller to create).
   */
  route(e: CallEvent): 'delivered' | 'held' | 'unmatched' {
    const tracked = 'trackingData' in e && e.trackingData ? this.byId.get(e.trackingData) : undefined;
    const call = tracked ?? this.byWhatsAppId.get(e.callId);
    if (call) {
      void call.handleEvent(e);
      return 'delivered';
    }
    if (e.kind === 'call.offered') return 'unmatched';
    const list = this.held.get(e.callId) ?? [];
    list.push(e);
    this.held.set(e.callId, list);
    return 'held';
  }

  get(id: string): ActiveCall | undefined {
    return this.byId.get(id);
  }

  byWhatsAppCallId(waCallId: string): ActiveCall | undefined {
    return this.byWhatsAppId.get(waCallId);
  }

  countForNumber(numberName: string): number {
    let n = 0;
    for (const c of this.byId.values()) if (c.numberName === numberName) n++;
    return n;
  }

  all(): ActiveCall[] {
    return [...this.byId.values()];
  }

  get size(): number {
    return this.byId.size;
  }
}
