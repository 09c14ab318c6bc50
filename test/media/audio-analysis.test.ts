/** The audio tools the media tests and the simulator rely on (pure, no processes). */
import { describe, expect, it } from 'vitest';
import {
  DtmfToneDetector, DualTone, PcmRecorder, SineTone, detectDtmfDigits, dominantFrequency, dtmfFrequencies, sineSamples, toneFraction, toneRatio,
} from '../support/media/tone.js';
import { decodeRtp, encodeRtp } from '../support/media/rtp-packet.js';
import { decodeTelephoneEvent, digitToEvent, encodeTelephoneEvent, eventToDigit } from '../support/media/rfc4733.js';

describe('Goertzel tone detection', () => {
  it('measures a pure tone as dominant, off-bin frequencies included', () => {
    for (const [hz, rate] of [[440, 8000], [1000, 8000], [440, 48000], [1000, 48000]] as const) {
      const s = sineSamples(hz, rate, rate);
      expect(toneFraction(s, rate, hz)).toBe(1);
      expect(toneFraction(s, rate, hz === 440 ? 1000 : 440)).toBe(0);
      expect(Math.abs((dominantFrequency(s, rate) ?? 0) - hz)).toBeLessThanOrEqual(2);
    }
  });

  it('counts silence and noise as "not the tone"', () => {
    expect(toneFraction(new Int16Array(8000), 8000, 1000)).toBe(0);
    const noise = Int16Array.from({ length: 8000 }, () => Math.round((Math.random() - 0.5) * 20000));
    expect(toneFraction(noise, 8000, 1000)).toBeLessThan(0.1);
    expect(dominantFrequency(new Int16Array(8000), 8000)).toBeUndefined();
  });

  it('keeps phase across frames (no clicks) and gives ratio ≈ 1 for a continuous tone', () => {
    const t = new SineTone(440, 8000);
    const joined = new Int16Array(1600);
    for (let i = 0; i < 10; i++) joined.set(t.next(160), i * 160);
    expect(toneRatio(joined, 0, 1600, 440, 8000)).toBeGreaterThan(0.99);
  });
});

describe('DTMF tone detection', () => {
  it('finds digits with gaps, and a repeated digit only after a gap', () => {
    const rate = 48000;
    const parts: Int16Array[] = [];
    for (const d of '1#5 55') {
      if (d === ' ') { parts.push(new Int16Array(rate / 5)); continue; }
      const [lo, hi] = dtmfFrequencies(d);
      parts.push(new DualTone(lo, hi, rate).next(rate / 10), new Int16Array(rate / 20));
    }
    const all = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) { all.set(p, o); o += p.length; }
    expect(detectDtmfDigits(all, rate)).toBe('1#555');
    const streaming = new DtmfToneDetector(rate);
    for (let i = 0; i < all.length; i += 333) streaming.push(all.subarray(i, i + 333));
    expect(streaming.digits).toBe('1#555');
  });
});

describe('PcmRecorder', () => {
  it('keeps the most recent audio and addresses it by absolute position', () => {
    const r = new PcmRecorder(10, 1); // 10 samples capacity
    r.write([1, 2, 3, 4, 5, 6, 7, 8]);
    const mark = r.position;
    r.write([9, 10, 11, 12]);
    expect([...r.since(mark)]).toEqual([9, 10, 11, 12]);
    expect([...r.since(0)]).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect([...r.last(0.3)]).toEqual([10, 11, 12]);
  });
});

describe('RTP and RFC 4733 packets', () => {
  it('round-trips the RTP header and skips CSRCs/extension/padding when parsing', () => {
    const p = { payloadType: 101, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef, marker: true, payload: Buffer.from([1, 2, 3, 4]) };
    expect(decodeRtp(encodeRtp(p))).toEqual(p);
    const ext = Buffer.concat([Buffer.from([0xb1, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]), Buffer.alloc(4), Buffer.from([0xbe, 0xde, 0, 1]), Buffer.alloc(4), Buffer.from([7, 8, 0, 2])]);
    expect(decodeRtp(ext)?.payload).toEqual(Buffer.from([7, 8]));
    expect(decodeRtp(Buffer.from([0x80, 200, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeUndefined(); // RTCP SR
  });

  it('encodes telephone-events per RFC 4733 §2.3', () => {
    expect(encodeTelephoneEvent({ event: digitToEvent('#'), end: true, volume: 10, duration: 1600 })).toEqual(Buffer.from([11, 0x8a, 0x06, 0x40]));
    expect(decodeTelephoneEvent(Buffer.from([5, 0x0a, 0x00, 0xa0]))).toEqual({ event: 5, end: false, volume: 10, duration: 160 });
    expect(['*', '0', 'D'].map(digitToEvent).map(eventToDigit).join('')).toBe('*0D');
  });
});
