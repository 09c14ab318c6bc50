import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseMetaWebhook, type ParsedDelivery } from '../../src/adapters/meta/webhook-parser.js';
import type { WhatsAppEvent } from '../../src/calls/ports/whatsapp-events.js';

const FIXTURES = new URL('../fixtures/meta/webhooks/', import.meta.url);
const load = (name: string): unknown => JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8'));
const parseFixture = (name: string): ParsedDelivery => parseMetaWebhook(load(name));

const PNID = '105615555715855';
const PNID_B = '106540352242922';
const WABA = '112735964992110';
const BUSINESS = '15551112222';
const ANN = { number: '447700900123', userId: 'GB.13491208655302741918', profileName: 'Ann', username: 'ann.example', countryCode: 'GB' };
const DOC_STATUS_CALL = 'wacid.ABGGFjFVU2AfAgo6V';
const DOC_CALL = 'wacid.ABGGFjFVU2AfAgo6V-Hc5eCgK5Gh';
const DOC_ERROR = { code: 138019, message: 'ERROR_TITLE', details: 'ERROR_DETAILS', href: 'ERROR_HREF' };

/** The SDP a fixture carries in calls[0].session.sdp (pass-through is what the parser promises). */
function sessionSdp(name: string, entry = 0, change = 0): string {
  const doc = load(name) as { entry: { changes: { value: { calls: { session: { sdp: string } }[] } }[] }[] };
  return doc.entry[entry]!.changes[change]!.value.calls[0]!.session.sdp;
}
const ICE_LITE_OFFER = sessionSdp('uic-connect-ice-lite-cta.json');

describe("fixtures from Meta's webhook examples", () => {
  it('business-initiated connect: answer SDP, callee contact, from/to swap detected', () => {
    const r = parseFixture('meta-doc-bic-connect.json');
    expect(r.events).toEqual([{
      kind: 'call.answered', phoneNumberId: PNID, callId: DOC_CALL, timestamp: 1671644824, direction: 'BUSINESS_INITIATED',
      user: { number: '16315553602', profileName: '<CALLEE_NAME>' }, businessNumber: '16315553601', sdpAnswer: '<<RFC 8866 SDP>>',
    }]);
    expect(r.ignored).toEqual([{ where: 'entry[0].changes[0].value.calls[0]', reason: expect.stringContaining('from/to look swapped') }]);
  });

  it.each([
    ['ringing', 'call.ringing'],
    ['accepted', 'call.accepted'],
    ['rejected', 'call.rejected'],
  ] as const)('call status %s → %s', (status, kind) => {
    const r = parseFixture(`meta-doc-call-status-${status}.json`);
    expect(r.events).toEqual([{
      kind, phoneNumberId: PNID, callId: DOC_STATUS_CALL, timestamp: 1671644824,
      user: { number: '163155536021' }, trackingData: 'random_string',
    }]);
    expect(r.ignored).toEqual([]);
  });

  it.each(['FAILED', 'COMPLETED'])('terminate with status %s: times coerced, value.errors taken', (status) => {
    const r = parseFixture(`meta-doc-terminate-${status.toLowerCase()}.json`);
    expect(r.events).toEqual([{
      kind: 'call.terminated', phoneNumberId: PNID, callId: DOC_CALL, timestamp: 1671644824, direction: 'BUSINESS_INITIATED',
      user: { number: '16315553601' }, businessNumber: '16315553602', status,
      startTime: 1671644824, endTime: 1671644944, durationS: 120, errors: [DOC_ERROR], trackingData: 'random_string',
    }]);
    expect(r.ignored).toEqual([]);
  });

  it.each(['user_action', 'automatic'])('permission reply snippet (%s), without message-level type', (source) => {
    const r = parseFixture(`meta-doc-permission-reply-${source.replace('_', '-')}.json`);
    expect(r.events).toEqual([{
      kind: 'permission.replied', phoneNumberId: PNID, messageId: 'wamid.sH0kFlaCGg0xcvZbgmg90lHrg2dL', timestamp: 1767168000,
      user: { number: '16315553602' }, response: 'accept', permanent: false, expiresAt: 1767772800, source,
      contextId: 'wacid.gBGGFlaCmZ9plHrf2Mh-o',
    }]);
    expect(r.ignored).toEqual([]);
  });

  it('full business-initiated sample: session SDP preferred over the legacy copy', () => {
    const r = parseFixture('meta-doc-bic-connect-full-sample.json');
    const sdp = sessionSdp('meta-doc-bic-connect-full-sample.json');
    expect(r.events).toEqual([{
      kind: 'call.answered', phoneNumberId: PNID, timestamp: 1724467313, direction: 'BUSINESS_INITIATED',
      callId: 'wacid.HBgLMTY1MDMxMzM5NzQVAgARGCAwQTJCRDYwNkEzQUNCQUVCMEFGMzYzRTYxNjMxMDdFMxwYCzE0MDg1NTUyODk5FQIAAA==',
      user: { number: '16501230000' }, businessNumber: BUSINESS, sdpAnswer: sdp,
    }]);
    expect(sdp).toMatch(/^v=0\r\n/);
    expect(sdp).toContain('m=audio 3482 UDP/TLS/RTP/SAVPF');
    expect(r.ignored).toEqual([]);
  });
});

describe('watrunk fixtures', () => {
  it('user-initiated connect: ice-lite offer, cta payload, contact with BSUID', () => {
    const r = parseFixture('uic-connect-ice-lite-cta.json');
    expect(r.events).toEqual([{
      kind: 'call.offered', phoneNumberId: PNID, timestamp: 1767168000, direction: 'USER_INITIATED',
      callId: 'wacid.HBgLNDQ3NzAwOTAwMTIzFQIAEhggQTFCMkMzRDRFNUY2QTdCOEM5RDBFMUYyQTNCNEM1RDYcGAsxNTU1MTExMjIyMhUCAAA=',
      user: ANN, businessNumber: BUSINESS, sdpOffer: ICE_LITE_OFFER, ctaPayload: 'ctx-42',
    }]);
    expect(ICE_LITE_OFFER).toContain('a=ice-lite\r\nm=audio 40012 UDP/TLS/RTP/SAVPF 111 126\r\n');
    expect(r.ignored).toEqual([]);
  });

  it('terminate "Failed" with errors only in calls[].errors', () => {
    const r = parseFixture('terminate-failed-call-errors.json');
    expect(r.events).toEqual([{
      kind: 'call.terminated', phoneNumberId: PNID, timestamp: 1767168130, direction: 'USER_INITIATED',
      callId: 'wacid.HBgLNDQ3NzAwOTAwMTIzFQIAEhggRkFJTEVEQ0FMTDAwMDAwMDAwMDAwMDAwMDAwMDAwMBwYCzE1NTUxMTEyMjIyFQIAAA==',
      user: { number: '447700900123', userId: 'GB.13491208655302741918' }, businessNumber: BUSINESS, status: 'FAILED',
      errors: [{ code: 138021, message: 'Media receive timeout', details: 'The client received no media',
        href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/' }],
      ctaPayload: 'ctx-42', deeplinkPayload: 'dl-7',
    }]);
    expect(r.ignored).toEqual([]);
  });

  it('2 entries × 2 changes: every event, in delivery order, with its own number', () => {
    const r = parseFixture('multi-entry-delivery.json');
    expect(r.events).toEqual([
      { kind: 'call.offered', phoneNumberId: PNID, callId: 'wacid.MULTI-A-1', timestamp: 1767168000, direction: 'USER_INITIATED',
        user: ANN, businessNumber: BUSINESS, sdpOffer: sessionSdp('multi-entry-delivery.json') },
      { kind: 'call.terminated', phoneNumberId: PNID, callId: 'wacid.MULTI-A-1', timestamp: 1767168130, direction: 'USER_INITIATED',
        user: { number: '447700900123' }, businessNumber: BUSINESS, status: 'COMPLETED',
        startTime: 1767168010, endTime: 1767168130, durationS: 120, errors: [] },
      { kind: 'call.accepted', phoneNumberId: PNID_B, callId: 'wacid.MULTI-B-1', timestamp: 1767168200,
        user: { number: '4915112345678', userId: 'DE.99887766554433221100' }, trackingData: 'watrunk:leg-7f3a' },
      { kind: 'permission.replied', phoneNumberId: PNID_B, messageId: 'wamid.MULTI-B-2', timestamp: 1767168300,
        user: { number: '4915112345678', userId: 'DE.99887766554433221100', profileName: 'Jonas' },
        response: 'accept', permanent: false, expiresAt: 1767773100, source: 'user_action', contextId: 'wamid.REQUEST-B-1' },
    ]);
    expect(r.ignored).toEqual([]);
  });

  it('BSUID-only caller: empty number, user id and profile from the contact', () => {
    const r = parseFixture('uic-connect-bsuid-only.json');
    expect(r.events).toEqual([{
      kind: 'call.offered', phoneNumberId: PNID, callId: 'wacid.BSUID-ONLY-1', timestamp: 1767168000, direction: 'USER_INITIATED',
      user: { number: '', userId: 'US.13491208655302741918', profileName: 'Sam', username: 'sam_w', countryCode: 'US' },
      businessNumber: BUSINESS, sdpOffer: sessionSdp('uic-connect-bsuid-only.json'),
    }]);
  });

  it('legacy-only connect: SDP decoded from the JSON string, direction from its type', () => {
    const r = parseFixture('uic-connect-legacy-only.json');
    expect(r.events).toEqual([{
      kind: 'call.offered', phoneNumberId: PNID, callId: 'wacid.LEGACY-ONLY-1', timestamp: 1767168000, direction: 'USER_INITIATED',
      user: { number: '447700900123' }, businessNumber: BUSINESS, sdpOffer: ICE_LITE_OFFER,
    }]);
    expect(r.ignored).toEqual([]);
  });

  it.each([
    ['permission-reply-accept-temporary.json',
      { messageId: 'wamid.REPLY-TEMP-1', response: 'accept', permanent: false, expiresAt: 1767772800, source: 'user_action', contextId: 'wamid.REQUEST-1' }],
    ['permission-reply-accept-permanent.json',
      { messageId: 'wamid.REPLY-PERM-1', response: 'accept', permanent: true, source: 'user_action' }],
    ['permission-reply-automatic-reject.json',
      { messageId: 'wamid.REPLY-AUTO-1', response: 'reject', permanent: false, source: 'automatic' }],
  ])('%s', (name, expected) => {
    const r = parseFixture(name);
    expect(r.events).toEqual([{ kind: 'permission.replied', phoneNumberId: PNID, timestamp: 1767168000, user: ANN, ...expected }]);
    expect(r.ignored).toEqual([]);
  });

  it('account_update ACCOUNT_RESTRICTION: WABA-level, timestamp from entry.time', () => {
    const r = parseFixture('account-update-restriction.json');
    const doc = load('account-update-restriction.json') as { entry: { changes: { value: unknown }[] }[] };
    expect(r.events).toEqual([{
      kind: 'account.notice', phoneNumberId: '', accountId: WABA, timestamp: 1767168000, event: 'ACCOUNT_RESTRICTION',
      raw: doc.entry[0]!.changes[0]!.value,
    }]);
    expect(r.ignored).toEqual([]);
  });

  it('account_settings_update: event from value.type, number from phone_number_settings', () => {
    const r = parseFixture('account-settings-update.json');
    expect(r.events).toEqual([{
      kind: 'account.notice', phoneNumberId: PNID, accountId: WABA, timestamp: 1767168000, event: 'PHONE_NUMBER_SETTINGS',
      raw: expect.objectContaining({ type: 'PHONE_NUMBER_SETTINGS', phone_number_settings: expect.objectContaining({ phone_number_id: PNID }) }),
    }]);
  });

  it('unknown field: ignored with its path', () => {
    expect(parseFixture('unknown-field.json')).toEqual({
      events: [],
      ignored: [{ where: 'entry[0].changes[0]', reason: 'unsupported field "message_template_status_update"' }],
    });
  });

  it('recording, SIP-mode and unknown call events: ignored, not fatal', () => {
    expect(parseFixture('unknown-call-event.json')).toEqual({
      events: [],
      ignored: [
        { where: 'entry[0].changes[0].value.calls[0]', reason: 'unsupported event "call_recording_available"' },
        { where: 'entry[0].changes[0].value.calls[1]', reason: 'unsupported event "call_created"' },
        { where: 'entry[0].changes[0].value.calls[2]', reason: 'unknown event "hold"' },
      ],
    });
  });
});

// ---- inline deliveries for the rules the fixtures do not pin down

const callsDelivery = (value: Record<string, unknown>) => ({
  object: 'whatsapp_business_account',
  entry: [{ id: WABA, changes: [{ field: 'calls', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: BUSINESS, phone_number_id: PNID }, ...value } }] }],
});
const messagesDelivery = (messages: unknown[], extra: Record<string, unknown> = {}) => ({
  object: 'whatsapp_business_account',
  entry: [{ id: WABA, changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: BUSINESS, phone_number_id: PNID }, messages, ...extra } }] }],
});
const SDP = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n';
const connect = (extra: Record<string, unknown>) => ({ id: 'wacid.X', event: 'connect', timestamp: '1767168000', from: '447700900123', to: BUSINESS, ...extra });
const only = (r: ParsedDelivery): WhatsAppEvent => {
  expect(r.events).toHaveLength(1);
  return r.events[0]!;
};

describe('connect rules', () => {
  it.each([
    ['offer', 'call.offered', 'USER_INITIATED'],
    ['answer', 'call.answered', 'BUSINESS_INITIATED'],
  ])('no direction: sdp_type %s → %s', (sdpType, kind, direction) => {
    const r = parseMetaWebhook(callsDelivery({ calls: [connect({ session: { sdp_type: sdpType, sdp: SDP } })] }));
    expect(only(r)).toMatchObject({ kind, direction });
  });

  it('business-initiated: the user is `to`, with its BSUID; biz_opaque_callback_data → trackingData', () => {
    const r = parseMetaWebhook(callsDelivery({ calls: [connect({
      direction: 'business_initiated', from: BUSINESS, to: '', to_user_id: 'US.1', biz_opaque_callback_data: 'leg-1',
      session: { sdp_type: 'answer', sdp: SDP } })] }));
    expect(only(r)).toEqual({
      kind: 'call.answered', phoneNumberId: PNID, callId: 'wacid.X', timestamp: 1767168000, direction: 'BUSINESS_INITIATED',
      user: { number: '', userId: 'US.1' }, businessNumber: BUSINESS, sdpAnswer: SDP, trackingData: 'leg-1',
    });
  });

  it('a BSUID in a phone field is kept as the user id, not cut down to its digits', () => {
    const r = parseMetaWebhook(callsDelivery({ calls: [connect({ direction: 'USER_INITIATED', from: 'US.13491208655302741918', session: { sdp: SDP } })] }));
    expect(only(r)).toMatchObject({ user: { number: '', userId: 'US.13491208655302741918' } });
    const formatted = parseMetaWebhook(callsDelivery({ calls: [connect({ direction: 'USER_INITIATED', from: '+44 7700-900123', session: { sdp: SDP } })] }));
    expect(only(formatted)).toMatchObject({ user: { number: '447700900123' } });
  });

  it('declared direction wins over a contradicting sdp_type, and the conflict is noted', () => {
    const r = parseMetaWebhook(callsDelivery({ calls: [connect({ direction: 'USER_INITIATED', session: { sdp_type: 'answer', sdp: SDP } })] }));
    expect(only(r).kind).toBe('call.offered');
    expect(r.ignored).toEqual([{ where: 'entry[0].changes[0].value.calls[0].direction', reason: expect.stringContaining('disagrees') }]);
  });

  it('unusable session SDP falls back to legacy; a bare SDP string is accepted there', () => {
    const r = parseMetaWebhook(callsDelivery({ calls: [connect({
      direction: 'USER_INITIATED', session: { sdp_type: 'offer', sdp: '  ' }, connection: { webrtc: { sdp: SDP } } })] }));
    expect(only(r)).toMatchObject({ kind: 'call.offered', sdpOffer: SDP });
  });

  it.each([
    ['no session, no connection', {}],
    ['empty session SDP', { session: { sdp_type: 'offer', sdp: '' } }],
    ['legacy string is not JSON', { connection: { webrtc: { sdp: '{not json' } } }],
    ['legacy JSON without sdp', { connection: { webrtc: { sdp: '{"type":"offer"}' } } }],
    ['session SDP of the wrong type', { session: { sdp_type: 'offer', sdp: 42 } }],
  ])('no usable SDP (%s) → ignored', (_label, extra) => {
    const r = parseMetaWebhook(callsDelivery({ calls: [connect({ direction: 'USER_INITIATED', ...extra })] }));
    expect(r.events).toEqual([]);
    expect(r.ignored).toContainEqual({ where: 'entry[0].changes[0].value.calls[0]', reason: expect.stringContaining('without a usable SDP') });
  });

  it('no direction and no SDP type → ignored', () => {
    const r = parseMetaWebhook(callsDelivery({ calls: [connect({ session: { sdp: SDP } })] }));
    expect(r.events).toEqual([]);
    expect(r.ignored[0]?.reason).toContain('cannot tell offer from answer');
  });

  it('contacts: matched by user_id among several; a contradicting single contact is not used', () => {
    const contacts = [{ wa_id: '111', profile: { name: 'Other' } }, { user_id: 'GB.7', profile: { name: 'Right' } }];
    const r1 = parseMetaWebhook(callsDelivery({ contacts, calls: [connect({ direction: 'USER_INITIATED', from: '', from_user_id: 'GB.7', session: { sdp: SDP } })] }));
    expect(only(r1)).toMatchObject({ user: { number: '', userId: 'GB.7', profileName: 'Right' } });
    const r2 = parseMetaWebhook(callsDelivery({ contacts: [{ wa_id: '999', profile: { name: 'Stranger' } }], calls: [connect({ direction: 'USER_INITIATED', session: { sdp: SDP } })] }));
    expect(only(r2)).toMatchObject({ user: { number: '447700900123' } });
    expect((only(r2) as { user: { profileName?: string } }).user.profileName).toBeUndefined();
  });

  it('numbers as JSON numbers: phone_number_id, from, timestamp coerced', () => {
    const body = callsDelivery({ calls: [connect({ direction: 'USER_INITIATED', from: 447700900123, timestamp: 1767168000, session: { sdp: SDP } })] });
    (body.entry[0]!.changes[0]!.value.metadata as Record<string, unknown>)['phone_number_id'] = 105615555715855;
    expect(only(parseMetaWebhook(body))).toMatchObject({ phoneNumberId: PNID, timestamp: 1767168000, user: { number: '447700900123' } });
  });

  it('missing timestamp → 0, noted; unknown call keys noted but the event is kept', () => {
    const r = parseMetaWebhook(callsDelivery({ calls: [connect({ direction: 'USER_INITIATED', timestamp: undefined, shiny_new: 1, session: { sdp: SDP } })] }));
    expect(only(r).timestamp).toBe(0);
    expect(r.ignored).toEqual(expect.arrayContaining([
      { where: 'entry[0].changes[0].value.calls[0].timestamp', reason: expect.stringContaining('using 0') },
      { where: 'entry[0].changes[0].value.calls[0].shiny_new', reason: 'unknown field, not used' },
    ]));
  });

  it('call without id, and call without metadata.phone_number_id → ignored', () => {
    const noId = parseMetaWebhook(callsDelivery({ calls: [connect({ id: '', direction: 'USER_INITIATED', session: { sdp: SDP } })] }));
    expect(noId.events).toEqual([]);
    expect(noId.ignored[0]?.reason).toContain('without a valid call id');
    const body = callsDelivery({ calls: [connect({ direction: 'USER_INITIATED', session: { sdp: SDP } })] });
    body.entry[0]!.changes[0]!.value.metadata = { display_phone_number: BUSINESS } as never;
    const noPnid = parseMetaWebhook(body);
    expect(noPnid.events).toEqual([]);
    expect(noPnid.ignored[0]?.reason).toContain('phone_number_id is missing');
  });
});

describe('terminate and status rules', () => {
  const terminate = (extra: Record<string, unknown>) => ({ id: 'wacid.T', event: 'terminate', timestamp: '1767168130', ...extra });

  it('errors from value.errors AND calls[].errors are merged, duplicates once; status upper-cased', () => {
    const shared = { code: '138021', message: 'Media receive timeout' };
    const r = parseMetaWebhook(callsDelivery({
      errors: [shared],
      calls: [terminate({ from: '447700900123', to: BUSINESS, status: 'completed', errors: [shared, { code: 138020, title: 'Relay connection failed' }] })],
    }));
    expect(only(r)).toMatchObject({
      status: 'COMPLETED',
      errors: [{ code: 138021, message: 'Media receive timeout' }, { code: 138020, message: 'Relay connection failed' }],
    });
  });

  it('without direction the display number tells which side is the user; bad numbers are noted', () => {
    const r = parseMetaWebhook(callsDelivery({ calls: [terminate({ from: BUSINESS, to: '447700900123', status: 'FAILED', duration: 'n/a', start_time: '1767168010' })] }));
    const e = only(r);
    expect(e).toMatchObject({ user: { number: '447700900123' }, businessNumber: BUSINESS, startTime: 1767168010 });
    expect(e).not.toHaveProperty('durationS');
    expect(e).not.toHaveProperty('direction');
    expect(r.ignored).toContainEqual({ where: 'entry[0].changes[0].value.calls[0].duration', reason: expect.stringContaining('not a number') });
  });

  it('missing status → "UNKNOWN", noted; errors without a numeric code are dropped, noted', () => {
    const r = parseMetaWebhook(callsDelivery({ errors: [{ code: 'INT_CODE' }, 'x'], calls: [terminate({ from: '447700900123', to: BUSINESS })] }));
    expect(only(r)).toMatchObject({ status: 'UNKNOWN', errors: [] });
    expect(r.ignored.map((i) => i.where)).toEqual([
      'entry[0].changes[0].value.errors[0]', 'entry[0].changes[0].value.errors[1]', 'entry[0].changes[0].value.calls[0].status',
    ]);
  });

  it('statuses: any case; message statuses and unknown call statuses ignored', () => {
    const r = parseMetaWebhook(callsDelivery({ statuses: [
      { id: 'wacid.S', type: 'CALL', status: 'Ringing', timestamp: 1767168005, recipient_user_id: 'GB.9' },
      { id: 'wamid.M', status: 'delivered', timestamp: '1767168006', recipient_id: '447700900123' },
      { id: 'wacid.S', type: 'call', status: 'BUSY', timestamp: '1767168007' },
    ] }));
    expect(r.events).toEqual([{ kind: 'call.ringing', phoneNumberId: PNID, callId: 'wacid.S', timestamp: 1767168005, user: { number: '', userId: 'GB.9' } }]);
    expect(r.ignored).toEqual([
      { where: 'entry[0].changes[0].value.statuses[1]', reason: 'status of type missing is not a call status' },
      { where: 'entry[0].changes[0].value.statuses[2]', reason: 'unknown call status "BUSY"' },
    ]);
  });
});

describe('messages rules', () => {
  const reply = (r: Record<string, unknown>, msg: Record<string, unknown> = {}) => ({
    from: '447700900123', id: 'wamid.R', timestamp: '1767168000', type: 'interactive',
    interactive: { type: 'call_permission_reply', call_permission_reply: { response: 'accept', response_source: 'user_action', ...r } }, ...msg,
  });

  it('is_permanent "true", expiration as number, response in upper case', () => {
    const r = parseMetaWebhook(messagesDelivery([reply({ response: 'ACCEPT', is_permanent: 'true', expiration_timestamp: 1767772800 })]));
    expect(only(r)).toMatchObject({ response: 'accept', permanent: true, expiresAt: 1767772800 });
  });

  it('BSUID from from_user_id; contact matched by wa_id', () => {
    const r = parseMetaWebhook(messagesDelivery([reply({}, { from_user_id: 'GB.1' })], { contacts: [{ wa_id: '447700900123', profile: { name: 'Ann' } }] }));
    expect(only(r)).toMatchObject({ user: { number: '447700900123', userId: 'GB.1', profileName: 'Ann' } });
  });

  it('unknown response ignored; missing response_source → "unknown", noted', () => {
    const bad = parseMetaWebhook(messagesDelivery([reply({ response: 'maybe' })]));
    expect(bad.events).toEqual([]);
    expect(bad.ignored[0]?.reason).toContain('unknown permission response');
    const noSource = parseMetaWebhook(messagesDelivery([reply({ response_source: undefined })]));
    expect(only(noSource)).toMatchObject({ source: 'unknown' });
    expect(noSource.ignored[0]?.where).toBe('entry[0].changes[0].value.messages[0].interactive.call_permission_reply.response_source');
  });

  it('voicemail audio, text and other interactive messages are ignored; message statuses too', () => {
    const r = parseMetaWebhook(messagesDelivery([
      { from: '447700900123', id: 'wacid.V', timestamp: '1', type: 'audio', audio: { id: 'm1', mime_type: 'audio/ogg; codecs=opus' } },
      { from: '447700900123', id: 'wamid.T', timestamp: '1', type: 'text', text: { body: 'hi' } },
      { from: '447700900123', id: 'wamid.B', timestamp: '1', type: 'interactive', interactive: { type: 'button_reply' } },
    ], { statuses: [{ id: 'wamid.S', status: 'read', timestamp: '1' }] }));
    expect(r.events).toEqual([]);
    expect(r.ignored.map((i) => i.reason)).toEqual([
      'audio message (e.g. a voicemail) is not handled',
      'message of type "text" is not handled',
      'message of type "interactive" (interactive "button_reply") is not handled',
      'status of type missing is not a call status',
    ]);
  });
});

describe('account notices', () => {
  it('account_update with metadata: number coerced to string, timestamp from value', () => {
    const r = parseMetaWebhook({ object: 'whatsapp_business_account', entry: [{ id: 7, changes: [{ field: 'account_update',
      value: { event: 'ACCOUNT_VIOLATION', timestamp: '1767168000', metadata: { phone_number_id: 105615555715855 } } }] }] });
    expect(only(r)).toMatchObject({ kind: 'account.notice', phoneNumberId: PNID, accountId: '7', timestamp: 1767168000, event: 'ACCOUNT_VIOLATION' });
  });

  it('no event and no timestamp anywhere: still a notice, with UNKNOWN and 0, both noted', () => {
    const r = parseMetaWebhook({ object: 'whatsapp_business_account', entry: [{ changes: [{ field: 'account_settings_update', value: {} }] }] });
    expect(only(r)).toEqual({ kind: 'account.notice', phoneNumberId: '', timestamp: 0, event: 'UNKNOWN', raw: {} });
    expect(r.ignored).toHaveLength(2);
  });
});

describe('hostile input never throws', () => {
  const throwing = { object: 'whatsapp_business_account', get entry(): unknown { throw new Error('boom'); } };
  const cases: [string, unknown][] = [
    ['null', null], ['undefined', undefined], ['string', 'entry'], ['number', 42], ['array', [1, 2]], ['boolean', true],
    ['wrong object', { object: 'page', entry: [] }],
    ['entry is a string', { object: 'whatsapp_business_account', entry: 'x' }],
    ['entry of nulls', { object: 'whatsapp_business_account', entry: [null, 1, 'x', []] }],
    ['changes is an object', { object: 'whatsapp_business_account', entry: [{ changes: {} }] }],
    ['changes of junk', { object: 'whatsapp_business_account', entry: [{ changes: [null, 5, { field: 7 }, { field: 'calls' }, { field: 'calls', value: [] }] }] }],
    ['calls is a number', callsDelivery({ calls: 5, statuses: 'x', contacts: 3, errors: {} })],
    ['calls of junk', callsDelivery({ calls: [null, [], 'connect', { event: 5 }, { event: 'connect', id: {} }, { event: 'terminate', id: 'w', errors: 'x' }] })],
    ['deep wrong types', callsDelivery({ metadata: [], contacts: [null, { profile: 'x', wa_id: {} }], calls: [connect({ direction: 7, session: [], connection: { webrtc: 9 } })] })],
    ['legacy JSON string is an array', callsDelivery({ calls: [connect({ connection: { webrtc: { sdp: '[1,2]' } } })] })],
    ['messages of junk', messagesDelivery([null, { interactive: 'x' }, { type: 'interactive', interactive: { type: 'call_permission_reply', call_permission_reply: 'x' } }])],
    ['huge numbers and NaN-like strings', callsDelivery({ calls: [connect({ timestamp: '1e400', direction: 'USER_INITIATED', session: { sdp: SDP } })] })],
    ['__proto__ keys', JSON.parse('{"object":"whatsapp_business_account","entry":[{"__proto__":{"changes":1},"changes":[{"__proto__":null,"field":"calls","value":{"__proto__":{}}}]}]}')],
    ['throwing getter', throwing],
  ];
  it.each(cases)('%s', (_label, body) => {
    let r: ParsedDelivery | undefined;
    expect(() => { r = parseMetaWebhook(body); }).not.toThrow();
    expect(Array.isArray(r!.events)).toBe(true);
    expect(r!.ignored.length).toBeGreaterThan(0);
    for (const e of r!.events) expect(typeof e.timestamp).toBe('number');
  });

  it('a throwing getter is reported as a parser error', () => {
    expect(parseMetaWebhook(throwing).ignored).toContainEqual({ where: '$', reason: 'parser error: boom' });
  });

  it('non-WABA object: whole delivery ignored with the reason', () => {
    expect(parseMetaWebhook({ object: 'instagram', entry: [{ changes: [] }] })).toEqual({
      events: [], ignored: [{ where: 'object', reason: 'object is "instagram", expected "whatsapp_business_account": delivery ignored' }],
    });
  });
});
