/** RFC 4733 §2.3 telephone-event payload: event, E bit, volume, duration (in RTP clock units). */

export interface TelephoneEvent {
  event: number;
  end: boolean;
  volume: number;
  duration: number;
}

const DIGITS = '0123456789*#ABCD';

/** RFC 4733 §3.2 event codes: 0-9, * = 10, # = 11, A-D = 12-15. */
export function digitToEvent(digit: string): number {
  const i = DIGITS.indexOf(digit.toUpperCase());
  if (i < 0) throw new RangeError(`not a DTMF digit: ${JSON.stringify(digit)}`);
  return i;
}

export function eventToDigit(event: number): string {
  return DIGITS[event] ?? `?${event}`;
}

export function encodeTelephoneEvent(e: TelephoneEvent): Buffer {
  const b = Buffer.alloc(4);
  b[0] = e.event & 0xff;
  b[1] = (e.end ? 0x80 : 0) | (e.volume & 0x3f);
  b.writeUInt16BE(Math.min(0xffff, e.duration), 2);
  return b;
}

export function decodeTelephoneEvent(payload: Buffer): TelephoneEvent | undefined {
  if (payload.length < 4) return undefined;
  return {
    event: payload[0]!,
    end: (payload[1]! & 0x80) !== 0,
    volume: payload[1]! & 0x3f,
    duration: payload.readUInt16BE(2),
  };
}
