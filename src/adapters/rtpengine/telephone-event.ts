/**
 * SDP post-processing toward WhatsApp for DTMF. Meta accepts RFC 4733 telephone-event only at
 * clock rate 8000 (docs/whatsapp-calling.md#sdp-rules). rtpengine 10.5 pairs telephone-event with the clock
 * rate of an audio codec: next to Opus it generates telephone-event/48000, and it removes a
 * telephone-event/8000 once no 8 kHz audio codec is left in a codec list it has "touched" with
 * strip/mask/transcode (daemon/codec.c codec_tracker_update, mr10.5.3.5; docs/media.md#telephone-event).
 * So the flag sets keep the 8 kHz codecs in rtpengine's view and these steps remove or restore
 * payload types in the SDP text only. Line-based edits of the audio m-section; everything else is
 * left byte for byte.
 */

interface Section { lines: string[]; start: number; end: number }

function audioSection(lines: string[]): Section | undefined {
  const start = lines.findIndex((l) => l.startsWith('m=audio '));
  if (start < 0) return undefined;
  let end = lines.findIndex((l, i) => i > start && l.startsWith('m='));
  if (end < 0) end = lines.length;
  return { lines, start, end };
}

function splitLines(sdp: string): { lines: string[]; eol: string } {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  return { lines: sdp.split(/\r?\n/), eol };
}

interface TelephoneEventPt { pt: number; rate: number; index: number }

function telephoneEvents(sec: Section): TelephoneEventPt[] {
  const out: TelephoneEventPt[] = [];
  for (let i = sec.start; i < sec.end; i++) {
    const m = /^a=rtpmap:(\d+) telephone-event\/(\d+)/i.exec(sec.lines[i]!);
    if (m) out.push({ pt: Number(m[1]), rate: Number(m[2]), index: i });
  }
  return out;
}

function removePayload(sec: Section, pt: number): void {
  const m = sec.lines[sec.start]!.split(' ');
  sec.lines[sec.start] = [...m.slice(0, 3), ...m.slice(3).filter((p) => p !== String(pt))].join(' ');
  for (let i = sec.end - 1; i > sec.start; i--) {
    if (new RegExp(`^a=(rtpmap|fmtp|rtcp-fb):${pt}( |$)`).test(sec.lines[i]!)) {
      sec.lines.splice(i, 1);
      sec.end--;
    }
  }
}

/**
 * Toward WhatsApp in business-initiated calls: keeps only opus/48000/2 and telephone-event/8000 in
 * the audio m-line (with their rtpmap/fmtp/rtcp-fb lines). rtpengine's offer also lists the PBX's
 * own codecs (G.711 …) and a telephone-event/48000 for Opus, which Meta does not support
 * (docs/whatsapp-calling.md#sdp-rules); removing offered payload types does not change what
 * rtpengine accepts — WhatsApp simply cannot pick them. Unchanged when there is no Opus. A
 * telephone-event at another rate is never relabelled to 8000: rtpengine would then scale
 * durations wrongly (6x; measured in test/media/dtmf-codec.test.ts).
 */
export function keepOpusAndTelephoneEvent8000(sdp: string): string {
  const { lines, eol } = splitLines(sdp);
  const sec = audioSection(lines);
  if (!sec) return sdp;
  const keep = new Set<number>();
  let opus = false;
  for (let i = sec.start; i < sec.end; i++) {
    const m = /^a=rtpmap:(\d+) ([^/\s]+)\/(\d+)(?:\/(\d+))?/.exec(lines[i]!);
    if (!m) continue;
    const name = m[2]!.toLowerCase();
    if (name === 'opus' && m[3] === '48000') { keep.add(Number(m[1])); opus = true; }
    if (name === 'telephone-event' && m[3] === '8000') keep.add(Number(m[1]));
  }
  if (!opus) return sdp;
  const offered = lines[sec.start]!.split(' ').slice(3).map(Number);
  for (const pt of offered) if (!keep.has(pt)) removePayload(sec, pt);
  return lines.join(eol);
}

/**
 * Adds WhatsApp's own telephone-event/8000 payload type (from its offer) to an answer that lost
 * it. Unchanged when the offer had none or the answer already has a telephone-event.
 */
export function restoreTelephoneEvent(answerSdp: string, offerSdp: string): string {
  const offer = audioSection(splitLines(offerSdp).lines);
  const offered = offer ? telephoneEvents(offer).find((e) => e.rate === 8000) : undefined;
  if (!offered) return answerSdp;
  const { lines, eol } = splitLines(answerSdp);
  const sec = audioSection(lines);
  if (!sec || telephoneEvents(sec).length > 0) return answerSdp;
  const pt = offered.pt;
  if (sec.lines[sec.start]!.split(' ').slice(3).includes(String(pt))) return answerSdp; // PT taken by something else
  lines[sec.start] = `${lines[sec.start]} ${pt}`;
  let at = sec.start + 1;
  for (let i = sec.start + 1; i < sec.end; i++) if (/^a=(rtpmap|fmtp|rtcp-fb):/.test(lines[i]!)) at = i + 1;
  lines.splice(at, 0, `a=rtpmap:${pt} telephone-event/8000`, `a=fmtp:${pt} 0-15`);
  return lines.join(eol);
}
