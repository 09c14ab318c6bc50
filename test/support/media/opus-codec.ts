/**
 * Opus at 48 kHz through opusscript (libopus compiled to WebAssembly). SDP always says
 * opus/48000/2 whatever is sent, and a receiver decodes mono and stereo packets alike
 * (https://www.rfc-editor.org/rfc/rfc7587), so we encode mono by default and always decode to mono.
 * opusscript is imported lazily: test files that never touch Opus do not load the WebAssembly.
 */
import type OpusScriptType from 'opusscript';

type OpusScriptCtor = typeof OpusScriptType;

let loading: Promise<OpusScriptCtor> | undefined;

/** Loads opusscript once (resolves to its constructor). */
export function loadOpusScript(): Promise<OpusScriptCtor> {
  loading ??= import('opusscript').then((m) => ((m as { default?: OpusScriptCtor }).default ?? (m as unknown as OpusScriptCtor)));
  return loading;
}

export class OpusCodec {
  static readonly SAMPLE_RATE = 48000;
  private closed = false;

  private constructor(
    private readonly encoder: OpusScriptType,
    private readonly decoder: OpusScriptType,
    readonly channels: 1 | 2,
  ) {}

  /** `channels: 2` duplicates the mono input into both channels of a stereo stream. */
  static async create(opts: { channels?: 1 | 2 } = {}): Promise<OpusCodec> {
    const OpusScript = await loadOpusScript();
    const channels = opts.channels ?? 1;
    // AUDIO (not VOIP): test tones survive CELT better than SILK's speech model.
    const encoder = new OpusScript(48000, channels, OpusScript.Application.AUDIO);
    const decoder = new OpusScript(48000, 1, OpusScript.Application.AUDIO);
    return new OpusCodec(encoder, decoder, channels);
  }

  /** One Opus packet for 2.5/5/10/20/40/60 ms of 48 kHz mono PCM (e.g. 960 samples = 20 ms). */
  encode(pcm48k: Int16Array): Buffer {
    let pcm = pcm48k;
    if (this.channels === 2) {
      pcm = new Int16Array(pcm48k.length * 2);
      for (let i = 0; i < pcm48k.length; i++) pcm[2 * i] = pcm[2 * i + 1] = pcm48k[i]!;
    }
    // opusscript takes the PCM as a byte Buffer (little-endian int16) and the frame size per channel.
    return this.encoder.encode(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength), pcm48k.length);
  }

  /** 48 kHz mono PCM of one packet (mono or stereo). */
  decode(packet: Buffer): Int16Array {
    const bytes = this.decoder.decode(packet);
    const out = new Int16Array(bytes.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(2 * i);
    return out;
  }

  /** Frees the WebAssembly memory of both codec states. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.encoder.delete();
    this.decoder.delete();
  }
}
