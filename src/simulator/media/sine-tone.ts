/**
 * Sine tone generator producing signed 16-bit PCM with continuous phase across calls, so that
 * consecutive 10 ms / 20 ms frames join without clicks (a click would smear the spectrum the
 * Goertzel checks look at).
 */
export class SineTone {
  private phase = 0;
  private readonly step: number;

  constructor(
    readonly frequencyHz: number,
    readonly sampleRate: number,
    /** Peak amplitude as a fraction of full scale (0..1). */
    readonly amplitude = 0.3,
  ) {
    if (!(frequencyHz > 0) || frequencyHz >= sampleRate / 2) {
      throw new RangeError(`tone ${frequencyHz} Hz is not below Nyquist for ${sampleRate} Hz`);
    }
    this.step = (2 * Math.PI * frequencyHz) / sampleRate;
  }

  /** The next `count` samples of the tone. */
  next(count: number): Int16Array {
    const out = new Int16Array(count);
    const peak = this.amplitude * 32767;
    for (let i = 0; i < count; i++) {
      out[i] = Math.round(peak * Math.sin(this.phase));
      this.phase += this.step;
    }
    this.phase %= 2 * Math.PI;
    return out;
  }
}

/** `count` samples of a sine tone starting at phase 0. */
export function sineSamples(frequencyHz: number, sampleRate: number, count: number, amplitude = 0.3): Int16Array {
  return new SineTone(frequencyHz, sampleRate, amplitude).next(count);
}

/** Sum of two tones (e.g. a DTMF digit), each at `amplitude`, continuous across calls. */
export class DualTone {
  private readonly a: SineTone;
  private readonly b: SineTone;

  constructor(lowHz: number, highHz: number, sampleRate: number, amplitude = 0.2) {
    this.a = new SineTone(lowHz, sampleRate, amplitude);
    this.b = new SineTone(highHz, sampleRate, amplitude);
  }

  next(count: number): Int16Array {
    const x = this.a.next(count);
    const y = this.b.next(count);
    const out = new Int16Array(count);
    for (let i = 0; i < count; i++) out[i] = Math.max(-32768, Math.min(32767, (x[i] ?? 0) + (y[i] ?? 0)));
    return out;
  }
}
