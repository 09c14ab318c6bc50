/**
 * The simulator's own fault injection for Graph requests and late webhooks (src/simulator/fault-plan.ts,
 * documented in config/simulator.yaml): what a bridge meets when Meta's API fails, hangs or drops the
 * connection (docs/whatsapp-calling.md#error-codes, #retries), and when a webhook arrives long after
 * its event (docs/whatsapp-calling.md#delivery).
 */
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BridgeStub, OFFER, PNID, TOKEN, startSim, type TestSim } from '../support/simulator-fixtures.js';

let stub: BridgeStub;
let t: TestSim;

beforeEach(async () => {
  stub = await BridgeStub.start();
});
afterEach(async () => {
  await t.sim.close();
  await stub.close();
});

/** A raw /calls POST, reporting a closed connection or a timeout instead of throwing. */
async function rawCalls(body: Record<string, unknown>, timeoutMs = 2_000): Promise<{ status?: number; body?: any; failure?: 'reset' | 'timeout' }> {
  try {
    const res = await request(`${t.url}/v24.0/${PNID}/calls`, {
      method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messaging_product: 'whatsapp', ...body }), signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
  } catch (err) {
    return { failure: (err as Error).name === 'TimeoutError' ? 'timeout' : 'reset' };
  }
}
const connect = (to = '447700900123') => rawCalls({ to, action: 'connect', session: { sdp_type: 'offer', sdp: OFFER } });

describe('simulator: Graph faults on /calls', () => {
  it('error: Graph\'s envelope with the code, Meta\'s HTTP status for it, nothing carried out', async () => {
    t = await startSim(stub);
    await t.control('POST', '/_sim/faults', { graph: [{ action: 'connect', fault: 'error', code: 613 }, { action: 'connect', fault: 'error', status: 503 }] });
    const limited = await connect();
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatchObject({ code: 613, type: 'OAuthException' });
    expect(limited.body.error.fbtrace_id).toEqual(expect.any(String));
    const unavailable = await connect();
    expect(unavailable).toMatchObject({ status: 503, body: { error: { code: 1 } } });
    expect(t.sim.listCalls()).toEqual([]);
    expect((await connect()).status).toBe(200); // both one-offs used up
  });

  it('only the named action is hit, `count` times, and each faulted request is in the call\'s actions', async () => {
    t = await startSim(stub, { default_user: { behaviour: 'answer', answer_after_ms: 10_000 } });
    await t.control('POST', '/_sim/faults', { graph: { action: 'terminate', fault: 'error', status: 500, count: 2 } });
    const id = (await connect()).body.calls[0].id;
    expect((await rawCalls({ call_id: id, action: 'terminate' })).status).toBe(500);
    expect((await rawCalls({ call_id: id, action: 'terminate' })).status).toBe(500);
    expect(t.sim.getCall(id)!.state).not.toBe('ended');
    expect((await rawCalls({ call_id: id, action: 'terminate' })).status).toBe(200);
    expect(t.sim.getCall(id)!.actions.map((a) => [a.action, a.result, a.fault])).toEqual([
      ['connect', 'ok', undefined], ['terminate', 1, 'error:500/1'], ['terminate', 1, 'error:500/1'], ['terminate', 'ok', undefined],
    ]);
    expect(t.sim.getCall(id)!.state).toBe('ended');
  });

  it('hang: no answer until hang_ms, then the connection closes; reset: closed at once', async () => {
    t = await startSim(stub);
    await t.control('POST', '/_sim/faults', { graph: [{ action: 'connect', fault: 'hang', hang_ms: 400 }, { action: 'connect', fault: 'reset' }] });
    expect(await connect('447700900123').then((r) => r.failure)).toBe('reset'); // closed after 400 ms, unanswered
    const started = Date.now();
    expect((await connect('447700900124')).failure).toBe('reset');
    expect(Date.now() - started).toBeLessThan(300);
    await t.control('POST', '/_sim/faults', { graph: { fault: 'hang', hang_ms: 60_000 } });
    expect((await connect('447700900125')).failure).toBe('timeout'); // the client gave up first
    expect(t.sim.listCalls()).toEqual([]);
  });

  it('a hung request does not outlive reset', async () => {
    t = await startSim(stub);
    await t.control('POST', '/_sim/faults', { graph: { fault: 'hang', hang_ms: 60_000 } });
    const pending = connect();
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await t.sim.reset();
    expect((await pending).failure).toBe('reset');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('applied: the action is carried out and only Meta\'s answer is lost', async () => {
    t = await startSim(stub, { default_user: { behaviour: 'answer', ring_ms: 10, answer_after_ms: 10_000 } });
    await t.control('POST', '/_sim/faults', { graph: { action: 'connect', fault: 'reset', applied: true } });
    expect((await connect()).failure).toBe('reset');
    const [call] = t.sim.listCalls();
    expect(call).toMatchObject({ state: 'calling', actions: [{ action: 'connect', result: 'ok', fault: 'reset:applied' }] });
    await stub.waitFor(() => stub.summaries(call!.id).includes('connect'));
  });

  it('GET /_sim/faults lists pending Graph faults; malformed ones are refused', async () => {
    t = await startSim(stub);
    await t.control('POST', '/_sim/faults', { graph: { action: 'accept', fault: 'hang', count: 3 } });
    expect((await t.control('GET', '/_sim/faults')).body.pending).toEqual([
      { type: 'graph', remaining: 3, action: 'accept', fault: 'hang', applied: false, hang_ms: 30_000 },
    ]);
    expect((await t.control('POST', '/_sim/faults', { graph: { fault: 'explode' } })).status).toBe(400);
    expect((await t.control('POST', '/_sim/faults', { graph: { action: 'hold', fault: 'reset' } })).status).toBe(400);
    expect((await t.control('POST', '/_sim/faults', { graph: { fault: 'error', status: 200 } })).status).toBe(400);
  });

  it('graph_error_rate: a seeded share of the configured actions fails with 500, the same after reset', async () => {
    t = await startSim(stub, { seed: 3, faults: { graph_error_rate: 0.5, graph_error_actions: ['connect'] } });
    const run = async () => {
      const out: number[] = [];
      for (let i = 0; i < 12; i++) out.push((await connect(`4477009002${String(i).padStart(2, '0')}`)).status ?? 0);
      return out;
    };
    const first = await run();
    expect(first).toContain(500);
    expect(first).toContain(200);
    const id = t.sim.listCalls()[0]!.id;
    expect((await rawCalls({ call_id: id, action: 'terminate' })).status).toBe(200); // not a listed action
    await t.sim.reset();
    expect(await run()).toEqual(first);
  });
});

describe('simulator: late webhooks', () => {
  it('late_next: the webhook is delivered now with timestamps late_by_s in the past', async () => {
    t = await startSim(stub);
    await t.control('POST', '/_sim/faults', { late_next: 1, late_by_s: 900, kind: 'connect' });
    const now = Math.floor(Date.now() / 1000);
    const { callId } = await t.sim.startUserCall({ from: '447700900001' });
    await t.action('reject', callId);
    await stub.waitFor(() => stub.summaries(callId).length === 2);
    const [connectTs, terminateTs] = stub.values().map((v) => Number(v.calls[0].timestamp));
    expect(connectTs).toBeGreaterThanOrEqual(now - 901);
    expect(connectTs).toBeLessThanOrEqual(now - 899);
    expect(terminateTs).toBeGreaterThanOrEqual(now);
    expect(stub.deliveries.every((d) => d.signatureOk && d.envelopeProblems.length === 0)).toBe(true);
    expect(t.sim.getCall(callId)!.webhooks[0]!.faults).toEqual(['late:900s']);
  });

  it('late_rate backdates a seeded share of webhooks by late_by_s', async () => {
    t = await startSim(stub, { seed: 5, faults: { late_rate: 0.5, late_by_s: 120 } });
    for (let i = 0; i < 10; i++) await t.sim.startUserCall({ from: `4477009003${String(i).padStart(2, '0')}` });
    await t.sim.webhooksIdle();
    const late = t.sim.webhooks().filter((w) => w.faults.includes('late:120s')).length;
    expect(late).toBeGreaterThan(0);
    expect(late).toBeLessThan(10);
    const now = Date.now() / 1000;
    expect(stub.values().filter((v) => now - Number(v.calls[0].timestamp) > 100)).toHaveLength(late);
  });
});
