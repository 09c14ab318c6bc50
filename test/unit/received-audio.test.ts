import { describe, expect, it } from 'vitest';
import { dominantFrequency, toneFraction } from '../../src/simulator/media/goertzel.js';
import { RECORD_RATE, ReceivedAudio, resampleLinear } from '../../src/simulator/media/received-audio.js';
import { SineTone } from '../../src/simulator/media/sine-tone.js';

/** 10 ms sink frames of a tone (or silence) at `rate`, as RTCAudioSink delivers them. */
function frames(count: number, rate: number, hz?: number) {
  const tone = hz ? new SineTone(hz, rate, 0.3) : undefined;
  return Array.from({ length: count }, () => ({ samples: tone ? tone.next(rate / 100) : new Int16Array(rate / 100), sampleRate: rate, channelCount: 1, numberOfFrames: rate / 100 }));
}

describe('ReceivedAudio: what the simulated user hears, at one rate', () => {
  it('a sink that starts at 16 kHz and switches to 48 kHz (NetEq before and after the first Opus packet) still hears 1000 Hz as 1000 Hz', () => {
    const heard = new ReceivedAudio();
    for (const f of [...frames(5, 16_000), ...frames(100, 48_000, 1000)]) heard.push(f);
    const audio = heard.recorder.since(heard.onsetPosition!);
    expect(heard.rates).toEqual([16_000, 48_000]);
    expect(heard.recorder.sampleRate).toBe(RECORD_RATE);
    expect(toneFraction(audio, RECORD_RATE, 1000)).toBeGreaterThan(0.9);
    expect(Math.abs(dominantFrequency(audio, RECORD_RATE)! - 1000)).toBeLessThan(30);
    expect(toneFraction(audio, RECORD_RATE, 333)).toBe(0);
  });

  it('16 kHz frames of a tone are recorded at 48 kHz with the tone where it was', () => {
    const heard = new ReceivedAudio();
    for (const f of frames(100, 16_000, 440)) heard.push(f);
    expect(heard.recorder.position).toBe(100 * 480);
    expect(toneFraction(heard.recorder.since(0), RECORD_RATE, 440)).toBeGreaterThan(0.9);
    expect(heard.frames).toBe(100);
  });

  it('stereo frames are recorded as their first channel; silence sets no onset', () => {
    const heard = new ReceivedAudio();
    heard.push({ samples: new Int16Array(960), sampleRate: 48_000, channelCount: 2, numberOfFrames: 480 });
    expect(heard.onsetPosition).toBeUndefined();
    expect(heard.recorder.position).toBe(480);
  });

  it('resampleLinear keeps lengths in proportion and passes equal rates through untouched', () => {
    const x = new Int16Array([0, 300, 600, 900]);
    expect(resampleLinear(x, 48_000, 48_000)).toBe(x);
    expect(Array.from(resampleLinear(x, 16_000, 48_000).slice(0, 4))).toEqual([0, 100, 200, 300]);
    expect(resampleLinear(new Int16Array(160), 8_000, 48_000)).toHaveLength(960);
  });
});
