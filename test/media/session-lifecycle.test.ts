/**
 * RtpengineMedia/RtpengineSession against a real rtpengine, signalling only (no media needed):
 * close() frees the call on rtpengine (query → unknown call-id, not in `list`), is idempotent and
 * never throws; rtpengine `result: error` replies become thrown errors with the error-reason;
 * call-order mistakes are refused; failover to the next engine; Meta-shaped SDP from the
 * signalling-only simulator is accepted by rtpengine in both directions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NgClient, NgError, RtpengineMedia, SessionClosedError } from '../../src/adapters/rtpengine/index.js';
import { SignallingOnlyMediaFactory } from '../../src/simulator/media/signalling-only.js';
import { rtpengineSkipReason, startRtpengine, type RtpengineInstance } from '../support/media/rtpengine-process.js';
import { freeUdpPort } from '../support/media/free-port.js';
import { RtpEndpoint } from '../support/media/rtp-endpoint.js';

const skip = rtpengineSkipReason();

describe.skipIf(skip !== undefined)(`media session lifecycle on rtpengine${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let rtpengine: RtpengineInstance;
  let media: RtpengineMedia;
  let ng: NgClient;
  const sim = new SignallingOnlyMediaFactory();
  const engine = (): { host: string; port: number } => ({ host: rtpengine.host, port: rtpengine.ngPort });

  beforeAll(async () => {
    rtpengine = await startRtpengine();
    media = new RtpengineMedia({ engines: [engine()], timeoutMs: 2_000 });
    ng = new NgClient({ timeoutMs: 2_000, localAddress: '127.0.0.1' });
  });
  afterAll(async () => {
    ng?.close();
    await media?.shutdown();
    await rtpengine?.stop();
  });

  async function listed(id: string): Promise<boolean> {
    const r = await ng.send(engine(), 'list', { limit: 1000 });
    return ((r.calls as string[] | undefined) ?? []).includes(id);
  }

  it('business-initiated: close() deletes the call on rtpengine and is idempotent', async () => {
    const pbx = await RtpEndpoint.create();
    const id = `life-bic-${Date.now()}`;
    const session = media.createSession(id);
    expect(media.openSessions()).toContain(id);
    const user = sim.create({ toneHz: 440, listenHz: [1000] });
    const waOffer = await session.offerToWhatsApp(pbx.offer());
    const waAnswer = await user.answer(waOffer);
    expect(waAnswer).toMatch(/^a=setup:active\r?$/m);
    await session.answerFromWhatsApp(waAnswer);
    await session.blockToWhatsApp();
    await session.unblockToWhatsApp();
    expect(await session.counters()).toEqual({ fromWhatsApp: 0, fromPbx: 0 });
    expect(await listed(id)).toBe(true);

    await session.close();
    await session.close();
    expect(media.openSessions()).not.toContain(id);
    expect(await listed(id)).toBe(false);
    await expect(ng.send(engine(), 'query', { 'call-id': id })).rejects.toThrow(/Unknown call-id/i);
    await expect(session.offerToWhatsApp(pbx.offer())).rejects.toBeInstanceOf(SessionClosedError);
    await pbx.close();
  });

  it('user-initiated with a Meta-shaped ice-lite offer: answer has a=setup:active; close() frees the call', async () => {
    const pbx = await RtpEndpoint.create();
    const id = `life-uic-${Date.now()}`;
    const session = media.createSession(id);
    const user = sim.create({ toneHz: 440, listenHz: [1000] });
    const waOffer = await user.createOffer();
    expect(waOffer).toMatch(/^a=ice-lite\r?$/m);
    const pbxOffer = await session.offerToPbx(waOffer);
    const waAnswer = await session.answerFromPbx(pbx.answer(pbxOffer));
    await user.applyAnswer(waAnswer); // throws unless fingerprint, ICE and a=setup:active are there
    expect(user.report()).toMatchObject({ mode: 'signalling-only', receivedPackets: 0, dtmfReceived: '' });
    await session.close();
    await expect(ng.send(engine(), 'query', { 'call-id': id })).rejects.toThrow(/Unknown call-id/i);
    expect(media.openSessions()).toEqual([]);
    await pbx.close();
  });

  it('turns rtpengine error replies into thrown errors carrying error-reason', async () => {
    const session = media.createSession(`life-err-${Date.now()}`);
    const err = await session.offerToWhatsApp('this is not SDP').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NgError);
    expect((err as NgError).kind).toBe('error-result');
    expect((err as NgError).message).toMatch(/rtpengine 127\.0\.0\.1:\d+ offer failed: .+/);
    console.info(`[lifecycle] rtpengine error surfaced as: ${(err as Error).message}`);
    await session.close();
  });

  it('refuses out-of-order calls and duplicate ids', async () => {
    const id = `life-order-${Date.now()}`;
    const session = media.createSession(id);
    expect(() => media.createSession(id)).toThrow(/already open/);
    await expect(session.answerFromWhatsApp('v=0')).rejects.toThrow(/before offerToWhatsApp/);
    await expect(session.answerFromPbx('v=0')).rejects.toThrow(/before offerToPbx/);
    await session.close(); // nothing was allocated: no ng command, still fine
    expect(media.openSessions()).not.toContain(id);
  });

  it('fails over to the next engine when the first does not answer ping', async () => {
    const dead = { host: '127.0.0.1', port: await freeUdpPort() };
    const m = new RtpengineMedia({ engines: [dead, engine()], timeoutMs: 500 });
    const pbx = await RtpEndpoint.create();
    try {
      expect(await m.ping()).toBe(true);
      const s = m.createSession(`life-failover-${Date.now()}`);
      await s.offerToWhatsApp(pbx.offer());
      expect(s.engine).toEqual(engine());
      await s.close();
    } finally {
      await m.shutdown();
      await pbx.close();
    }
  });

  it('close() never throws when no engine answers', async () => {
    const dead = { host: '127.0.0.1', port: await freeUdpPort() };
    const m = new RtpengineMedia({ engines: [dead], timeoutMs: 300 });
    try {
      expect(await m.ping()).toBe(false);
      const s = m.createSession(`life-dead-${Date.now()}`);
      await expect(s.offerToWhatsApp('v=0')).rejects.toThrow(/answered ping/);
      await expect(s.close()).resolves.toBeUndefined();
      expect(m.openSessions()).toEqual([]);
    } finally {
      await m.shutdown();
    }
  });
});
