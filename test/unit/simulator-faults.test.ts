import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BridgeStub, startSim, type TestSim } from '../support/simulator-fixtures.js';

/** Webhook delivery: retries, signing of the exact bytes, and injected faults (docs/whatsapp-calling.md#delivery). */

let stub: BridgeStub;
let t: TestSim;

beforeEach(async () => {
  stub = await BridgeStub.start();
});
afterEach(async () => {
  await t.sim.close();
  await stub.close();
});

const connectIds = () => stub.values().filter((v) => v.calls?.[0]?.event === 'connect').map((v) => v.calls[0].id as string);

describe('simulator: webhook delivery', () => {
  it('retries non-2xx answers a bounded number of times', async () => {
    t = await startSim(stub);
    stub.failNext(2, 500);
    const { callId } = await t.sim.startUserCall({ from: '447700900001' });
    await t.sim.webhooksIdle();
    expect(stub.deliveries).toHaveLength(3);
    expect(new Set(stub.deliveries.map((d) => d.raw.toString('hex'))).size).toBe(1);
    expect(t.sim.getCall(callId)!.webhooks[0]).toMatchObject({ outcome: 'delivered', attempts: 3 });

    stub.failNext(3, 503);
    await t.sim.startUserCall({ from: '447700900002' });
    await t.sim.webhooksIdle();
    expect(stub.deliveries).toHaveLength(6);
    expect(t.sim.webhooks().at(-1)).toMatchObject({ outcome: 'failed', attempts: 3, httpStatuses: [503, 503, 503] });
  });

  it('treats a slow answer as a timeout and retries', async () => {
    t = await startSim(stub, { webhooks: { timeout_ms: 100, max_attempts: 2, retry_delay_ms: 10 } });
    stub.respondAfter(250);
    await t.sim.startUserCall({ from: '447700900001' });
    await t.sim.webhooksIdle();
    const record = t.sim.webhooks()[0]!;
    expect(record).toMatchObject({ outcome: 'failed', attempts: 2, httpStatuses: [0, 0] });
    await stub.waitFor(() => stub.deliveries.length === 2); // the stub still saw both attempts
  });

  it('signs the exact bytes sent, with non-ASCII escaped like Meta', async () => {
    t = await startSim(stub);
    await t.sim.startUserCall({ from: '447700900001', name: 'Zoë 😀' });
    await stub.waitFor(() => stub.deliveries.length === 1);
    const d = stub.deliveries[0]!;
    expect(d.signatureOk).toBe(true);
    expect(d.raw.toString('utf8')).toContain('Zo\\u00eb \\ud83d\\ude00');
    expect(d.body.entry[0].changes[0].value.contacts[0].profile.name).toBe('Zoë 😀');
  });

  it('duplicate_next N: each of the next N webhooks arrives twice, byte-identical', async () => {
    t = await startSim(stub);
    const injected = await t.control('POST', '/_sim/faults', { duplicate_next: 2 });
    expect(injected.body.pending).toEqual([{ type: 'duplicate', remaining: 2 }]);
    await t.sim.startUserCall({ from: '447700900001' });
    await t.sim.startUserCall({ from: '447700900002' });
    await t.sim.startUserCall({ from: '447700900003' });
    await t.sim.webhooksIdle();
    const ids = connectIds();
    expect(ids).toHaveLength(5);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).toBe(ids[3]);
    expect(stub.deliveries[0]!.raw.equals(stub.deliveries[1]!.raw)).toBe(true);
    expect(t.sim.webhooks().map((w) => w.copiesDelivered)).toEqual([2, 2, 1]);
    expect((await t.control('GET', '/_sim/faults')).body.pending).toEqual([]);
  });

  it('drop_next with kind: only the terminate webhook is lost', async () => {
    t = await startSim(stub);
    await t.control('POST', '/_sim/faults', { drop_next: 1, kind: 'terminate' });
    const { callId } = await t.sim.startUserCall({ from: '447700900001' });
    await t.action('reject', callId);
    await t.sim.webhooksIdle();
    expect(stub.summaries(callId)).toEqual(['connect']);
    expect(t.sim.getCall(callId)!.webhooks.map((w) => `${w.summary}/${w.outcome}`)).toEqual(['connect/delivered', 'terminate:COMPLETED/dropped']);
  });

  it('reorder_next: the held webhook arrives after the next one', async () => {
    t = await startSim(stub);
    await t.control('POST', '/_sim/faults', { reorder_next: true });
    const a = (await t.sim.startUserCall({ from: '447700900001' })).callId;
    const b = (await t.sim.startUserCall({ from: '447700900002' })).callId;
    await t.sim.webhooksIdle();
    expect(connectIds()).toEqual([b, a]);
    expect(t.sim.getCall(a)!.webhooks[0]!.faults).toEqual(['reorder']);
  });

  it('a held webhook is released after reorder_max_hold_ms when nothing follows', async () => {
    t = await startSim(stub, { faults: { reorder_max_hold_ms: 50 } });
    await t.control('POST', '/_sim/faults', { reorder_next: 1 });
    const a = (await t.sim.startUserCall({ from: '447700900001' })).callId;
    await stub.waitFor(() => connectIds().includes(a), 1_000);
  });

  it('delay_next_ms: a late webhook arrives after later ones', async () => {
    t = await startSim(stub);
    await t.control('POST', '/_sim/faults', { delay_next_ms: 150 });
    const started = Date.now();
    const a = (await t.sim.startUserCall({ from: '447700900001' })).callId;
    const b = (await t.sim.startUserCall({ from: '447700900002' })).callId;
    await stub.waitFor(() => connectIds().length === 2);
    expect(connectIds()).toEqual([b, a]);
    expect(stub.deliveries[1]!.at - started).toBeGreaterThanOrEqual(140);
  });

  it('rejects malformed fault requests', async () => {
    t = await startSim(stub);
    expect((await t.control('POST', '/_sim/faults', { drop_next: -1 })).status).toBe(400);
    expect((await t.control('POST', '/_sim/faults', { explode: true })).status).toBe(400);
  });

  it('configured rates are drawn from config `seed`: the same value gives the same drops', async () => {
    t = await startSim(stub, { seed: 7, faults: { drop_rate: 0.5 } });
    const run = async () => {
      for (let i = 0; i < 12; i++) await t.sim.startUserCall({ from: `4477009000${String(i).padStart(2, '0')}` });
      await t.sim.webhooksIdle();
      return t.sim.webhooks().map((w) => w.outcome);
    };
    const first = await run();
    expect(first).toContain('dropped');
    expect(first).toContain('delivered');
    expect(stub.deliveries).toHaveLength(first.filter((o) => o === 'delivered').length);
    await t.sim.reset();
    expect(await run()).toEqual(first);
  });

  it('webhooks.concurrency > 1 delivers calls in parallel but keeps each call\'s order', async () => {
    t = await startSim(stub, { webhooks: { concurrency: 4 }, default_user: { ring_ms: 0, answer_after_ms: 0, hangup_after_ms: 0 } });
    stub.respondAfter(15);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await t.connect(`4477009001${i}0`)).body.calls[0].id);
    await t.sim.webhooksIdle();
    for (const id of ids) {
      expect(stub.summaries(id)).toEqual(['connect', 'status:RINGING', 'status:ACCEPTED', 'terminate:COMPLETED']);
    }
    expect(stub.maxInFlight).toBeGreaterThan(1);
    expect(stub.maxInFlight).toBeLessThanOrEqual(4);
  });

  it('webhooks.concurrency > 1: calls never wait behind each other beyond the in-flight limit', async () => {
    // 8 calls, 4 webhooks each, 30 ms per delivery, 8 in flight: every call gets its own lane, so
    // all 8 are delivered at once. With lanes shared by hashing call ids, two calls would almost
    // surely share one and wait for each other (maxInFlight < 8).
    t = await startSim(stub, { webhooks: { concurrency: 8 }, default_user: { ring_ms: 0, answer_after_ms: 0, hangup_after_ms: 0 } });
    stub.respondAfter(30);
    const started = Date.now();
    for (let i = 0; i < 8; i++) await t.connect(`4477009003${i}0`);
    await t.sim.webhooksIdle();
    expect(stub.deliveries).toHaveLength(32);
    expect(stub.maxInFlight).toBe(8);
    expect(Date.now() - started).toBeLessThan(600);
  });

  it('with the default single lane, deliveries never overlap', async () => {
    t = await startSim(stub, { default_user: { ring_ms: 0, answer_after_ms: 0, hangup_after_ms: 0 } });
    stub.respondAfter(5);
    for (let i = 0; i < 3; i++) await t.connect(`4477009002${i}0`);
    await t.sim.webhooksIdle();
    expect(stub.deliveries).toHaveLength(12);
    expect(stub.maxInFlight).toBe(1);
  });

  it('reset forgets delayed webhooks and one-off faults', async () => {
    t = await startSim(stub);
    await t.control('POST', '/_sim/faults', { delay_next_ms: 5_000 });
    await t.control('POST', '/_sim/faults', { drop_next: 3, kind: 'terminate' });
    await t.sim.startUserCall({ from: '447700900001' });
    expect((await t.control('GET', '/_sim/status')).body.pendingWebhooks).toBe(1);
    await t.control('POST', '/_sim/reset');
    const started = Date.now();
    await t.sim.webhooksIdle(2_000);
    expect(Date.now() - started).toBeLessThan(500);
    expect((await t.control('GET', '/_sim/status')).body).toMatchObject({ pendingWebhooks: 0, faults: [] });
    expect(t.sim.listCalls()).toEqual([]);
    expect(stub.deliveries).toHaveLength(0);
  });
});
