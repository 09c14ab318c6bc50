import { describe, expect, it } from 'vitest';
import { EnginePool } from '../../src/adapters/rtpengine/engine-pool.js';
import { NgError, type NgClient } from '../../src/adapters/rtpengine/ng-client.js';

function fakeClient(up: { value: boolean }) {
  const sent: string[] = [];
  const client = {
    async send(engine: { host: string; port: number }, command: string) {
      sent.push(command);
      if (!up.value) throw new NgError('ping', engine, 'timeout', 'transport');
      return { result: 'pong' };
    },
  } as unknown as NgClient;
  return { client, sent };
}

describe('EnginePool.anyRecentlyAlive: one health check serves a burst of calls', () => {
  const engine = { host: '127.0.0.1', port: 22222 };

  it('pings once, then answers from the recent result until it is older than the TTL', async () => {
    const up = { value: true };
    const { client, sent } = fakeClient(up);
    const pool = new EnginePool(client, [engine], 1_000);
    expect(await pool.anyRecentlyAlive()).toBe(true);
    for (let i = 0; i < 20; i++) expect(await pool.anyRecentlyAlive()).toBe(true);
    expect(sent).toEqual(['ping']);
  });

  it('an engine marked down by a failed call is refused at once, without a ping', async () => {
    const up = { value: true };
    const { client, sent } = fakeClient(up);
    const pool = new EnginePool(client, [engine], 1_000);
    await pool.anyRecentlyAlive();
    pool.markDown(engine);
    expect(await pool.anyRecentlyAlive()).toBe(false);
    expect(sent).toEqual(['ping']);
  });

  it('with no recent result it pings, and a dead engine is reported dead', async () => {
    const up = { value: false };
    const { client, sent } = fakeClient(up);
    const pool = new EnginePool(client, [engine], 1_000);
    expect(await pool.anyRecentlyAlive()).toBe(false);
    expect(sent).toEqual(['ping']);
  });
});
