/** Reads the payload types of the audio m-line of an SDP (via sdp-transform). */
import { parse, type SessionDescription } from 'sdp-transform';

export interface AudioPayload {
  pt: number;
  codec: string;
  rate?: number;
  encoding?: string;
}

type MediaDescription = SessionDescription['media'][number];

function audioOf(s: SessionDescription): MediaDescription | undefined {
  return s.media.find((m) => m.type === 'audio');
}

/** Payload types of the first audio m-line, in m-line order. */
export function audioPayloads(sdp: string): AudioPayload[] {
  const m = audioOf(parse(sdp));
  if (!m) return [];
  return String(m.payloads ?? '').split(' ').filter(Boolean).map((p) => {
    const pt = Number(p);
    const r = (m.rtp ?? []).find((x) => x.payload === pt);
    return r
      ? { pt, codec: r.codec, ...(r.rate !== undefined ? { rate: r.rate } : {}), ...(r.encoding !== undefined ? { encoding: String(r.encoding) } : {}) }
      : { pt, codec: staticName(pt), rate: 8000 };
  });
}

function staticName(pt: number): string {
  return ({ 0: 'PCMU', 8: 'PCMA', 9: 'G722', 18: 'G729' } as Record<number, string>)[pt] ?? `PT${pt}`;
}

/** Whether the SDP offers opus/48000/2 (in which case watrunk does not transcode). */
export function offersOpus(sdp: string): boolean {
  return audioPayloads(sdp).some((p) => p.codec.toLowerCase() === 'opus' && p.rate === 48000);
}
