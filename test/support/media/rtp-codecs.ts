/**
 * Audio payload encoding and decoding for the plain-RTP endpoint: PCMU/PCMA (alawmulaw), G.722
 * (g722.ts) and Opus (opus-codec.ts, loaded on first use). Encoders take PCM at the codec's own
 * sample rate; decoders deliver 8 kHz PCM for the endpoint's recorder.
 */
import * as alawmulawModule from 'alawmulaw';
import { SineTone } from '../../../src/simulator/media/sine-tone.js';
import { G722Decoder, G722Encoder } from './g722.js';
import { OpusCodec } from './opus-codec.js';

// alawmulaw is CommonJS for Node (namespace.default) but Vite may load its ESM build (named exports).
const g711 = ('mulaw' in alawmulawModule ? alawmulawModule : (alawmulawModule as unknown as { default: typeof alawmulawModule }).default);

export type AudioCodecName = 'pcmu' | 'pcma' | 'g722' | 'opus';

/**
 * Sample rate of each codec's PCM. Not always the RTP clock: G.722 samples at 16 kHz on an 8000
 * clock (https://www.rfc-editor.org/rfc/rfc3551#section-4.5.2).
 */
const PCM_RATE: Record<AudioCodecName, number> = { pcmu: 8000, pcma: 8000, g722: 16000, opus: 48000 };

/** An Opus packet that decodes to 20 ms of silence (TOC 0xF8: CELT FB 20 ms, https://www.rfc-editor.org/rfc/rfc6716#section-3.1). */
export const OPUS_SILENCE = Buffer.from([0xf8, 0xff, 0xfe]);

/** The audio codec an encoding name (any case) stands for, if we can code it. */
export function audioCodec(name: string | undefined): AudioCodecName | undefined {
  const n = name?.toLowerCase();
  return n === 'pcmu' || n === 'pcma' || n === 'g722' || n === 'opus' ? n : undefined;
}

export function pcmRate(codec: AudioCodecName): number {
  return PCM_RATE[codec];
}

/**
 * The packet duration we can send for `ptime`: Opus has no 30 ms frame (2.5 to 60 ms, one frame
 * per packet here; https://www.rfc-editor.org/rfc/rfc6716#section-2.1.4), so Opus falls back to 20.
 */
export function framePtime(codec: AudioCodecName | undefined, ptime: number): number {
  return codec === 'opus' && ![10, 20, 40, 60].includes(ptime) ? 20 : ptime;
}

/** Opus loading failures are reported once, not per packet. */
let opusFailureReported = false;
function opusFailed(err: unknown): void {
  if (opusFailureReported) return;
  opusFailureReported = true;
  console.error(`[rtp-endpoint] opusscript failed to load: ${err instanceof Error ? err.message : String(err)}`);
}

/** Encodes PCM at `pcmRate(codec)` into one RTP payload. */
export class AudioEncoder {
  readonly sampleRate: number;
  private readonly g722?: G722Encoder;
  private opus?: OpusCodec;
  private closed = false;

  constructor(readonly codec: AudioCodecName) {
    this.sampleRate = PCM_RATE[codec];
    if (codec === 'g722') this.g722 = new G722Encoder();
    if (codec === 'opus') {
      OpusCodec.create().then((c) => { if (this.closed) c.close(); else this.opus = c; }, opusFailed);
    }
  }

  /** The payload for `pcm`; Opus sends 20 ms silence frames (or nothing) until its codec has loaded. */
  encode(pcm: Int16Array): Buffer | undefined {
    switch (this.codec) {
      case 'pcmu': return Buffer.from(g711.mulaw.encode(pcm));
      case 'pcma': return Buffer.from(g711.alaw.encode(pcm));
      case 'g722': return this.g722!.encode(pcm);
      case 'opus':
        if (this.opus) return this.opus.encode(pcm);
        return pcm.length === 960 ? OPUS_SILENCE : undefined;
    }
  }

  close(): void {
    this.closed = true;
    this.opus?.close();
  }
}

/** What an endpoint sends as audio (a tone, silence or nothing), frame by frame in the send codec. */
export class AudioSource {
  private toneHz?: number;
  private tone?: SineTone;
  private silence = false;
  private encoder?: AudioEncoder;

  startTone(hz: number): void {
    this.toneHz = hz;
    this.tone = undefined; // made at the codec's sample rate on the next frame
    this.silence = false;
  }

  startSilence(): void {
    this.stop();
    this.silence = true;
  }

  stop(): void {
    this.toneHz = undefined;
    this.tone = undefined;
    this.silence = false;
  }

  /** One `ptime` frame in `codec`, or undefined when there is nothing to send. */
  frame(codec: AudioCodecName | undefined, ptime: number): Buffer | undefined {
    if (!codec || (this.toneHz === undefined && !this.silence)) return undefined;
    // Opus silence at 20 ms is canned: the DTMF tests' "WhatsApp" leg needs no Opus codec.
    if (this.toneHz === undefined && codec === 'opus' && ptime === 20) return OPUS_SILENCE;
    if (this.encoder?.codec !== codec) {
      this.encoder?.close(); // the codec changed (a re-answer)
      this.encoder = new AudioEncoder(codec);
    }
    const rate = PCM_RATE[codec];
    const samples = (rate * ptime) / 1000;
    if (this.toneHz !== undefined && this.tone?.sampleRate !== rate) this.tone = new SineTone(this.toneHz, rate, 0.3);
    return this.encoder.encode(this.tone ? this.tone.next(samples) : new Int16Array(samples));
  }

  close(): void {
    this.encoder?.close();
    this.encoder = undefined;
  }
}

/** Mean of each group of `factor` samples: crude decimation, enough for tone detection. */
function decimate(pcm: Int16Array, factor: number): Int16Array {
  const out = new Int16Array(Math.floor(pcm.length / factor));
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (let k = 0; k < factor; k++) sum += pcm[i * factor + k]!;
    out[i] = Math.round(sum / factor);
  }
  return out;
}

/**
 * Decodes the payloads of one received payload type into 8 kHz PCM, handed to `sink` in arrival
 * order (Opus payloads wait in a queue while opusscript loads).
 */
export class AudioDecoder {
  private readonly g722?: G722Decoder;
  private opus?: OpusCodec;
  private queue: Buffer[] = [];
  private closed = false;

  constructor(readonly codec: AudioCodecName, private readonly sink: (pcm8k: Int16Array) => void) {
    if (codec === 'g722') this.g722 = new G722Decoder();
    if (codec === 'opus') {
      OpusCodec.create().then((c) => {
        if (this.closed) return c.close();
        this.opus = c;
        for (const p of this.queue.splice(0)) this.push(p);
      }, opusFailed);
    }
  }

  push(payload: Buffer): void {
    if (this.closed) return;
    switch (this.codec) {
      case 'pcmu': return this.sink(g711.mulaw.decode(payload));
      case 'pcma': return this.sink(g711.alaw.decode(payload));
      case 'g722': return this.sink(decimate(this.g722!.decode(payload), 2));
      case 'opus':
        if (!this.opus) {
          if (this.queue.length < 500) this.queue.push(Buffer.from(payload));
          return;
        }
        try {
          this.sink(decimate(this.opus.decode(payload), 6));
        } catch {
          // a corrupt packet: dropped, as a real receiver would
        }
    }
  }

  close(): void {
    this.closed = true;
    this.queue = [];
    this.opus?.close();
  }
}
