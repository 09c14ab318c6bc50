import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging.js';
import { createSimulator, type Simulator } from '../../src/simulator/index.js';
import { SignallingOnlyMediaFactory } from '../../src/simulator/media/signalling-only.js';
import { APP_SECRET, BridgeStub, DISPLAY, OFFER, PNID, TOKEN } from '../support/simulator-fixtures.js';

/**
 * The simulator with the real signalling-only media (no deps.media: loaded per media.mode), so SDPs
 * are checked the way Meta checks them (docs/whatsapp-calling.md#sdp-rules) and failures come back as Graph errors.
 */

let stub: BridgeStub;
let sim: Simulator;
let url: string;
const business = new SignallingOnlyMediaFactory(); // plays the bridge's side to make valid SDPs

beforeEach(async () => {
  stub = await BridgeStub.start();
  sim = createSimulator({
    http: { host: '127.0.0.1', port: 0 },
    numbers: [{ phone_number_id: PNID, display_number: DISPLAY, access_token: TOKEN, webhook_url: stub.url, app_secret: APP_SECRET }],
    default_user: { ring_ms: 5, answer_after_ms: 5 },
  }, { logger: createLogger('silent') });
  ({ url } = await sim.listen());
});
afterEach(async () => {
  await sim.close();
  await stub.close();
});

async function calls(body: Record<string, unknown>): Promise<{ status: number; body: any }> {
  const res = await request(`${url}/v24.0/${PNID}/calls`, {
    method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messaging_product: 'whatsapp', ...body }),
  });
  return { status: res.statusCode, body: await res.body.json() };
}

describe('simulator with signalling-only media', () => {
  it('answers a WebRTC offer with an a=setup:active answer in the connect webhook', async () => {
    const offer = await business.create({ toneHz: 440, listenHz: [] }).createOffer();
    const res = await calls({ to: '447700900123', action: 'connect', session: { sdp_type: 'offer', sdp: offer } });
    expect(res.status).toBe(200);
    const id = res.body.calls[0].id;
    await stub.waitFor(() => stub.summaries(id).includes('status:ACCEPTED'));
    const sdp = stub.values()[0].calls[0].session.sdp as string;
    expect(sdp).toMatch(/^v=0\r\n/);
    expect(sdp).toContain('a=setup:active');
    expect(sim.getCall(id)!.media).toMatchObject({ mode: 'signalling-only', firstPacketBeforeAccept: false });
  });

  it('refuses an offer without a fingerprint with error 100 and Meta\'s reason', async () => {
    const res = await calls({ to: '447700900123', action: 'connect', session: { sdp_type: 'offer', sdp: OFFER } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(100);
    expect(res.body.error.error_data.details).toBe('SDP validation error: No fingerprint found in SDP');
    expect(sim.listCalls()).toEqual([]);
    // the refused call does not block a retry to the same user (138003)
    const offer = await business.create({ toneHz: 440, listenHz: [] }).createOffer();
    expect((await calls({ to: '447700900123', action: 'connect', session: { sdp_type: 'offer', sdp: offer } })).status).toBe(200);
  });

  it('user-initiated: a DTLS-server answer is refused, the right one is accepted', async () => {
    const { callId } = await sim.startUserCall({ from: '447700900123' });
    await stub.waitFor(() => stub.summaries(callId).includes('connect'));
    const offer = stub.values()[0].calls[0].session.sdp as string;
    const answer = await business.create({ toneHz: 440, listenHz: [] }).answer(offer);
    const passive = answer.replace('a=setup:active', 'a=setup:passive');
    const bad = await calls({ call_id: callId, action: 'pre_accept', session: { sdp_type: 'answer', sdp: passive } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.error_data.details).toMatch(/a=setup:passive; Meta requires a=setup:active/);
    expect(sim.getCall(callId)!.state).toBe('ringing');
    expect((await calls({ call_id: callId, action: 'pre_accept', session: { sdp_type: 'answer', sdp: answer } })).status).toBe(200);
    expect((await calls({ call_id: callId, action: 'accept', session: { sdp_type: 'answer', sdp: answer } })).status).toBe(200);
    expect(sim.getCall(callId)!.state).toBe('accepted');
  });
});
