/**
 * WAV files for the real phones: tone sources to play as the "microphone", and a reader for what
 * the phones record. The reader tolerates a header whose sizes were never finalised (a phone that
 * is still recording, or was SIGKILLed) by taking the data chunk up to the end of the file.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** Mono PCM as the analysis helpers take it. */
export interface RecordedAudio {
  samples: Int16Array;
  sampleRate: number;
}

export interface ToneWavOptions {
  hz: number;
  seconds: number;
  /** Default 8000. */
  sampleRate?: number;
  /** Peak amplitude in 16-bit units (default 8000 ≈ -12 dBFS: loud, far from clipping after G.711). */
  amplitude?: number;
}

/** 16-bit mono PCM WAV bytes of a sine. */
export function toneWav({ hz, seconds, sampleRate = 8000, amplitude = 8000 }: ToneWavOptions): Buffer {
  const n = Math.round(sampleRate * seconds);
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + n * 2, 4);
  b.write('WAVE', 8, 'ascii');
  b.write('fmt ', 12, 'ascii');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(sampleRate, 24);
  b.writeUInt32LE(sampleRate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(n * 2, 40);
  const w = (2 * Math.PI * hz) / sampleRate;
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(amplitude * Math.sin(w * i)), 44 + 2 * i);
  return b;
}

export function writeToneWav(path: string, opts: ToneWavOptions): void {
  writeFileSync(path, toneWav(opts));
}

/**
 * Parses 16-bit PCM WAV bytes; multi-channel audio is reduced to its first channel (the phones
 * record the same signal on both channels of stereo Opus).
 */
export function parseWav(buf: Buffer): RecordedAudio {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error(`not a RIFF/WAVE file (${buf.length} bytes)`);
  }
  let off = 12;
  let channels = 0;
  let sampleRate = 0;
  let bits = 0;
  let format = 0;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      format = buf.readUInt16LE(body);
      channels = buf.readUInt16LE(body + 2);
      sampleRate = buf.readUInt32LE(body + 4);
      bits = buf.readUInt16LE(body + 14);
    } else if (id === 'data') {
      if (format !== 1 || bits !== 16 || channels < 1) {
        throw new Error(`unsupported WAV format ${format}, ${bits} bits, ${channels} channels`);
      }
      // Sizes of 0 or past the end: a header not yet finalised; the data runs to end of file.
      const avail = buf.length - body;
      const len = size === 0 || size > avail ? avail : size;
      const frames = Math.floor(len / (2 * channels));
      const samples = new Int16Array(frames);
      for (let i = 0; i < frames; i++) samples[i] = buf.readInt16LE(body + i * 2 * channels);
      return { samples, sampleRate };
    }
    off = body + size + (size & 1);
  }
  // A header cut short before the data chunk: nothing recorded yet.
  if (sampleRate > 0) return { samples: new Int16Array(0), sampleRate };
  throw new Error('WAV file has no fmt/data chunk');
}

/** 16-bit little-endian PCM from `offset` to the end of `buf`, first channel only. */
export function parsePcm(buf: Buffer, offset: number, sampleRate: number, channels: number): RecordedAudio {
  const frames = Math.max(0, Math.floor((buf.length - offset) / (2 * channels)));
  const samples = new Int16Array(frames);
  for (let i = 0; i < frames; i++) samples[i] = buf.readInt16LE(offset + i * 2 * channels);
  return { samples, sampleRate };
}

export function readWav(path: string): RecordedAudio {
  return parseWav(readFileSync(path));
}
