import { LRUCache } from 'lru-cache';
import type { WhatsAppEvent } from '../../calls/ports/whatsapp-events.js';

/**
 * Which WhatsApp user each call is with. Concepto Móvil's call API wants `to` (the user) on every
 * action, pre_accept / accept / reject / terminate included, while watrunk's ports only pass the
 * call id. The user is learnt from connect (the callee) and from incoming call events (noteEvents),
 * and kept for a few hours. Bounded: the oldest entries go first.
 */
export interface ConceptoMovilCallUsersOptions {
  /** Default 10 000 calls. */
  maxCalls?: number;
  /** Default 6 hours (longer than any call). */
  ttlMs?: number;
}

export class ConceptoMovilCallUsers {
  private readonly users: LRUCache<string, string>;

  constructor(opts: ConceptoMovilCallUsersOptions = {}) {
    this.users = new LRUCache<string, string>({ max: opts.maxCalls ?? 10_000, ttl: opts.ttlMs ?? 6 * 60 * 60_000 });
  }

  /** `user` as the call API wants it: phone digits (or a BSUID, kept as is). */
  remember(callId: string, user: string): void {
    if (callId !== '' && user !== '') this.users.set(callId, user);
  }

  userOf(callId: string): string | undefined {
    return this.users.get(callId);
  }

  /** Learns the user of every call event that names one (phone digits first, else the BSUID). */
  noteEvents(events: readonly WhatsAppEvent[]): void {
    for (const e of events) {
      if (!e.kind.startsWith('call.') || !('callId' in e) || !('user' in e)) continue;
      const user = e.user.number || e.user.userId;
      if (user) this.remember(e.callId, user);
    }
  }
}
