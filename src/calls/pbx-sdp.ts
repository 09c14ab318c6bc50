/**
 * What watrunk accepts in the SDP a PBX sends, decided before any media resource is taken. WhatsApp
 * carries one audio stream over WebRTC (docs/whatsapp-calling.md#media), and rtpengine bridges it to
 * one plain-RTP audio stream on the trunk (docs/media.md#pbx-sdp). So, from a PBX offer:
 *  - the first audio m-line with a port is the call's audio; other m-lines (video from a video
 *    phone, a second audio, T.38) are declined: left out of the media engine's view and put back
 *    into the answer with port 0, as RFC 3264 §6 requires (https://www.rfc-editor.org/rfc/rfc3264#section-6);
 *  - secure profiles (RTP/SAVP with SDES, UDP/TLS/RTP/SAVPF from a WebRTC endpoint) are refused
 *    with 488 and a Warning that says what to change: the trunk side is plain RTP;
 *  - payload types whose clock rate contradicts their codec (PCMU/16000 and the like) are removed,
 *    and an offer with no codec watrunk can bridge is refused with 488.
 * Edits are line-based; everything not mentioned is passed on byte for byte.
 */

/** Codecs rtpengine bridges to WhatsApp's Opus, with the only clock rate each has (RFC 3551, RFC 7587). */
const BRIDGED: Readonly<Record<string, number>> = { pcmu: 8000, pcma: 8000, g722: 8000, opus: 48000 };
/** Static payload types of RFC 3551 §6 that have meaning without a=rtpmap. */
const STATIC_PT: Readonly<Record<number, string>> = { 0: 'pcmu', 8: 'pcma', 9: 'g722' };

export interface DeclinedMedia {
  /** Index of the m-line in the PBX's SDP. */
  index: number;
  /** The answer's m-line for it: same media type, proto and formats, port 0. */
  line: string;
}

export type PbxOfferCheck =
  | { ok: true; sdp: string; declined: DeclinedMedia[]; removedPayloads: string[] }
  | { ok: false; warning: string; cause: 'unsupported_media' };

interface Section { start: number; end: number; type: string; port: number; proto: string; fmts: string[] }

function split(sdp: string): { lines: string[]; eol: string } {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(/\r?\n/);
  return { lines, eol };
}

function sections(lines: string[]): Section[] {
  const out: Section[] = [];
  lines.forEach((l, i) => {
    if (!l.startsWith('m=')) return;
    const [type = '', port = '0', proto = '', ...fmts] = l.slice(2).trim().split(/\s+/);
    const prev = out[out.length - 1];
    if (prev) prev.end = i;
    out.push({ start: i, end: lines.length, type, port: Number.parseInt(port, 10), proto, fmts });
  });
  return out;
}

function rtpmaps(lines: string[], s: Section): Map<string, { name: string; rate: number }> {
  const m = new Map<string, { name: string; rate: number }>();
  for (let i = s.start; i < s.end; i++) {
    const r = /^a=rtpmap:(\d+)\s+([^/\s]+)\/(\d+)/i.exec(lines[i]!);
    if (r) m.set(r[1]!, { name: r[2]!.toLowerCase(), rate: Number(r[3]) });
  }
  return m;
}

/** Decides on a PBX's offer (a first INVITE or a re-INVITE); see the module comment. */
export function checkPbxOffer(sdp: string): PbxOfferCheck {
  const { lines, eol } = split(sdp);
  const all = sections(lines);
  const audio = all.find((s) => s.type === 'audio' && s.port > 0);
  if (!audio) return { ok: false, warning: 'the offer has no active audio stream', cause: 'unsupported_media' };
  if (/SAVP/i.test(audio.proto)) {
    return {
      ok: false, cause: 'unsupported_media',
      warning: `secure media (${audio.proto}) on the trunk is not supported: set the trunk to plain RTP (RTP/AVP); watrunk encrypts toward WhatsApp itself`,
    };
  }
  const maps = rtpmaps(lines, audio);
  const removed: string[] = [];
  const keep = audio.fmts.filter((pt) => {
    const m = maps.get(pt);
    const name = m?.name ?? STATIC_PT[Number(pt)];
    if (!name || !(name in BRIDGED) || !m) return true;
    if (m.rate === BRIDGED[name]) return true;
    removed.push(`${pt} ${m.name}/${m.rate}`);
    return false;
  });
  const bridged = keep.some((pt) => {
    const name = maps.get(pt)?.name ?? STATIC_PT[Number(pt)];
    return name !== undefined && name in BRIDGED;
  });
  if (!bridged) {
    const offered = audio.fmts.map((pt) => (maps.get(pt) ? `${maps.get(pt)!.name.toUpperCase()}/${maps.get(pt)!.rate}` : `PT ${pt}`)).join(', ');
    return { ok: false, cause: 'unsupported_media', warning: `no audio codec watrunk can bridge (offered ${offered}; supported: PCMU, PCMA, G722, opus)` };
  }

  const out = [...lines];
  if (removed.length > 0) {
    const gone = new Set(removed.map((r) => r.split(' ')[0]));
    out[audio.start] = `m=audio ${audio.port} ${audio.proto} ${keep.join(' ')}`;
    for (let i = audio.start + 1; i < audio.end; i++) {
      const pt = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+)\s/.exec(out[i]!)?.[1];
      if (pt && gone.has(pt)) out[i] = '\u0000';
    }
  }
  const declined: DeclinedMedia[] = [];
  all.forEach((s, index) => {
    if (s === audio) return;
    declined.push({ index, line: `m=${s.type} 0 ${s.proto} ${s.fmts.join(' ') || '0'}` });
    for (let i = s.start; i < s.end; i++) out[i] = '\u0000';
  });
  return { ok: true, sdp: out.filter((l) => l !== '\u0000').join(eol), declined, removedPayloads: removed };
}

/** Puts declined m-lines back into an answer, in the offer's order (RFC 3264 §6). */
export function restoreDeclined(answer: string, declined: readonly DeclinedMedia[]): string {
  if (declined.length === 0) return answer;
  const { lines, eol } = split(answer);
  const trailing = lines[lines.length - 1] === '' ? lines.pop() : undefined;
  const ours = sections(lines);
  const session = lines.slice(0, ours[0]?.start ?? lines.length);
  const blocks = ours.map((s) => lines.slice(s.start, s.end));
  for (const d of [...declined].sort((a, b) => a.index - b.index)) blocks.splice(Math.min(d.index, blocks.length), 0, [d.line]);
  const out = [...session, ...blocks.flat()];
  if (trailing !== undefined) out.push(trailing);
  return out.join(eol);
}

/**
 * Whether the PBX will send audio under this SDP: not when it holds with `a=inactive`/`a=recvonly`
 * or the RFC 2543 `c=0.0.0.0` (https://www.rfc-editor.org/rfc/rfc3264#section-8.4). A PBX that
 * holds with `a=sendonly` keeps sending (music on hold).
 */
export function pbxSendsAudio(sdp: string): boolean {
  const { lines } = split(sdp);
  const audio = sections(lines).find((s) => s.type === 'audio');
  if (!audio || audio.port === 0) return false;
  const sessionPart = lines.slice(0, sections(lines)[0]?.start ?? 0);
  const media = lines.slice(audio.start, audio.end);
  const dir = (part: string[]) => part.map((l) => /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/.exec(l)?.[1]).find(Boolean);
  const direction = dir(media) ?? dir(sessionPart) ?? 'sendrecv';
  const conn = [...media, ...sessionPart].find((l) => l.startsWith('c='));
  if (conn && /\sIP4\s+0\.0\.0\.0\s*$/.test(conn)) return false;
  return direction === 'sendrecv' || direction === 'sendonly';
}

/**
 * The PBX's audio stream in an SDP, as far as re-offers care (pbx-reoffer.ts): where it wants its
 * audio (the c= line that applies and the m= port; `hold` for the RFC 2543 c=0.0.0.0, RFC 3264
 * §8.4) and its payload types with their encodings. Direction is left out: it does not move media.
 */
export interface PbxAudio {
  address: string;
  port: number;
  /** payload type → "encoding/clock rate" in lower case */
  formats: Map<string, string>;
}

export function pbxAudio(sdp: string): PbxAudio | undefined {
  const { lines } = split(sdp);
  const all = sections(lines);
  const audio = all.find((s) => s.type === 'audio');
  if (!audio) return undefined;
  const sessionPart = lines.slice(0, all[0]!.start);
  const conn = ([...lines.slice(audio.start, audio.end), ...sessionPart].find((l) => l.startsWith('c=')) ?? '').trim();
  const maps = rtpmaps(lines, audio);
  const formats = new Map<string, string>();
  for (const pt of audio.fmts) {
    const m = maps.get(pt);
    const name = m ? `${m.name}/${m.rate}` : STATIC_PT[Number(pt)] && `${STATIC_PT[Number(pt)]}/8000`;
    if (name) formats.set(pt, name);
  }
  return { address: /\s0\.0\.0\.0$/.test(conn) ? 'hold' : conn, port: audio.port, formats };
}
