import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics.js';
import { NumberDirectory } from '../../src/calls/number-directory.js';
import { EventDispatcher } from '../../src/webhooks/event-dispatcher.js';
import type { WhatsAppEvent } from '../../src/calls/ports/whatsapp-events.js';

const NOW = 1_767_168_100;
function dispatcher(maxEventAgeS = 300) {
  const handled: WhatsAppEvent[] = [];
  const metrics = new Metrics();
  const d = new EventDispatcher({
    numbers: new NumberDirectory([{ name: 'sales', phone_number_id: '111', display_number: '1555' }]), maxEventAgeS, dedupeCapacity: 100,
    logger: pino({ level: 'silent' }), metrics, now: () => NOW * 1000,
    handle: (e) => { handled.push(e); },
  });
  return { d, handled, metrics };
}
const user = { number: '447700900123' };
const offered = (callId = 'wacid.A', ts = NOW - 1, phoneNumberId = '111'): WhatsAppEvent => ({
  kind: 'call.offered', direction: 'USER_INITIATED', phoneNumberId, callId, timestamp: ts, user, businessNumber: '1555', sdpOffer: 'v=0',
});
const terminated = (callId = 'wacid.A', ts = NOW): WhatsAppEvent => ({
  kind: 'call.terminated', phoneNumberId: '111', callId, timestamp: ts, user, status: 'COMPLETED', errors: [],
});

describe('EventDispatcher', () => {
  it('dispatches an event for a configured number', async () => {
    const { d, handled } = dispatcher();
    expect(await d.dispatch([offered()])).toEqual(['dispatched']);
    expect(handled).toHaveLength(1);
  });

  it('drops a duplicate (same call id, event and timestamp) but not a different event of the call', async () => {
    const { d, handled } = dispatcher();
    expect(await d.dispatch([offered(), offered(), terminated()])).toEqual(['dispatched', 'duplicate', 'dispatched']);
    expect(handled.map((e) => e.kind)).toEqual(['call.offered', 'call.terminated']);
  });

  it('counts and ignores an unknown phone_number_id', async () => {
    const { d, handled, metrics } = dispatcher();
    expect(await d.dispatch([offered('wacid.B', NOW, '999')])).toEqual(['unknown_number']);
    expect(handled).toEqual([]);
    expect((await metrics.webhookUnknownNumber.get()).values[0]?.value).toBe(1);
  });

  it('does not act on events older than the configured age; an event without timestamp is acted upon', async () => {
    const { d, handled } = dispatcher(60);
    expect(await d.dispatch([offered('wacid.OLD', NOW - 61), offered('wacid.NOTS', 0)])).toEqual(['stale', 'dispatched']);
    expect(handled.map((e) => (e as { callId: string }).callId)).toEqual(['wacid.NOTS']);
  });

  it('a terminate before its connect: the terminate is handled, the late connect does nothing', async () => {
    const { d, handled } = dispatcher();
    expect(await d.dispatch([terminated('wacid.C'), offered('wacid.C', NOW - 5)])).toEqual(['dispatched', 'after_terminate']);
    expect(handled.map((e) => e.kind)).toEqual(['call.terminated']);
  });

  it('an error thrown by the handler is contained', async () => {
    const d = new EventDispatcher({
      numbers: new NumberDirectory([{ name: 'sales', phone_number_id: '111', display_number: '1555' }]), maxEventAgeS: 300, dedupeCapacity: 10, logger: pino({ level: 'silent' }),
      metrics: new Metrics(), now: () => NOW * 1000, handle: () => { throw new Error('bug'); },
    });
    await expect(d.dispatch([offered()])).resolves.toEqual(['dispatched']);
  });
});
