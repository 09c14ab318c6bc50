/**
 * Lost ng replies against a real rtpengine: a relay between NgClient and rtpengine drops the first
 * reply. The client retransmits under the same cookie, rtpengine answers from its cookie cache, and
 * rtpengine's log shows the offer ran once, which is what makes retransmitting an `offer` safe (https://github.com/sipwise/rtpengine/blob/master/daemon/cookie_cache.c).
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NgClient } from '../../src/adapters/rtpengine/index.js';
import { rtpengineSkipReason, startRtpengine, type RtpengineInstance } from '../support/media/rtpengine-process.js';
import { RtpEndpoint } from '../support/media/rtp-endpoint.js';

const skip = rtpengineSkipReason();

/** UDP relay 127.0.0.1 → rtpengine that drops the first `dropReplies` replies and counts requests. */
async function lossyRelay(target: { host: string; port: number }, dropReplies: number) {
  const front = createSocket('udp4');
  const back = createSocket('udp4');
  let client: RemoteInfo | undefined;
  const stats = { requests: 0, repliesDropped: 0, repliesPassed: 0 };
  front.on('message', (msg, from) => {
    client = from;
    stats.requests++;
    back.send(msg, target.port, target.host);
  });
  back.on('message', (msg) => {
    if (stats.repliesDropped < dropReplies) { stats.repliesDropped++; return; }
    stats.repliesPassed++;
    if (client) front.send(msg, client.port, client.address);
  });
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', r));
  await new Promise<void>((r) => back.bind(0, '127.0.0.1', r));
  return {
    address: { host: '127.0.0.1', port: front.address().port },
    stats,
    close: () => { front.close(); back.close(); },
  };
}

describe.skipIf(skip !== undefined)(`ng retransmission against rtpengine${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let rtpengine: RtpengineInstance;
  beforeAll(async () => { rtpengine = await startRtpengine(); });
  afterAll(async () => { await rtpengine?.stop(); });

  it('a lost offer reply is recovered by retransmission; rtpengine runs the offer once', async () => {
    const engine = { host: rtpengine.host, port: rtpengine.ngPort };
    const relay = await lossyRelay(engine, 1);
    const direct = new NgClient({ timeoutMs: 2_000, localAddress: '127.0.0.1' });
    const lossy = new NgClient({ timeoutMs: 3_000, retransmitMs: 100, localAddress: '127.0.0.1' });
    const pbx = await RtpEndpoint.create();
    const id = `retr-${Date.now()}`;
    try {
      const reply = await lossy.send(relay.address, 'offer', {
        'call-id': id, 'from-tag': 'pbx', sdp: pbx.offer(), flags: ['trust-address'], replace: ['origin'],
      });
      expect(reply.result).toBe('ok');
      expect(reply.sdp).toMatch(/^m=audio \d+ RTP\/AVP/m);
      expect(relay.stats.requests).toBeGreaterThanOrEqual(2);
      expect(relay.stats.repliesDropped).toBe(1);
      expect(lossy.retransmissions).toBeGreaterThanOrEqual(1);

      // rtpengine ran the offer once and answered the retransmission from its cookie cache.
      const log = rtpengine.logs();
      expect(log.match(new RegExp(`\\[${id}\\]: \\[control\\] Received command 'offer'`, 'g'))).toHaveLength(1);
      expect(log).toMatch(/Detected command from 127\.0\.0\.1:\d+ as a duplicate/);
      const query = await direct.send(engine, 'query', { 'call-id': id });
      expect(Object.keys((query.tags as Record<string, unknown>) ?? {})).toContain('pbx');
    } finally {
      await direct.send(engine, 'delete', { 'call-id': id }).catch(() => undefined);
      lossy.close();
      direct.close();
      relay.close();
      pbx.close();
    }
  });
});
