import { numberKey } from '../calls/number-directory.js';
import type { WhatsAppEvent } from '../calls/ports/whatsapp-events.js';
import type { NumberConfig } from '../config/schema.js';

/**
 * Which configured number each event of a delivery belongs to, when the delivery came in on a
 * provider's own path (a 360dialog number's webhook path, a CAMS or Concepto Móvil events token).
 * Such a path serves a known set of numbers, so:
 *  - an event naming one of them (its phone_number_id, its key, or its business number) is kept;
 *  - a path serving one number takes every other event as that number's, unless the number has a
 *    phone_number_id and the event names a different one: Meta-shaped deliveries carry Meta's id,
 *    which a number configured without one does not know;
 *  - events for numbers the path does not serve are dropped (a token opens only its own numbers).
 * Events come out with phoneNumberId set to the number's key (numberKey), which the dispatcher routes by.
 */
export interface Attribution {
  events: WhatsAppEvent[];
  /** Events dropped because they name a number the path does not serve. */
  foreign: number;
}

type Served = Pick<NumberConfig, 'name' | 'phone_number_id' | 'display_number'>;

export function attributeEvents(events: readonly WhatsAppEvent[], served: readonly Served[]): Attribution {
  const out: WhatsAppEvent[] = [];
  let foreign = 0;
  const only = served.length === 1 ? served[0] : undefined;
  for (const e of events) {
    const named = e.phoneNumberId;
    const direct = served.find((n) => named !== undefined && (named === n.phone_number_id || named === numberKey(n)));
    const byDigits = direct ?? served.find((n) => 'businessNumber' in e && e.businessNumber === n.display_number);
    const taken = byDigits ?? (only && (only.phone_number_id === undefined || named === undefined) ? only : undefined);
    if (!taken) {
      foreign += 1;
      continue;
    }
    out.push(e.phoneNumberId === numberKey(taken) ? e : { ...e, phoneNumberId: numberKey(taken) });
  }
  return { events: out, foreign };
}
