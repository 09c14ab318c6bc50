/**
 * What a libwebrtc peer hears, kept at one fixed sample rate. RTCAudioSink hands over frames at
 * the rate libwebrtc's jitter buffer (NetEq) produces, and that rate can change within a call:
 * before the first packet is decoded NetEq may produce 16 kHz (silence), then 48 kHz once Opus
 * (RFC 7587: always a 48 kHz RTP clock) is decoded. A recorder fixed to the first frame's rate
 * then analysed 48 kHz audio as 16 kHz, and a 1000 Hz tone showed up as 333 Hz. So every frame
 * is brought to RECORD_RATE before it is recorded or searched for DTMF.
 */
import { DtmfToneDetector } from './dtmf-detector.js';
import { frameEnergy } from './goertzel.js';
import { PcmRecorder } from './pcm-recorder.js';
import type { WrtcAudioData } from './wrtc-loader.js';

/** Opus's own rate, and what libwebrtc produces once Opus is decoded: most frames need no conversion. */
export const RECORD_RATE = 48_000;
/** About -50 dBFS: below this a frame counts as silence. */
const ONSET_RMS = 100;

/**
 * Mono samples at `from` Hz as `to` Hz, by linear interpolation (each frame on its own). Enough
 * for what is done with them here: tone, level and DTMF detection below 4 kHz.
 */
export function resampleLinear(samples: Int16Array, from: number, to: number): Int16Array {
  if (from === to || samples.length === 0) return samples;
  const out = new Int16Array(Math.round((samples.length * to) / from));
  const step = from / to;
  for (let i = 0; i < out.length; i++) {
    const x = i * step;
    const j = Math.floor(x);
    const a = samples[j] ?? 0;
    const b = samples[Math.min(j + 1, samples.length - 1)] ?? a;
    out[i] = Math.round(a + (b - a) * (x - j));
  }
  return out;
}

export class ReceivedAudio {
  readonly recorder = new PcmRecorder(RECORD_RATE, 60);
  readonly dtmf = new DtmfToneDetector(RECORD_RATE);
  /** Recorder position of the first frame that was not silence. */
  onsetPosition?: number;
  /** Frames delivered by the sink (libwebrtc may deliver silence frames without packets). */
  frames = 0;
  /** Every rate the sink delivered frames at, in order of first appearance. */
  readonly rates: number[] = [];

  push(d: WrtcAudioData): void {
    const channels = d.channelCount ?? 1;
    const count = d.numberOfFrames ?? Math.floor(d.samples.length / channels);
    const mono = channels === 1 ? d.samples.subarray(0, count) : Int16Array.from({ length: count }, (_, i) => d.samples[i * channels] ?? 0);
    if (!this.rates.includes(d.sampleRate)) this.rates.push(d.sampleRate);
    const pcm = resampleLinear(mono, d.sampleRate, RECORD_RATE);
    this.frames++;
    if (this.onsetPosition === undefined && Math.sqrt(frameEnergy(pcm, 0, pcm.length) / Math.max(1, pcm.length)) >= ONSET_RMS) {
      this.onsetPosition = this.recorder.position;
    }
    this.recorder.write(pcm);
    this.dtmf.push(pcm);
  }
}
