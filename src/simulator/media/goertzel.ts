/**
 * Tone detection on 16-bit PCM with the (generalised) Goertzel algorithm: the power of one
 * frequency in a frame, evaluated at the exact target frequency rather than the nearest DFT bin,
 * so 440 Hz in a 160-sample frame is measured as precisely as 1000 Hz.
 */

/** |X(f)|² of `length` samples starting at `start`, for frequency `frequencyHz`. */
export function goertzelPower(
  samples: ArrayLike<number>, start: number, length: number, frequencyHz: number, sampleRate: number,
): number {
  const w = (2 * Math.PI * frequencyHz) / sampleRate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  const end = Math.min(samples.length, start + length);
  for (let i = start; i < end; i++) {
    const s0 = (samples[i] ?? 0) + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

/** Σx² of a frame. */
export function frameEnergy(samples: ArrayLike<number>, start: number, length: number): number {
  let e = 0;
  const end = Math.min(samples.length, start + length);
  for (let i = start; i < end; i++) {
    const v = samples[i] ?? 0;
    e += v * v;
  }
  return e;
}

/**
 * Share of a frame's energy found at `frequencyHz` (≈1 for a pure tone at that frequency, ≈0
 * when absent). By Parseval a sinusoid of amplitude A gives |X|² ≈ (A·N/2)² and Σx² ≈ A²·N/2,
 * hence ratio = 2|X|² / (N·Σx²).
 */
export function toneRatio(
  samples: ArrayLike<number>, start: number, length: number, frequencyHz: number, sampleRate: number,
): number {
  const n = Math.min(length, samples.length - start);
  if (n <= 0) return 0;
  const energy = frameEnergy(samples, start, n);
  if (energy === 0) return 0;
  return (2 * goertzelPower(samples, start, n, frequencyHz, sampleRate)) / (n * energy);
}

export interface ToneFractionOptions {
  /** Frame length in ms (default 20). */
  frameMs?: number;
  /** Minimum share of frame energy at the target frequency for the tone to "dominate" (default 0.5). */
  minRatio?: number;
  /** Frames quieter than this RMS (in 16-bit units) never count as the tone (default 100 ≈ -50 dBFS). */
  minRms?: number;
}

/** Fraction (0..1) of the frames in `samples` in which `frequencyHz` dominates. */
export function toneFraction(
  samples: ArrayLike<number>, sampleRate: number, frequencyHz: number, opts: ToneFractionOptions = {},
): number {
  const frame = Math.round(((opts.frameMs ?? 20) * sampleRate) / 1000);
  const minRatio = opts.minRatio ?? 0.5;
  const minRms = opts.minRms ?? 100;
  const frames = Math.floor(samples.length / frame);
  if (frames === 0) return 0;
  let hits = 0;
  for (let f = 0; f < frames; f++) {
    const start = f * frame;
    const rms = Math.sqrt(frameEnergy(samples, start, frame) / frame);
    if (rms < minRms) continue;
    if (toneRatio(samples, start, frame, frequencyHz, sampleRate) >= minRatio) hits++;
  }
  return hits / frames;
}

/**
 * Strongest frequency between 50 Hz and min(4 kHz, Nyquist) in the loudest 50 ms windows of
 * `samples` (median over up to 8 windows; 10 Hz scan then 1 Hz refinement). Undefined for silence.
 */
export function dominantFrequency(samples: ArrayLike<number>, sampleRate: number): number | undefined {
  const win = Math.round(sampleRate * 0.05);
  const windows = Math.floor(samples.length / win);
  if (windows === 0) return undefined;
  const loud: { start: number; energy: number }[] = [];
  for (let w = 0; w < windows; w++) loud.push({ start: w * win, energy: frameEnergy(samples, w * win, win) });
  loud.sort((a, b) => b.energy - a.energy);
  const picked = loud.slice(0, 8).filter((w) => Math.sqrt(w.energy / win) >= 100);
  if (picked.length === 0) return undefined;
  const top = Math.min(4000, sampleRate / 2 - 50);
  const found = picked.map(({ start }) => {
    let best = 50;
    let bestPower = -1;
    for (let f = 50; f <= top; f += 10) {
      const p = goertzelPower(samples, start, win, f, sampleRate);
      if (p > bestPower) { bestPower = p; best = f; }
    }
    const coarse = best;
    for (let f = coarse - 10; f <= coarse + 10; f++) {
      const p = goertzelPower(samples, start, win, f, sampleRate);
      if (p > bestPower) { bestPower = p; best = f; }
    }
    return best;
  });
  found.sort((a, b) => a - b);
  return found[Math.floor(found.length / 2)];
}
