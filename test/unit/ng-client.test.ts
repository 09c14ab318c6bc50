/**
 * NgClient's UDP transport against a scripted fake engine: a lost datagram is recovered by a
 * retransmission under the same cookie, a second reply to a retransmitted command is ignored, the
 * deadline still ends a command nobody answers, and `result: error` becomes an NgError.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import bencode from 'bencode';
import { afterEach, describe, expect, it } from 'vitest';
import { NgClient, NgError } from '../../src/adapters/rtpengine/ng-client.js';

interface Received { cookie: string; dict: Record<string, unknown>; from: RemoteInfo }

/** A fake engine on 127.0.0.1: `decide` chooses, per datagram, what to answer (or undefined = drop). */
async function fakeEngine(decide: (r: Received, n: number) => Record<string, unknown> | undefined) {
  const socket: Socket = createSocket('udp4');
  const received: Received[] = [];
  socket.on('message', (msg, from) => {
    const space = msg.indexOf(0x20);
    const r: Received = {
      cookie: msg.subarray(0, space).toString(),
      dict: bencode.decode(msg.subarray(space + 1), 'utf8') as Record<string, unknown>,
      from,
    };
    received.push(r);
    const reply = decide(r, received.length);
    if (reply) socket.send(Buffer.concat([Buffer.from(`${r.cookie} `), Buffer.from(bencode.encode(reply))]), from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { engine: { host: '127.0.0.1', port: socket.address().port }, received, close: () => socket.close() };
}

describe('NgClient over UDP', () => {
  const closers: (() => void)[] = [];
  afterEach(() => { while (closers.length) closers.pop()!(); });

  it('retransmits a command whose reply was lost, under the same cookie, and resolves the reply', async () => {
    const fake = await fakeEngine((r, n) => (n === 1 ? undefined : { result: 'ok', sdp: `answer to ${String(r.dict['call-id'])}` }));
    const client = new NgClient({ timeoutMs: 2_000, retransmitMs: 50, localAddress: '127.0.0.1' });
    closers.push(() => client.close(), fake.close);

    const reply = await client.send(fake.engine, 'offer', { 'call-id': 'c1', sdp: 'v=0' });
    expect(reply).toEqual({ result: 'ok', sdp: 'answer to c1' });
    expect(fake.received).toHaveLength(2);
    expect(fake.received[1]!.cookie).toBe(fake.received[0]!.cookie);
    expect(fake.received[0]!.dict).toEqual({ 'call-id': 'c1', sdp: 'v=0', command: 'offer' });
    expect(client.retransmissions).toBe(1);
  });

  it('uses rtpengine\'s command names with spaces and a fresh cookie per command', async () => {
    const fake = await fakeEngine(() => ({ result: 'ok' }));
    const client = new NgClient({ timeoutMs: 1_000, localAddress: '127.0.0.1' });
    closers.push(() => client.close(), fake.close);
    await client.send(fake.engine, 'blockMedia', { 'call-id': 'c2' });
    await client.send(fake.engine, 'unblockDTMF', { 'call-id': 'c2' });
    expect(fake.received.map((r) => r.dict.command)).toEqual(['block media', 'unblock DTMF']);
    expect(fake.received[0]!.cookie).not.toBe(fake.received[1]!.cookie);
  });

  it('a duplicate reply (to a retransmission) is ignored, and the next command still works', async () => {
    // Answers only the second copy of the first command, twice.
    const fake = await fakeEngine((_r, n) => (n === 1 ? undefined : { result: 'pong' }));
    const client = new NgClient({ timeoutMs: 1_000, retransmitMs: 30, localAddress: '127.0.0.1' });
    closers.push(() => client.close(), fake.close);
    await expect(client.send(fake.engine, 'ping')).resolves.toEqual({ result: 'pong' });
    await new Promise((r) => setTimeout(r, 150)); // let further retransmissions (if any) and replies arrive
    await expect(client.send(fake.engine, 'ping')).resolves.toEqual({ result: 'pong' });
  });

  it('gives up at the deadline with a transport NgError, having retransmitted with backoff', async () => {
    const fake = await fakeEngine(() => undefined);
    const client = new NgClient({ timeoutMs: 400, retransmitMs: 50, localAddress: '127.0.0.1' });
    closers.push(() => client.close(), fake.close);
    const started = Date.now();
    const err = await client.send(fake.engine, 'ping').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NgError);
    expect((err as NgError).kind).toBe('transport');
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    // 50, 100, 200 ms after the first send: three retransmissions fit in 400 ms (backoff, not a flood).
    expect(fake.received.length).toBe(4);
  });

  it('retransmission 0 sends once', async () => {
    const fake = await fakeEngine(() => undefined);
    const client = new NgClient({ timeoutMs: 200, retransmitMs: 0, localAddress: '127.0.0.1' });
    closers.push(() => client.close(), fake.close);
    await expect(client.send(fake.engine, 'ping')).rejects.toBeInstanceOf(NgError);
    expect(fake.received).toHaveLength(1);
  });

  it('result "error" becomes an error-result NgError with rtpengine\'s reason', async () => {
    const fake = await fakeEngine(() => ({ result: 'error', 'error-reason': 'Unknown call-id' }));
    const client = new NgClient({ timeoutMs: 1_000, localAddress: '127.0.0.1' });
    closers.push(() => client.close(), fake.close);
    const err = (await client.send(fake.engine, 'query', { 'call-id': 'x' }).catch((e: unknown) => e)) as NgError;
    expect(err.kind).toBe('error-result');
    expect(err.reason).toBe('Unknown call-id');
  });

  it('close() fails pending commands at once', async () => {
    const fake = await fakeEngine(() => undefined);
    const client = new NgClient({ timeoutMs: 5_000, localAddress: '127.0.0.1' });
    closers.push(fake.close);
    const pending = client.send(fake.engine, 'ping');
    client.close();
    await expect(pending).rejects.toThrow(/closed/);
    await expect(client.send(fake.engine, 'ping')).rejects.toThrow(/closed/);
  });
});
