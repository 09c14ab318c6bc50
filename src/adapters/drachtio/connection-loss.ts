/**
 * When watrunk's connection to drachtio-server closes, every SIP transaction and dialog made on it
 * is lost to watrunk for good: drachtio-srf binds each one to the socket it came on ("provided socket
 * has been destroyed" on any later request), and a drachtio-server that was restarted knows none of
 * them. A WhatsApp call left up behind such a leg is billed (docs/whatsapp-calling.md#call-actions),
 * so legs watch for the loss and end their call. One 'close' listener per SIP stack, however many
 * legs watch it.
 */
import type { SrfUac } from './srf-types.js';

/** A SIP stack that can report its connection closing (drachtio-srf's Srf; test fakes may not). */
type Closable = SrfUac & { on?: (event: 'close', cb: () => void) => unknown };

const watchers = new WeakMap<object, Set<() => void>>();

/**
 * Calls `onLost` once, when the stack's connection closes; returns a function that stops watching.
 * A stack that cannot report closing is not watched.
 */
export function watchConnectionLoss(srf: Closable, onLost: () => void): () => void {
  if (typeof srf.on !== 'function') return () => undefined;
  let set = watchers.get(srf);
  if (!set) {
    const fresh = new Set<() => void>();
    watchers.set(srf, fresh);
    srf.on('close', () => {
      const lost = [...fresh];
      fresh.clear();
      for (const cb of lost) cb();
    });
    set = fresh;
  }
  const entry = () => onLost();
  set.add(entry);
  const watching = set;
  return () => { watching.delete(entry); };
}

/** How many legs watch this stack now (leak checks in tests and the soak). */
export function connectionLossWatchers(srf: object): number {
  return watchers.get(srf)?.size ?? 0;
}

/** The Reason watrunk records when the SIP server connection took the dialog (RFC 3326). */
export const CONNECTION_LOST_REASON = 'SIP;cause=503;text="drachtio-server connection lost"';
