import { afterEach, describe, expect, it } from 'vitest';
import { ConceptoMovilCallUsers } from '../../src/adapters/conceptomovil/conceptomovil-call-users.js';
import { ConceptoMovilCalls, parseConceptoMovilConnectResponse } from '../../src/adapters/conceptomovil/conceptomovil-calls.js';
import { createConceptoMovilNumber, type ConceptoMovilNumber } from '../../src/adapters/conceptomovil/conceptomovil-number.js';
import { parseConceptoMovilEvent } from '../../src/adapters/conceptomovil/conceptomovil-event-parser.js';
import { ProviderError } from '../../src/calls/ports/whatsapp-errors.js';
import { Metrics } from '../../src/metrics.js';
import { GraphStub, SDP_ANSWER, SDP_OFFER, captureLogger, rejectionOf, type StubReply, type SeenRequest } from '../support/meta-graph-stub.js';

const API_KEY = '101';
const API_TOKEN = 'cm-api-token-not-real-Hq2=';
const BEARER = 'cm-bearer-not-real-Yy7';
const BUSINESS = '5215500000001';
const USER = '5215500000002';
const CALL_ID = 'wacid.ABGGFjFVU2AfAgo6V-Hc5eCgK5Gh';
const TOKEN_PATH = '/whatsapp-bsp-api-endpoint-ws/services/v1/auth/token';
const CALL_PATH = '/whatsapp-bsp-api-endpoint/services/v1/call';

let stub: GraphStub | undefined;
let num: ConceptoMovilNumber | undefined;
afterEach(async () => {
  await num?.close();
  await stub?.close();
  stub = undefined;
  num = undefined;
});

/** A stub answering the token endpoint with BEARER and the call endpoint with `api` (or 200 {}). */
async function start(api: (req: SeenRequest) => StubReply = () => ({ body: {} })) {
  stub = await GraphStub.start();
  stub.otherwise({ from: (req) => (req.path === TOKEN_PATH ? { body: { token: BEARER } } : api(req)) });
  const log = captureLogger();
  num = createConceptoMovilNumber(
    { name: 'mx', baseUrl: stub.url, apiKey: API_KEY, apiToken: API_TOKEN, businessNumber: `+${BUSINESS}`, wabaId: '1234', timeoutMs: 2_000 },
    { logger: log.logger, metrics: new Metrics(), retryDelayMs: 5 },
  );
  return { stub, num, log, calls: () => stub!.requests.filter((r) => r.path === CALL_PATH) };
}

describe('Concepto Móvil call actions: flat body on POST …/services/v1/call', () => {
  it('fetches a token with Api-Key / Api-Token, then sends connect with the bearer token and the documented body', async () => {
    const { stub, num, calls } = await start(() => ({ body: { calls: [{ id: CALL_ID }] } }));
    const r = await num.calls.connect({ to: `+${USER}`, sdpOffer: SDP_OFFER, trackingData: '0fS5cePMok' });
    expect(r).toEqual({ callId: CALL_ID });
    const [tokenReq] = stub.requests;
    expect(tokenReq!.method).toBe('GET');
    expect(tokenReq!.path).toBe(TOKEN_PATH);
    expect(tokenReq!.headers['api-key']).toBe(API_KEY);
    expect(tokenReq!.headers['api-token']).toBe(API_TOKEN);
    expect(tokenReq!.headers['authorization']).toBeUndefined();
    const [call] = calls();
    expect(call!.method).toBe('POST');
    expect(call!.headers['authorization']).toBe(`Bearer ${BEARER}`);
    expect(call!.headers['content-type']).toBe('application/json');
    expect(call!.headers['api-token']).toBeUndefined();
    expect(call!.rawBody).toBe(JSON.stringify({ from: BUSINESS, to: USER, action: 'connect', sdp: SDP_OFFER, biz_opaque_callback_data: '0fS5cePMok' }));
  });

  it('sends pre_accept, accept, reject and terminate with from, to, action, call_id and sdp (no sdp_type, no messaging_product)', async () => {
    const { num, calls } = await start();
    num.callUsers.remember(CALL_ID, USER);
    await num.calls.preAccept(CALL_ID, SDP_ANSWER);
    await num.calls.accept(CALL_ID, SDP_ANSWER, 'ignored-tracking');
    await num.calls.reject(CALL_ID);
    await num.calls.terminate(CALL_ID);
    expect(calls().map((r) => r.rawBody)).toEqual([
      JSON.stringify({ from: BUSINESS, to: USER, action: 'pre_accept', call_id: CALL_ID, sdp: SDP_ANSWER }),
      JSON.stringify({ from: BUSINESS, to: USER, action: 'accept', call_id: CALL_ID, sdp: SDP_ANSWER }),
      JSON.stringify({ from: BUSINESS, to: USER, action: 'reject', call_id: CALL_ID }),
      JSON.stringify({ from: BUSINESS, to: USER, action: 'terminate', call_id: CALL_ID }),
    ]);
  });

  it('learns the user of an inbound call from the parsed events; without it, `to` is left out', async () => {
    const { num, calls } = await start();
    await num.calls.terminate('wacid.unknown');
    expect(calls()[0]!.rawBody).toBe(JSON.stringify({ from: BUSINESS, action: 'terminate', call_id: 'wacid.unknown' }));
    const parsed = parseConceptoMovilEvent(
      { call_id: CALL_ID, from: `+${USER}`, to: BUSINESS, event: 'connect', sdp: SDP_OFFER, timestamp: 1724467313 },
      { businessNumbers: [BUSINESS] },
    );
    num.callUsers.noteEvents(parsed.events);
    await num.calls.preAccept(CALL_ID, SDP_ANSWER);
    expect(JSON.parse(calls()[1]!.rawBody)).toMatchObject({ from: BUSINESS, to: USER, call_id: CALL_ID });
  });

  it('remembers the callee of connect for the later terminate', async () => {
    const { num, calls } = await start((req) => ({ body: JSON.parse(req.rawBody).action === 'connect' ? { call_id: CALL_ID } : { success: true } }));
    await num.calls.connect({ to: USER, sdpOffer: SDP_OFFER });
    await num.calls.terminate(CALL_ID);
    expect(JSON.parse(calls()[1]!.rawBody)).toEqual({ from: BUSINESS, to: USER, action: 'terminate', call_id: CALL_ID });
  });

  it('a connect answer without a call id is a protocol error; connect is not retried on 5xx', async () => {
    const { num, calls } = await start(() => ({ body: { status: 'ok' } }));
    const e1 = await rejectionOf(num.calls.connect({ to: USER, sdpOffer: SDP_OFFER }));
    expect((e1 as ProviderError).kind).toBe('protocol');
    stub!.otherwise({ from: (req) => (req.path === TOKEN_PATH ? { body: { token: BEARER } } : { status: 503, body: 'busy' }) });
    const e2 = await rejectionOf(num.calls.connect({ to: USER, sdpOffer: SDP_OFFER }));
    expect((e2 as ProviderError).httpStatus).toBe(503);
    expect(calls()).toHaveLength(2);
    await num.calls.accept(CALL_ID, SDP_ANSWER).catch(() => undefined);
    expect(calls()).toHaveLength(4); // accept: one retry on 5xx
  });

  it('an error inside a 2xx answer is an api error', async () => {
    const { num } = await start(() => ({ body: { success: false, message: 'call not found' } }));
    const err = await rejectionOf(num.calls.reject(CALL_ID));
    expect((err as ProviderError).toLog()).toMatchObject({ kind: 'api', operation: 'reject' });
    expect(err.message).toContain('call not found');
  });

  it('parseConceptoMovilConnectResponse accepts the plausible spellings of the new call id', () => {
    expect(parseConceptoMovilConnectResponse({ calls: [{ id: 'a' }] })).toEqual({ callId: 'a' });
    expect(parseConceptoMovilConnectResponse({ call_id: 'b' })).toEqual({ callId: 'b' });
    expect(parseConceptoMovilConnectResponse({ callId: 'c' })).toEqual({ callId: 'c' });
    expect(parseConceptoMovilConnectResponse({ data: { call_id: 'd' } })).toEqual({ callId: 'd' });
    expect(() => parseConceptoMovilConnectResponse(undefined)).toThrow(/no call id/);
  });

  it('ConceptoMovilCalls refuses tracking data over 512 characters', async () => {
    const users = new ConceptoMovilCallUsers();
    const calls = new ConceptoMovilCalls({} as never, { businessNumber: BUSINESS, path: CALL_PATH }, users);
    await expect(calls.connect({ to: USER, sdpOffer: SDP_OFFER, trackingData: 'x'.repeat(513) })).rejects.toThrow(RangeError);
  });

  it('never logs the API token, the bearer token or a body', async () => {
    const { num, log } = await start(() => ({ status: 400, body: { message: `bad token ${BEARER}` } }));
    const err = await rejectionOf(num.calls.preAccept(CALL_ID, SDP_ANSWER));
    expect(err.message).not.toContain(BEARER);
    for (const secret of [API_TOKEN, BEARER, 'a=setup:active']) expect(log.text()).not.toContain(secret);
    expect(log.text()).toContain('Concepto Móvil request');
  });

  it('createConceptoMovilNumber needs a tenant base URL and a business number', () => {
    const deps = { logger: captureLogger().logger, metrics: new Metrics() };
    const base = { name: 'mx', apiKey: API_KEY, apiToken: API_TOKEN, timeoutMs: 1000 };
    expect(() => createConceptoMovilNumber({ ...base, baseUrl: '', businessNumber: BUSINESS }, deps)).toThrow();
    expect(() => createConceptoMovilNumber({ ...base, baseUrl: 'https://tenant.example', businessNumber: '+' }, deps)).toThrow(/no digits/);
  });
});
