import type { NumberConfig } from '../config/schema.js';

/** What identifies a business number (`numbers[]` in the config): its name, Meta's phone_number_id, the number itself. */
export type NumberIdentity = Pick<NumberConfig, 'name' | 'phone_number_id' | 'display_number'>;

export class UnknownNumberError extends Error {
  override readonly name = 'UnknownNumberError';
  constructor(wanted: string, known: string[]) {
    super(`no business number "${wanted}" in numbers[] (known: ${known.join(', ')})`);
  }
}

const digitsOf = (s: string): string => s.replace(/[^0-9]/g, '');

/**
 * What events of a number are routed by (WhatsAppEvent.phoneNumberId): Meta's phone_number_id, or,
 * for a provider that does not name it (docs/providers.md), the number's own digits.
 */
export function numberKey(n: Pick<NumberIdentity, 'phone_number_id' | 'display_number'>): string {
  return n.phone_number_id ?? n.display_number;
}

/**
 * The configured business numbers, looked up by what each caller has in hand: a name (trunks[].numbers,
 * the call registry), a phone_number_id (webhooks: docs/whatsapp-calling.md#envelope), or the number's
 * digits (a SIP header or From user, a person typing "+1 555-111-2222"). Built once from `numbers[]`.
 * The config refuses duplicate names and phone_number_ids; should two numbers share a display_number,
 * the first in the config wins.
 */
export class NumberDirectory<N extends NumberIdentity = NumberConfig> {
  private readonly names = new Map<string, N>();
  private readonly ids = new Map<string, N>();
  private readonly digits = new Map<string, N>();

  constructor(private readonly numbers: readonly N[]) {
    for (const n of numbers) {
      if (!this.names.has(n.name)) this.names.set(n.name, n);
      const key = numberKey(n);
      if (!this.ids.has(key)) this.ids.set(key, n);
      if (!this.digits.has(n.display_number)) this.digits.set(n.display_number, n);
    }
  }

  byName(name: string): N | undefined {
    return this.names.get(name);
  }

  /** Meta's phone_number_id, exactly as given (webhooks, Graph paths); the display number for a number without one (numberKey). */
  byPhoneNumberId(phoneNumberId: string | undefined): N | undefined {
    return phoneNumberId === undefined ? undefined : this.ids.get(phoneNumberId);
  }

  /** The business number itself (display_number); anything but digits in `number` is ignored. */
  byDigits(number: string | undefined): N | undefined {
    const digits = number === undefined ? '' : digitsOf(number);
    return digits === '' ? undefined : this.digits.get(digits);
  }

  /** A number as people name it (CLI, admin API): its name, else its phone_number_id or display number. */
  find(wanted: string): N | undefined {
    const digits = digitsOf(wanted);
    return this.byName(wanted) ?? (digits === '' ? undefined : this.ids.get(digits) ?? this.digits.get(digits));
  }

  /** find(), or UnknownNumberError naming the configured numbers. */
  resolve(wanted: string): N {
    const found = this.find(wanted);
    if (!found) throw new UnknownNumberError(wanted, [...this.names.keys()]);
    return found;
  }

  /** Every number, in config order. */
  all(): readonly N[] {
    return this.numbers;
  }
}
