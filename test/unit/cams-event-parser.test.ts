import { describe, expect, it } from 'vitest';
import { parseCamsDelivery, topLevelKeys } from '../../src/adapters/cams/cams-event-parser.js';
import { parseMetaWebhook } from '../../src/adapters/meta/webhook-parser.js';

const BUSINESS = '8613800000000';
const USER = '447700900123';
const CALL_ID = 'wacid.HBgLNDQ3NzAwOTAwMTIzFQIAEhggQ0FMTElE_-=';
const OFFER = 'v=0\r\no=- 1 2 IN IP4 198.51.100.7\r\ns=-\r\nt=0 0\r\nm=audio 3482 UDP/TLS/RTP/SAVPF 111\r\n';
const ANSWER = 'v=0\r\no=- 3 4 IN IP4 198.51.100.7\r\ns=-\r\nt=0 0\r\nm=audio 3482 UDP/TLS/RTP/SAVPF 111\r\na=setup:active\r\n';
const TS_MS = 1_767_225_600_123;
const TS_S = 1_767_225_600;

const META_CONNECT = {
  object: 'whatsapp_business_account',
  entry: [{
    id: '112735964992110',
    changes: [{
      field: 'calls',
      value: {
        messaging_product: 'whatsapp',
        metadata: { display_phone_number: '15551112222', phone_number_id: '105615555715855' },
        contacts: [{ profile: { name: 'Ann' }, wa_id: USER }],
        calls: [{
          id: CALL_ID, from: USER, to: '15551112222', event: 'connect', timestamp: '1671644824', direction: 'USER_INITIATED',
          session: { sdp_type: 'offer', sdp: OFFER },
        }],
      },
    }],
  }],
};

describe('Meta-shaped deliveries', () => {
  it('are handed to the Meta parser unchanged', () => {
    const r = parseCamsDelivery(META_CONNECT);
    expect(r.shape).toBe('meta');
    expect(r.events).toEqual(parseMetaWebhook(META_CONNECT).events);
    expect(r.events[0]).toMatchObject({ kind: 'call.offered', callId: CALL_ID, phoneNumberId: '105615555715855', sdpOffer: OFFER });
  });

  it('a JSON array of Meta bodies (batch push) yields the events of all of them', () => {
    const r = parseCamsDelivery([META_CONNECT, META_CONNECT]);
    expect(r.shape).toBe('meta');
    expect(r.events).toHaveLength(2);
  });
});

describe('CAMS-style PascalCase arrays', () => {
  it('user-initiated connect: offer, "+" stripped, ms timestamp → seconds, routed by the business number', () => {
    const r = parseCamsDelivery([{
      CallId: CALL_ID, From: `+${USER}`, To: BUSINESS, Event: 'connect', Direction: 'USER_INITIATED',
      Timestamp: TS_MS, CustSpaceId: 'cams-space-1', Session: { SdpType: 'offer', Sdp: OFFER },
    }]);
    expect(r.shape).toBe('cams');
    expect(r.events).toEqual([{
      kind: 'call.offered', phoneNumberId: BUSINESS, callId: CALL_ID, timestamp: TS_S, direction: 'USER_INITIATED',
      user: { number: USER }, businessNumber: BUSINESS, sdpOffer: OFFER,
    }]);
    expect(r.ignored).toEqual([]);
  });

  it('business-initiated connect with Session as a JSON string and no Direction: the answer decides', () => {
    const r = parseCamsDelivery([{
      CallId: CALL_ID, From: BUSINESS, To: USER, Event: 'connect', Timestamp: TS_MS,
      Session: JSON.stringify({ Sdp: ANSWER, SdpType: 'answer' }),
    }]);
    expect(r.events).toEqual([{
      kind: 'call.answered', phoneNumberId: BUSINESS, callId: CALL_ID, timestamp: TS_S, direction: 'BUSINESS_INITIATED',
      user: { number: USER }, businessNumber: BUSINESS, sdpAnswer: ANSWER,
    }]);
  });

  it.each([
    ['RINGING', 'call.ringing'], ['ACCEPTED', 'call.accepted'], ['rejected', 'call.rejected'],
  ] as const)('Status %s → %s (the user is To)', (status, kind) => {
    const r = parseCamsDelivery([{ CallId: CALL_ID, From: `+${BUSINESS}`, To: `+${USER}`, Status: status, Timestamp: TS_MS }]);
    expect(r.events).toEqual([{ kind, phoneNumberId: BUSINESS, callId: CALL_ID, timestamp: TS_S, user: { number: USER } }]);
  });

  it('terminate: status, times in ms, duration, numeric error codes; a non-numeric one is noted', () => {
    const r = parseCamsDelivery([{
      CallId: CALL_ID, From: USER, To: BUSINESS, Event: 'terminate', Direction: 'USER_INITIATED', Status: 'Failed',
      Timestamp: TS_MS, StartTime: TS_MS - 60_000, EndTime: TS_MS, Duration: 60,
      Errors: [{ Code: 138021, Message: 'media timeout' }, { Code: 'X1', Message: 'odd' }],
    }]);
    expect(r.events).toEqual([{
      kind: 'call.terminated', phoneNumberId: BUSINESS, callId: CALL_ID, timestamp: TS_S, direction: 'USER_INITIATED',
      user: { number: USER }, businessNumber: BUSINESS, status: 'FAILED', startTime: TS_S - 60, endTime: TS_S, durationS: 60,
      errors: [{ code: 138021, message: 'media timeout' }],
    }]);
    expect(r.ignored).toEqual([{ where: '[0].Errors', reason: expect.stringContaining('not numeric') }]);
  });

  it('a terminal Status without an Event ends the call; a flat ErrorCode is read', () => {
    const r = parseCamsDelivery([{ CallId: CALL_ID, From: BUSINESS, To: USER, Status: 'COMPLETED', Timestamp: TS_MS, ErrorCode: '138006', ErrorMessage: 'no permission' }]);
    expect(r.events).toEqual([expect.objectContaining({
      kind: 'call.terminated', status: 'COMPLETED', user: { number: USER }, businessNumber: BUSINESS,
      errors: [{ code: 138006, message: 'no permission' }],
    })]);
  });

  it('accepts camelCase and snake_case spellings, and explicit BusinessNumber/UserNumber', () => {
    const r = parseCamsDelivery([
      { callId: 'c1', from: USER, to: BUSINESS, event: 'connect', timestamp: TS_S, session: { sdpType: 'offer', sdp: OFFER } },
      { call_id: 'c2', business_number: `+${BUSINESS}`, user_number: USER, status: 'ringing', timestamp: TS_MS },
    ]);
    expect(r.events.map((e) => [e.kind, 'callId' in e ? e.callId : '', e.phoneNumberId, e.timestamp])).toEqual([
      ['call.offered', 'c1', BUSINESS, TS_S],
      ['call.ringing', 'c2', BUSINESS, TS_S],
    ]);
  });

  it('a single object with a CallId counts as a one-item batch', () => {
    const r = parseCamsDelivery({ CallId: CALL_ID, From: BUSINESS, To: USER, Status: 'ACCEPTED', Timestamp: TS_MS });
    expect(r.shape).toBe('cams');
    expect(r.events).toHaveLength(1);
    expect(r.ignored).toEqual([]);
  });

  it('a resolver maps to the configured phoneNumberId, drops unknown numbers, and picks the business side', () => {
    const resolver = (n: string, space: string | undefined) => (n === BUSINESS && space !== 'other' ? 'pnid-1' : undefined);
    const r = parseCamsDelivery([
      // No direction, user on From: the resolver knows To.
      { CallId: 'c1', From: USER, To: BUSINESS, Event: 'terminate', Status: 'COMPLETED', Timestamp: TS_MS },
      { CallId: 'c2', From: BUSINESS, To: USER, Status: 'RINGING', Timestamp: TS_MS, CustSpaceId: 'other' },
    ], { phoneNumberIdFor: resolver });
    expect(r.events).toEqual([expect.objectContaining({ kind: 'call.terminated', callId: 'c1', phoneNumberId: 'pnid-1', user: { number: USER } })]);
    expect(r.ignored).toEqual([{ where: '[1]', reason: expect.stringContaining('is not known') }]);
  });

  it('notes what it cannot use: items without CallId, unknown events, missing timestamps, connects without SDP', () => {
    const r = parseCamsDelivery([
      { MessageId: 'm1', Status: 'DELIVERED' },
      { CallId: 'c1', From: USER, To: BUSINESS, Event: 'call_recording_available', Timestamp: TS_MS },
      { CallId: 'c2', From: BUSINESS, To: USER, Status: 'RINGING' },
      { CallId: 'c3', From: USER, To: BUSINESS, Event: 'connect', Direction: 'USER_INITIATED', Timestamp: TS_MS },
      'garbage',
      { CallId: 'c4', From: USER, To: BUSINESS, Event: 'constructor', Timestamp: TS_MS },
    ]);
    expect(r.shape).toBe('cams');
    expect(r.events).toEqual([expect.objectContaining({ kind: 'call.ringing', callId: 'c2', timestamp: 0 })]);
    expect(r.ignored.map((i) => i.where)).toEqual(['[0]', '[1]', '[2].Timestamp', '[3]', '[4]', '[5]']);
  });
});

describe('unknown shapes', () => {
  it('are reported with their top-level key names only, never values', () => {
    const r = parseCamsDelivery({ foo: 'SECRET-VALUE', Bar: { nested: 1 } });
    expect(r.shape).toBe('unknown');
    expect(r.events).toEqual([]);
    expect(r.keys).toEqual(['Bar', 'foo']);
    expect(JSON.stringify(r)).not.toContain('SECRET-VALUE');
  });

  it.each([null, 42, 'text', [1, 2], [{ MessageId: 'm' }]])('never throws: %j', (body) => {
    const r = parseCamsDelivery(body);
    expect(r.shape).toBe('unknown');
    expect(r.events).toEqual([]);
  });

  it('topLevelKeys lists the keys of an object or of an array\'s items, sorted', () => {
    expect(topLevelKeys({ b: 1, a: 2 })).toEqual(['a', 'b']);
    expect(topLevelKeys([{ CallId: 1 }, { From: 2, CallId: 3 }, 'x'])).toEqual(['CallId', 'From']);
    expect(topLevelKeys('x')).toEqual([]);
  });

  it('an empty array is an empty CAMS batch', () => {
    expect(parseCamsDelivery([])).toEqual({ shape: 'cams', events: [], ignored: [] });
  });
});
