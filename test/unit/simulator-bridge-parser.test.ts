import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseMetaWebhook } from '../../src/adapters/meta/webhook-parser.js';
import { ANSWER, BridgeStub, PNID, startSim, type TestSim } from '../support/simulator-fixtures.js';

/**
 * Cross-check: everything the simulator sends parses cleanly with the bridge's own Meta webhook
 * parser (nothing ignored), so simulator and bridge agree on Meta's shapes.
 */

let stub: BridgeStub;
let t: TestSim;

beforeEach(async () => {
  stub = await BridgeStub.start();
  t = await startSim(stub, {
    users: [
      { match: '447700900001', ring_ms: 5, answer_after_ms: 5, hangup_after_ms: 20, name: 'Ann' },
      { match: '447700900002', behaviour: 'fail', ring_ms: 5, error_code: 138019 },
      { match: '447700900003', permission: 'none', permission_reply: 'accept', permission_reply_after_ms: 5 },
    ],
  });
});
afterEach(async () => {
  await t.sim.close();
  await stub.close();
});

const parsedKinds = () => stub.deliveries.map((d) => {
  const parsed = parseMetaWebhook(d.body);
  expect(parsed.ignored).toEqual([]);
  return parsed.events.map((e) => e.kind);
}).flat();

describe('simulator webhooks through the bridge parser', () => {
  it('business-initiated answer and failure', async () => {
    const ok = (await t.connect('447700900001', { biz_opaque_callback_data: 'leg-1' })).body.calls[0].id;
    const failed = (await t.connect('447700900002')).body.calls[0].id;
    await stub.waitFor(() => stub.summaries(ok).includes('terminate:COMPLETED') && stub.summaries(failed).includes('terminate:FAILED'));
    await t.sim.webhooksIdle();
    const kinds = parsedKinds();
    expect(kinds.filter((k) => k === 'call.answered')).toHaveLength(2);
    expect(kinds).toContain('call.ringing');
    expect(kinds).toContain('call.accepted');
    expect(kinds.filter((k) => k === 'call.terminated')).toHaveLength(2);
    const events = stub.deliveries.flatMap((d) => parseMetaWebhook(d.body).events);
    const term = events.find((e) => e.kind === 'call.terminated' && e.callId === failed);
    expect(term).toMatchObject({ phoneNumberId: PNID, status: 'FAILED', errors: [expect.objectContaining({ code: 138019 })] });
    const answered = events.find((e) => e.kind === 'call.answered' && e.callId === ok);
    expect(answered).toMatchObject({ trackingData: 'leg-1', user: { number: '447700900001', profileName: 'Ann' } });
  });

  it('user-initiated call and a permission reply', async () => {
    const { callId } = await t.sim.startUserCall({ from: '447700900009', ctaPayload: 'ctx-42' });
    await t.action('accept', callId, { session: { sdp_type: 'answer', sdp: ANSWER } });
    await t.action('terminate', callId);
    await t.graph('POST', '/messages', {
      messaging_product: 'whatsapp', to: '447700900003', type: 'interactive',
      interactive: { type: 'call_permission_request', action: { name: 'call_permission_request' } },
    });
    await stub.waitFor(() => stub.summaries().includes('permission_reply:accept'));
    await t.sim.webhooksIdle();
    expect(parsedKinds()).toEqual(['call.offered', 'call.terminated', 'permission.replied']);
    const offered = parseMetaWebhook(stub.deliveries[0]!.body).events[0];
    expect(offered).toMatchObject({ kind: 'call.offered', callId, ctaPayload: 'ctx-42', user: { number: '447700900009' } });
  });
});
