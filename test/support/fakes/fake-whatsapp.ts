import { ProviderError } from '../../../src/calls/ports/whatsapp-errors.js';
import type { ConnectRequest, WhatsAppCalls } from '../../../src/calls/ports/whatsapp-provider.js';
import { deferred, type Deferred } from '../deferred.js';


/** WhatsAppCalls whose connect a test answers by hand; every action is recorded. */
export class FakeWhatsAppCalls implements WhatsAppCalls {
  readonly actions: { action: string; callId?: string; req?: ConnectRequest; sdp?: string }[] = [];
  /** When set, connect fails with it. */
  connectError?: ProviderError;
  /** When false, connect waits for resolveConnect(). */
  autoConnect = true;
  nextCallId = 'wacid.TEST1';
  terminateError?: ProviderError;
  private pending?: Deferred<{ callId: string }>;

  async connect(req: ConnectRequest): Promise<{ callId: string }> {
    this.actions.push({ action: 'connect', req });
    if (this.connectError) throw this.connectError;
    if (this.autoConnect) return { callId: this.nextCallId };
    this.pending = deferred();
    return this.pending.promise;
  }
  resolveConnect(callId = this.nextCallId): void { this.pending?.resolve({ callId }); }
  async preAccept(callId: string, sdp: string): Promise<void> { this.actions.push({ action: 'pre_accept', callId, sdp }); }
  async accept(callId: string, sdp: string): Promise<void> { this.actions.push({ action: 'accept', callId, sdp }); }
  async reject(callId: string): Promise<void> { this.actions.push({ action: 'reject', callId }); }
  async terminate(callId: string): Promise<void> {
    this.actions.push({ action: 'terminate', callId });
    if (this.terminateError) throw this.terminateError;
  }
  count(action: string): number { return this.actions.filter((a) => a.action === action).length; }
}

export function graphError(code: number, httpStatus = 400, details?: string): ProviderError {
  return new ProviderError(`graph error ${code}`, 'api', { code, httpStatus, operation: 'connect', ...(details ? { details } : {}) });
}
