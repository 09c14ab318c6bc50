/**
 * The media tests' own codecs are real: tones survive a G.722 and an Opus round trip, and two
 * plain-RTP endpoints hear each other's tone in each codec over loopback UDP (no rtpengine).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { G722Decoder, G722Encoder } from '../support/media/g722.js';
import { OpusCodec } from '../support/media/opus-codec.js';
import { RtpEndpoint } from '../support/media/rtp-endpoint.js';
import { decodeRtp } from '../support/media/rtp-packet.js';
import { dominantFrequency, frameEnergy, SineTone, toneFraction } from '../support/media/tone.js';
import { sleep, waitFor } from '../support/media/wait.js';
import type { PlainCodec } from '../support/media/plain-sdp.js';

const rms = (pcm: Int16Array): number => Math.sqrt(frameEnergy(pcm, 0, pcm.length) / pcm.length);

function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** `seconds` of `hz` at `rate`, cut into `frame`-sample frames and passed through `codec`. */
function roundTrip(hz: number, rate: number, frame: number, seconds: number, codec: (pcm: Int16Array) => Int16Array): { input: Int16Array; output: Int16Array } {
  const tone = new SineTone(hz, rate, 0.3);
  const ins: Int16Array[] = [];
  const outs: Int16Array[] = [];
  for (let n = 0; n < (seconds * rate) / frame; n++) {
    const pcm = tone.next(frame);
    ins.push(pcm);
    outs.push(codec(pcm));
  }
  return { input: concat(ins), output: concat(outs) };
}

describe('G.722 (64 kbit/s)', () => {
  for (const hz of [1000, 440]) {
    it(`carries ${hz} Hz through encode → decode at 16 kHz`, () => {
      const enc = new G722Encoder();
      const dec = new G722Decoder();
      const sizes = new Set<number>();
      const { input, output } = roundTrip(hz, 16000, 320, 1, (pcm) => {
        const bytes = enc.encode(pcm);
        sizes.add(bytes.length);
        return dec.decode(bytes);
      });
      expect([...sizes]).toEqual([160]); // 20 ms = 320 samples = 160 bytes
      expect(output.length).toBe(16000);
      const tail = output.subarray(160); // after the first 10 ms (QMF delay, step-size adaptation)
      expect(toneFraction(tail, 16000, hz)).toBeGreaterThan(0.9);
      expect(Math.abs(dominantFrequency(tail, 16000)! - hz)).toBeLessThanOrEqual(2);
      expect(rms(tail) / rms(input)).toBeGreaterThan(0.8); // level kept, not just the frequency
      expect(rms(tail) / rms(input)).toBeLessThan(1.25);
    });
  }

  it('carries 6 kHz, i.e. the upper sub-band works too', () => {
    const enc = new G722Encoder();
    const dec = new G722Decoder();
    const { output } = roundTrip(6000, 16000, 320, 0.5, (pcm) => dec.decode(enc.encode(pcm)));
    expect(toneFraction(output.subarray(320), 16000, 6000)).toBeGreaterThan(0.9);
  });

  it('keeps state across calls, including an odd sample left over', () => {
    const pcm = new SineTone(1000, 16000, 0.3).next(3200);
    const whole = new G722Encoder().encode(pcm);
    const split = new G722Encoder();
    const parts = Buffer.concat([split.encode(pcm.subarray(0, 101)), split.encode(pcm.subarray(101, 2000)), split.encode(pcm.subarray(2000))]);
    expect(parts.equals(whole)).toBe(true);
  });
});

describe('Opus (opusscript, 48 kHz)', () => {
  for (const [hz, channels] of [[1000, 1], [440, 1], [1000, 2]] as const) {
    it(`carries ${hz} Hz through encode → decode (${channels === 1 ? 'mono' : 'mono duplicated to stereo'})`, async () => {
      const codec = await OpusCodec.create({ channels });
      try {
        const { input, output } = roundTrip(hz, 48000, 960, 1, (pcm) => codec.decode(codec.encode(pcm)));
        expect(output.length).toBe(48000); // decoded to mono whatever was sent
        const tail = output.subarray(960); // after the first frame (encoder look-ahead)
        expect(toneFraction(tail, 48000, hz)).toBeGreaterThan(0.9);
        expect(Math.abs(dominantFrequency(tail, 48000)! - hz)).toBeLessThanOrEqual(2);
        expect(rms(tail) / rms(input)).toBeGreaterThan(0.7);
      } finally {
        codec.close();
      }
    });
  }
});

describe('RtpEndpoint ↔ RtpEndpoint over loopback UDP', () => {
  const open: RtpEndpoint[] = [];
  const endpoint = async (opts?: Parameters<typeof RtpEndpoint.create>[0]): Promise<RtpEndpoint> => {
    const e = await RtpEndpoint.create(opts);
    open.push(e);
    return e;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((e) => e.close()));
  });

  const heard = (e: RtpEndpoint, from: number, hz: number): number => toneFraction(e.recorder.since(from), 8000, hz);

  for (const codec of ['G722', 'opus', 'PCMA'] as PlainCodec[]) {
    it(`${codec}: both directions hear the other's tone`, async () => {
      const a = await endpoint();
      const b = await endpoint();
      b.applyAnswer(a.answer(b.offer([codec]), [codec]));
      expect(a.sendCodec).toBe(codec);
      expect(b.sendCodec).toBe(codec);
      a.startTone(1000);
      b.startTone(440);
      await sleep(300);
      const [ma, mb] = [a.recorder.position, b.recorder.position];
      await sleep(600);
      expect(heard(b, mb, 1000)).toBeGreaterThan(0.8);
      expect(heard(a, ma, 440)).toBeGreaterThan(0.8);
    });
  }

  it('caller-written SDP: ptime 30, telephone-event at 96, SSRC, any-case names', async () => {
    const pbx = await endpoint({ ssrc: 0x1234abcd });
    const far = await endpoint();
    const offer = pbx.useLocalSdp(['v=0', `o=- 1 1 IN IP4 ${pbx.address}`, 's=desk phone', `c=IN IP4 ${pbx.address}`, 't=0 0',
      `m=audio ${pbx.sdpPort} RTP/AVP 9 0 96`, 'a=rtpmap:9 g722/8000', 'a=rtpmap:96 TELEPHONE-EVENT/8000', 'a=fmtp:96 0-15',
      'a=ptime:30', 'a=ssrc:305441741 cname:phone', 'a=sendrecv', ''].join('\r\n'));
    const answer = ['v=0', `o=- 2 1 IN IP4 ${far.address}`, 's=-', `c=IN IP4 ${far.address}`, 't=0 0',
      `m=audio ${far.sdpPort} RTP/AVP 9 96`, 'a=rtpmap:96 telephone-event/8000', 'a=ptime:30', 'a=sendrecv', ''].join('\r\n');
    far.answerWithSdp(offer, answer);
    pbx.applyAnswer(answer);
    expect([pbx.ptime, far.ptime]).toEqual([30, 30]);
    const sizes = new Set<number>();
    const tsSteps = new Set<number>();
    let lastTs: number | undefined;
    far['socket'].prependListener('message', (msg: Buffer) => {
      const p = decodeRtp(msg);
      if (p?.payloadType !== 9) return;
      sizes.add(p.payload.length);
      if (lastTs !== undefined) tsSteps.add((p.timestamp - lastTs) >>> 0);
      lastTs = p.timestamp;
    });
    pbx.startTone(1000);
    await sleep(400);
    await pbx.sendDigits('5#', { durationMs: 120, gapMs: 60 });
    await sleep(100);
    expect(far.dtmfReceived()).toBe('5#');
    expect(far.dtmfEvents[0]).toMatchObject({ payloadType: 96, ssrc: 0x1234abcd, endSeen: true });
    expect(far.receivedSsrcs).toEqual([0x1234abcd]);
    expect([...sizes]).toEqual([240]); // 30 ms of G.722 = 480 samples = 240 bytes
    expect([...tsSteps].every((d) => d % 240 === 0)).toBe(true); // +240 per 30 ms on the 8000 clock
    expect(heard(far, 0, 1000)).toBeGreaterThan(0.6);
    // No telephone-event negotiated: sendDigits rejects.
    const plain = await endpoint();
    plain.applyAnswer(far.answer(plain.offer(['PCMU'], null), ['PCMU']));
    await expect(plain.sendDigits('1')).rejects.toThrow(/telephone-event/);
  });

  it('rebind, setRemote, pause/resume and an announced port nobody listens on', async () => {
    const nat = await endpoint({ announcePort: 9 }); // SDP says port 9 (discard); packets come from `port`
    const far = await endpoint();
    const offer = nat.offer(['PCMU']);
    expect(offer).toMatch(/^m=audio 9 /m);
    nat.applyAnswer(far.answer(offer, ['PCMU']));
    nat.startTone(1000);
    await waitFor('tone from the NAT endpoint', () => far.snapshot().audioPackets > 10, { timeoutMs: 2_000 });

    const oldPort = nat.port;
    const newPort = await nat.rebind();
    expect(newPort).not.toBe(oldPort);
    const before = far.snapshot().audioPackets;
    await waitFor('tone from the new port', () => far.snapshot().audioPackets > before + 10, { timeoutMs: 2_000 });

    // The far end learns our real port (symmetric RTP) and sends there.
    far.setRemote(nat.address, nat.port);
    far.startTone(440);
    await waitFor('tone at the rebound socket', () => nat.snapshot().audioPackets > 10, { timeoutMs: 2_000 });

    nat.pause();
    await sleep(60);
    const paused = far.snapshot().audioPackets;
    await sleep(200);
    expect(far.snapshot().audioPackets).toBe(paused);
    nat.resumeSending();
    await waitFor('tone after resume', () => far.snapshot().audioPackets > paused + 5, { timeoutMs: 2_000 });
  });
});
