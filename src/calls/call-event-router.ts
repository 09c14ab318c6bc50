import type { CallRegistry } from './call-registry.js';
import type { AccountNotice, CallEvent, CallOffered, PermissionReplied, WhatsAppEvent } from './ports/whatsapp-events.js';

/**
 * Where a WhatsApp event goes once the dispatcher has checked it (number known, not a duplicate,
 * not stale), in this order:
 *   account notices, permission replies  -> the control plane (restrictions, permission cache)
 *   a terminate                          -> the terminate retrier stops retrying that call
 *   a call the journal recovered         -> crash recovery ends it (docs/whatsapp-calling.md#tracking-data)
 *   a call watrunk knows                 -> that call's object (its own queue)
 *   a user's offer for no known call     -> intake: a new user-initiated call
 *   anything else                        -> dropped (the registry counts and logs it)
 */
export class CallEventRouter {
  constructor(private readonly d: {
    registry: CallRegistry;
    control: { handleEvent(e: AccountNotice | PermissionReplied, numberName: string | undefined): void };
    ender: { endedByWhatsApp(waCallId: string): void };
    recovery: { claim(e: CallEvent): boolean };
    userCalls: { handleOffer(e: CallOffered, numberName: string): Promise<unknown> };
  }) {}

  async route(event: WhatsAppEvent, numberName: string | undefined): Promise<void> {
    if (event.kind === 'account.notice' || event.kind === 'permission.replied') {
      this.d.control.handleEvent(event, numberName);
      return;
    }
    if (event.kind === 'call.terminated') this.d.ender.endedByWhatsApp(event.callId);
    if (this.d.recovery.claim(event)) return;
    const routed = this.d.registry.route(event);
    if (routed === 'unmatched' && event.kind === 'call.offered' && numberName) await this.d.userCalls.handleOffer(event, numberName);
  }
}
