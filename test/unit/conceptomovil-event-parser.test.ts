import { describe, expect, it } from 'vitest';
import { parseConceptoMovilEvent } from '../../src/adapters/conceptomovil/conceptomovil-event-parser.js';
import { unixSecondsOf } from '../../src/adapters/conceptomovil/conceptomovil-flat-event.js';

const BUSINESS = '5215500000001';
const USER = '5215500000002';
const CALL_ID = 'wacid.ABGGFjFVU2AfAgo6V-Hc5eCgK5Gh';
const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n';
const opts = { businessNumbers: [BUSINESS], phoneNumberIdFor: (n: string) => (n === BUSINESS ? 'PNID-1' : undefined) };

const metaConnect = {
  object: 'whatsapp_business_account',
  entry: [{ id: 'WABA', changes: [{ field: 'calls', value: {
    messaging_product: 'whatsapp', metadata: { display_phone_number: BUSINESS, phone_number_id: 'PNID-1' },
    calls: [{ id: CALL_ID, from: USER, to: BUSINESS, event: 'connect', timestamp: '1724467313', direction: 'USER_INITIATED', session: { sdp_type: 'offer', sdp: SDP } }],
  } }] }],
};
const offered = {
  kind: 'call.offered', phoneNumberId: 'PNID-1', callId: CALL_ID, timestamp: 1724467313, direction: 'USER_INITIATED',
  user: { number: USER }, businessNumber: BUSINESS, sdpOffer: SDP,
};

describe('parseConceptoMovilEvent: Meta-shaped bodies', () => {
  it('reads Meta\'s webhook with Meta\'s parser', () => {
    const r = parseConceptoMovilEvent(metaConnect, opts);
    expect(r.shape).toBe('meta');
    expect(r.events).toEqual([offered]);
  });

  it('reads Meta\'s value object sent without the envelope', () => {
    const r = parseConceptoMovilEvent(metaConnect.entry[0]!.changes[0]!.value, opts);
    expect(r.shape).toBe('meta');
    expect(r.events).toEqual([offered]);
  });
});

describe('parseConceptoMovilEvent: flat bodies', () => {
  it('a flat user-initiated connect gives the same event as Meta\'s (+ stripped, ms timestamp in seconds)', () => {
    const r = parseConceptoMovilEvent({ call_id: CALL_ID, from: `+${USER}`, to: `+${BUSINESS}`, event: 'connect', sdp: SDP, timestamp: 1724467313000 }, opts);
    expect(r.shape).toBe('flat');
    expect(r.events).toEqual([offered]);
    expect(r.ignored).toEqual([]);
  });

  it('a business-initiated connect carries the SDP answer; `status` works in place of `event`', () => {
    const r = parseConceptoMovilEvent({ callId: CALL_ID, from: BUSINESS, to: USER, status: 'CONNECT', sdp: SDP, timestamp: '1724467313', biz_opaque_callback_data: 'wt-9' }, opts);
    expect(r.events).toEqual([{
      kind: 'call.answered', phoneNumberId: 'PNID-1', callId: CALL_ID, timestamp: 1724467313, direction: 'BUSINESS_INITIATED',
      user: { number: USER }, businessNumber: BUSINESS, sdpAnswer: SDP, trackingData: 'wt-9',
    }]);
  });

  it('an explicit direction or sdp_type decides without known business numbers; the number routes when there is no resolver', () => {
    const r = parseConceptoMovilEvent({ call_id: CALL_ID, from: USER, to: BUSINESS, event: 'connect', sdp_type: 'offer', sdp: SDP, timestamp: 1 });
    expect(r.events[0]).toMatchObject({ kind: 'call.offered', phoneNumberId: BUSINESS, user: { number: USER } });
  });

  it.each([
    ['RINGING', 'call.ringing'], ['accepted', 'call.accepted'], ['REJECTED', 'call.rejected'],
  ])('status %s → %s (business-initiated: the user is `to`)', (status, kind) => {
    const r = parseConceptoMovilEvent({ call_id: CALL_ID, from: BUSINESS, to: USER, status, timestamp: 1724467313 }, opts);
    expect(r.events).toEqual([{ kind, phoneNumberId: 'PNID-1', callId: CALL_ID, timestamp: 1724467313, user: { number: USER } }]);
  });

  it('terminate with status, duration and errors', () => {
    const r = parseConceptoMovilEvent({
      call_id: CALL_ID, from: USER, to: BUSINESS, event: 'terminate', status: 'Failed', timestamp: 1724467400,
      start_time: 1724467313000, end_time: '1724467400', duration: '87', errors: [{ code: 138021, message: 'media timeout' }],
    }, opts);
    expect(r.events).toEqual([{
      kind: 'call.terminated', phoneNumberId: 'PNID-1', callId: CALL_ID, timestamp: 1724467400, direction: 'USER_INITIATED',
      user: { number: USER }, businessNumber: BUSINESS, status: 'FAILED', startTime: 1724467313, endTime: 1724467400, durationS: 87,
      errors: [{ code: 138021, message: 'media timeout' }],
    }]);
  });

  it('an event word alone ("completed") is a terminate; a missing timestamp becomes 0 and is noted', () => {
    const r = parseConceptoMovilEvent({ call_id: CALL_ID, from: USER, to: BUSINESS, event: 'completed' }, opts);
    expect(r.events[0]).toMatchObject({ kind: 'call.terminated', status: 'COMPLETED', timestamp: 0 });
    expect(r.ignored).toEqual([{ where: '$.timestamp', reason: 'timestamp is missing, not a Unix time: using 0 (unknown age)' }]);
  });

  it('a connect it cannot orient, or without SDP, is ignored with a reason', () => {
    const noSide = parseConceptoMovilEvent({ call_id: CALL_ID, from: '111', to: '222', event: 'connect', sdp: SDP, timestamp: 1 });
    expect(noSide.events).toEqual([]);
    expect(noSide.ignored[0]!.reason).toMatch(/cannot tell offer from answer/);
    const noSdp = parseConceptoMovilEvent({ call_id: CALL_ID, from: USER, to: BUSINESS, event: 'connect', timestamp: 1 }, opts);
    expect(noSdp.ignored[0]!.reason).toBe('connect without an SDP');
    const unknown = parseConceptoMovilEvent({ call_id: CALL_ID, from: USER, to: BUSINESS, event: 'call_recording_available' }, opts);
    expect(unknown.ignored[0]!.reason).toMatch(/unknown call event/);
  });

  it('a BSUID in from/to is kept as the user id', () => {
    const r = parseConceptoMovilEvent({ call_id: CALL_ID, from: 'US.13491208655302741918', to: BUSINESS, event: 'connect', sdp: SDP, timestamp: 1 }, opts);
    expect(r.events[0]).toMatchObject({ kind: 'call.offered', user: { number: '', userId: 'US.13491208655302741918' } });
  });
});

describe('parseConceptoMovilEvent: batches and unknown shapes', () => {
  it('reads a JSON array mixing shapes', () => {
    const r = parseConceptoMovilEvent([metaConnect, { call_id: CALL_ID, from: BUSINESS, to: USER, status: 'ringing', timestamp: 2 }], opts);
    expect(r.shape).toBe('mixed');
    expect(r.events.map((e) => e.kind)).toEqual(['call.offered', 'call.ringing']);
  });

  it('an unknown shape yields no event and its top-level keys only (never values)', () => {
    const r = parseConceptoMovilEvent({ type: 'voice', payload: { secret: 'x' }, sdp_blob: SDP }, opts);
    expect(r.shape).toBe('unknown');
    expect(r.events).toEqual([]);
    expect(r.unknownKeys).toEqual(['type', 'payload', 'sdp_blob']);
    expect(JSON.stringify(r)).not.toContain('v=0');
    const partly = parseConceptoMovilEvent([{ call_id: CALL_ID, from: BUSINESS, to: USER, status: 'ringing', timestamp: 2 }, 'text', { foo: 1 }], opts);
    expect(partly.shape).toBe('flat');
    expect(partly.unknownKeys).toEqual(['foo']);
    expect(partly.ignored.map((i) => i.where)).toEqual(['[1]', '[2]']);
  });

  it('never throws on odd input', () => {
    for (const body of [null, 42, 'x', [], {}, { call_id: 5, event: {} }]) {
      expect(() => parseConceptoMovilEvent(body, opts)).not.toThrow();
    }
    expect(parseConceptoMovilEvent([], opts).shape).toBe('unknown');
  });

  it('unixSecondsOf reads seconds, milliseconds, numeric strings and ISO dates', () => {
    expect(unixSecondsOf(1724467313)).toBe(1724467313);
    expect(unixSecondsOf(1724467313999)).toBe(1724467313);
    expect(unixSecondsOf('1724467313')).toBe(1724467313);
    expect(unixSecondsOf('2024-08-24T02:41:53Z')).toBe(1724467313);
    expect(unixSecondsOf('soon')).toBeUndefined();
  });
});
