/**
 * In-band DTMF digit detection (ITU-T Q.23 frequency pairs) on 16-bit PCM with Goertzel.
 * Used where RFC 4733 events are only observable as audio: libwebrtc's NetEq renders received
 * telephone-event packets as tones in the playout, which is what an RTCAudioSink records.
 */
import { frameEnergy, goertzelPower } from './goertzel.js';

const LOW = [697, 770, 852, 941] as const;
const HIGH = [1209, 1336, 1477, 1633] as const;
const KEYS = ['123A', '456B', '789C', '*0#D'] as const;

/** Low/high frequency pair of a DTMF digit (Q.23). */
export function dtmfFrequencies(digit: string): [number, number] {
  for (let r = 0; r < 4; r++) {
    const c = KEYS[r]!.indexOf(digit.toUpperCase());
    if (c >= 0) return [LOW[r]!, HIGH[c]!];
  }
  throw new RangeError(`not a DTMF digit: ${JSON.stringify(digit)}`);
}

/**
 * The digit present in one frame, or undefined. Both tones must carry most of the energy, and in
 * each group the strongest frequency must clearly beat the runner-up (rejects smeared spectra,
 * e.g. while a decoder fades one digit out).
 */
export function dtmfDigitInFrame(samples: ArrayLike<number>, start: number, length: number, sampleRate: number): string | undefined {
  const energy = frameEnergy(samples, start, length);
  if (energy / length < 200 * 200) return undefined; // quieter than about -44 dBFS RMS
  const share = (f: number): number => (2 * goertzelPower(samples, start, length, f, sampleRate)) / (length * energy);
  const lows = LOW.map(share);
  const highs = HIGH.map(share);
  const best = (xs: number[]): { i: number; v: number; second: number } => {
    const sorted = [...xs].sort((a, b) => b - a);
    return { i: xs.indexOf(sorted[0]!), v: sorted[0]!, second: sorted[1]! };
  };
  const lo = best(lows);
  const hi = best(highs);
  if (lo.v < 0.2 || hi.v < 0.2 || lo.v + hi.v < 0.7) return undefined;
  if (lo.second > lo.v / 4 || hi.second > hi.v / 4) return undefined;
  return KEYS[lo.i]![hi.i];
}

/**
 * Streaming digit detector over 10 ms frames: a digit counts once present in `minFrames`
 * consecutive frames (default 4 = 40 ms, the ITU-T Q.24 minimum tone duration); the same digit
 * counts again only after `minGapFrames` frames without it (default 3), so a brief dropout
 * inside one tone is not a repeat.
 */
export class DtmfToneDetector {
  private pending = new Int16Array(0);
  private current: string | undefined;
  private run = 0;
  private gap = 0;
  private emitted = false;
  digits = '';

  constructor(readonly sampleRate: number, private readonly minFrames = 4, private readonly minGapFrames = 3) {}

  push(samples: ArrayLike<number>): void {
    const frame = Math.round(this.sampleRate / 100);
    const all = new Int16Array(this.pending.length + samples.length);
    all.set(this.pending);
    for (let i = 0; i < samples.length; i++) all[this.pending.length + i] = samples[i] ?? 0;
    let start = 0;
    for (; start + frame <= all.length; start += frame) this.frame(dtmfDigitInFrame(all, start, frame, this.sampleRate));
    this.pending = all.slice(start);
  }

  private frame(d: string | undefined): void {
    if (d === undefined) {
      this.gap++;
      if (this.gap >= this.minGapFrames) { this.current = undefined; this.run = 0; this.emitted = false; }
      return;
    }
    this.gap = 0;
    if (d !== this.current) { this.current = d; this.run = 0; this.emitted = false; }
    this.run++;
    if (!this.emitted && this.run >= this.minFrames) { this.digits += d; this.emitted = true; }
  }
}

/** Digits present in `samples`, in order (see DtmfToneDetector). */
export function detectDtmfDigits(samples: ArrayLike<number>, sampleRate: number): string {
  const d = new DtmfToneDetector(sampleRate);
  d.push(samples);
  return d.digits;
}
