/**
 * The audio the generator replays, encoded once at start-up, and the check that what arrives at a
 * sink is still that tone.
 *
 * Every stream of a run sends the same few pre-encoded 20 ms frames over and over, so the generator
 * never encodes anything while it measures. The tones are chosen so that a whole number of periods
 * fits in the replayed loop (700 Hz and 1000 Hz: 14 and 20 periods per 20 ms at 8 kHz, 700 and 1000
 * per second at 48 kHz), so the loop joins without a click.
 */
import { OpusCodec, loadOpusScript } from '../../test/support/media/opus-codec.js';
import { AudioDecoder, AudioEncoder } from '../../test/support/media/rtp-codecs.js';
import { SineTone, dominantFrequency, toneFraction } from '../../test/support/media/tone.js';

/** PBX → WhatsApp tone (what the PBX leg sends). */
export const PBX_TONE_HZ = 700;
/** WhatsApp → PBX tone (what the WhatsApp-side peer sends). */
export const WA_TONE_HZ = 1000;

export const FRAME_MS = 20;

/** One 20 ms PCMU frame of `hz` (160 bytes), for a tone with a whole number of periods per frame. */
export function pcmuFrames(hz: number): Buffer[] {
  const enc = new AudioEncoder('pcmu');
  const frame = enc.encode(new SineTone(hz, 8000, 0.3).next(160))!;
  enc.close();
  return [Buffer.from(frame)];
}

/**
 * One second (50 frames) of `hz` in Opus at 48 kHz mono, 20 ms per packet, encoded after a second
 * of warm-up so the replayed frames come from a settled encoder. 32 kbit/s is a usual WebRTC voice
 * rate (Opus in RTP: https://www.rfc-editor.org/rfc/rfc7587).
 */
export async function opusFrames(hz: number, bitrate = 32_000): Promise<Buffer[]> {
  const OpusScript = await loadOpusScript();
  const enc = new OpusScript(48000, 1, OpusScript.Application.AUDIO);
  try {
    enc.setBitrate(bitrate);
    const tone = new SineTone(hz, 48000, 0.3);
    const frames: Buffer[] = [];
    for (let i = 0; i < 100; i++) {
      const pcm = tone.next(960);
      const packet = enc.encode(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength), 960);
      if (i >= 50) frames.push(Buffer.from(packet));
    }
    return frames;
  } finally {
    enc.delete();
  }
}

export interface ToneCheck {
  codec: 'pcmu' | 'opus';
  frames: number;
  expectedHz: number;
  /** Share of 20 ms frames in which the expected tone dominates (0..1). */
  fraction: number;
  dominantHz?: number;
  ok: boolean;
}

/** Minimum share of frames that must carry the tone for the check to pass. */
const MIN_FRACTION = 0.8;

/**
 * Decodes consecutive payloads of one received stream and checks with Goertzel (the repo's tone
 * detector) that `expectedHz` dominates. Opus is decoded at 48 kHz; its first 3 frames are skipped
 * (a decoder starting mid-stream needs a few frames to settle).
 */
export async function checkTone(codec: 'pcmu' | 'opus', payloads: Buffer[], expectedHz: number): Promise<ToneCheck> {
  let pcm: Int16Array;
  let rate: number;
  if (codec === 'pcmu') {
    const parts: Int16Array[] = [];
    const dec = new AudioDecoder('pcmu', (p) => parts.push(p));
    for (const p of payloads) dec.push(p);
    dec.close();
    pcm = concat(parts);
    rate = 8000;
  } else {
    const opus = await OpusCodec.create();
    const parts: Int16Array[] = [];
    try {
      for (const p of payloads) {
        try { parts.push(opus.decode(p)); } catch { /* a corrupt packet counts as a missing frame */ }
      }
    } finally {
      opus.close();
    }
    pcm = concat(parts.slice(3));
    rate = 48000;
  }
  const fraction = toneFraction(pcm, rate, expectedHz);
  const dominantHz = dominantFrequency(pcm, rate);
  return {
    codec, frames: payloads.length, expectedHz, fraction,
    ...(dominantHz !== undefined ? { dominantHz } : {}),
    ok: payloads.length >= 10 && fraction >= MIN_FRACTION,
  };
}

function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
