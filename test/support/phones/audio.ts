/**
 * Tone analysis of what a real phone recorded, with the shared Goertzel tools. Recordings start
 * when the phone's decoder starts and contain only decoded frames (no wall-clock gaps), so the
 * usual cut is "skip the first few hundred ms" (jitter-buffer fill, codec start-up).
 */
import { dominantFrequency, toneFraction } from '../media/tone.js';
import type { RecordedAudio } from './wav.js';

export interface ToneReport {
  /** Share (0..1) of 20 ms frames in which `hz` dominates. */
  fraction: number;
  /** Strongest frequency of the loudest windows, undefined for silence. */
  dominantHz: number | undefined;
  /** Seconds of audio analysed (after the skip). */
  seconds: number;
  sampleRate: number;
}

export interface ToneReportOptions {
  /** Audio to skip at the start (default 300 ms). */
  skipMs?: number;
  /** Analyse at most this much after the skip (default: all). */
  maxMs?: number;
}

/** How strongly `hz` is present in `audio`, ready for `expect(report.fraction).toBeGreaterThan(0.8)`. */
export function toneReport(audio: RecordedAudio, hz: number, opts: ToneReportOptions = {}): ToneReport {
  const { samples, sampleRate } = audio;
  const from = Math.min(samples.length, Math.round(((opts.skipMs ?? 300) * sampleRate) / 1000));
  const to = opts.maxMs === undefined ? samples.length : Math.min(samples.length, from + Math.round((opts.maxMs * sampleRate) / 1000));
  const part = samples.subarray(from, to);
  return {
    fraction: toneFraction(part, sampleRate, hz),
    dominantHz: dominantFrequency(part, sampleRate),
    seconds: part.length / sampleRate,
    sampleRate,
  };
}

/** One line for assertion messages and logs. */
export function describeTone(r: ToneReport, hz: number): string {
  return `${hz} Hz in ${(r.fraction * 100).toFixed(1)}% of frames, dominant ${r.dominantHz ?? 'none'} Hz, ${r.seconds.toFixed(2)} s @ ${r.sampleRate} Hz`;
}
