/**
 * The SDP shapes real PBXs and phones send (test/fixtures/pbx-sdp, origins in its README), filled
 * in for a test endpoint, and answers written in the same style for calls where the PBX answers.
 */
import { readFileSync } from 'node:fs';

export interface FixtureVars {
  address: string;
  port: number;
  /** RTCP port for a=rtcp (default port + 1). */
  rtcpPort?: number;
  /** Port of a second (video) m-line. */
  videoPort?: number;
  ssrc?: number;
  /** o= session id and version. */
  session?: number;
  version?: number;
}

export function loadFixture(name: string): string {
  return readFileSync(new URL(`../../fixtures/pbx-sdp/${name}.sdp`, import.meta.url), 'utf8');
}

export function fillFixture(name: string, v: FixtureVars): string {
  return fill(loadFixture(name), v);
}

export function fill(template: string, v: FixtureVars): string {
  return template
    .replaceAll('{{ADDR}}', v.address).replaceAll('{{PORT}}', String(v.port))
    .replaceAll('{{RTCP}}', String(v.rtcpPort ?? v.port + 1)).replaceAll('{{VPORT}}', String(v.videoPort ?? v.port + 2))
    .replaceAll('{{SSRC}}', String(v.ssrc ?? 305419896)).replaceAll('{{SESS}}', String(v.session ?? 4242))
    .replaceAll('{{VER}}', String(v.version ?? 1));
}

const STATIC: Record<string, string> = { 0: 'PCMU/8000', 8: 'PCMA/8000', 9: 'G722/8000', 18: 'G729/8000' };

interface Codec { pt: string; map: string }

function audioCodecs(sdp: string): { codecs: Codec[]; fmtp: Map<string, string> } {
  const lines = sdp.split(/\r?\n/);
  const m = lines.find((l) => l.startsWith('m=audio '))!;
  const maps = new Map<string, string>();
  const fmtp = new Map<string, string>();
  for (const l of lines) {
    const r = /^a=rtpmap:(\d+) (.+)$/.exec(l);
    if (r) maps.set(r[1]!, r[2]!);
    const f = /^a=fmtp:(\d+) (.+)$/.exec(l);
    if (f) fmtp.set(f[1]!, f[2]!);
  }
  const codecs = m.split(' ').slice(3).map((pt) => ({ pt, map: maps.get(pt) ?? STATIC[pt] ?? `PT${pt}` }));
  return { codecs, fmtp };
}

const codecName = (map: string) => map.split('/')[0]!.toLowerCase();

/**
 * The answer a system whose offers look like fixture `name` would give to `offer`: its session
 * lines and audio attributes (ptime, a=ssrc, a=rtcp, direction...), its codec preference applied
 * to what was offered (offer's payload types), telephone-event if both have it. Only the first
 * audio m-line: watrunk offers one.
 */
export function answerInStyleOf(name: string, offer: string, v: FixtureVars): string {
  const style = fillFixture(name, v).split(/\r?\n/).filter((l) => l !== '');
  const firstM = style.findIndex((l) => l.startsWith('m='));
  const audioEnd = style.findIndex((l, i) => i > firstM && l.startsWith('m='));
  const session = style.slice(0, firstM);
  const audioAttrs = style.slice(firstM + 1, audioEnd < 0 ? undefined : audioEnd)
    .filter((l) => !/^a=(rtpmap|fmtp):/.test(l));
  const mine = audioCodecs(fillFixture(name, v)).codecs;
  const theirs = audioCodecs(offer);
  const pick = mine.map((c) => theirs.codecs.find((t) => codecName(t.map) === codecName(c.map) && codecName(c.map) !== 'telephone-event'))
    .find(Boolean);
  if (!pick) throw new Error(`${name}: no codec in common with the offer`);
  const te = mine.some((c) => codecName(c.map) === 'telephone-event')
    ? theirs.codecs.find((t) => t.map.toLowerCase() === 'telephone-event/8000') : undefined;
  const pts = [pick, ...(te ? [te] : [])];
  const out = [...session, `m=audio ${v.port} RTP/AVP ${pts.map((p) => p.pt).join(' ')}`];
  for (const p of pts) {
    out.push(`a=rtpmap:${p.pt} ${p.map}`);
    const f = theirs.fmtp.get(p.pt);
    if (f) out.push(`a=fmtp:${p.pt} ${f}`);
  }
  out.push(...audioAttrs, '');
  return out.join('\r\n');
}
