/**
 * Bounded recorder of received mono 16-bit PCM at one sample rate. Keeps the most recent
 * `maxSeconds` of audio; positions are absolute sample counts so callers can mark a moment
 * (`position`) and later analyse only what arrived after it (`since`).
 */
export class PcmRecorder {
  private readonly ring: Int16Array;
  private written = 0;

  constructor(readonly sampleRate: number, maxSeconds = 60) {
    this.ring = new Int16Array(Math.max(1, Math.round(sampleRate * maxSeconds)));
  }

  /** Total samples ever written. */
  get position(): number {
    return this.written;
  }

  write(samples: ArrayLike<number>): void {
    const cap = this.ring.length;
    for (let i = 0; i < samples.length; i++) {
      this.ring[(this.written + i) % cap] = samples[i] ?? 0;
    }
    this.written += samples.length;
  }

  /** Samples from absolute position `from` (clamped to what is still kept) to now. */
  since(from: number): Int16Array {
    const cap = this.ring.length;
    const start = Math.max(from, this.written - cap, 0);
    const out = new Int16Array(Math.max(0, this.written - start));
    for (let i = 0; i < out.length; i++) out[i] = this.ring[(start + i) % cap] ?? 0;
    return out;
  }

  /** The last `seconds` of audio. */
  last(seconds: number): Int16Array {
    return this.since(this.written - Math.round(seconds * this.sampleRate));
  }
}
