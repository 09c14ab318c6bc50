/**
 * SDP for the plain-RTP "PBX" of the media tests (RTP/AVP, one audio m-line, ptime 20,
 * telephone-event/8000 on PT 101 per RFC 4733 §7.1.1). Parsing uses sdp-transform.
 */
import { parse } from 'sdp-transform';

export type PlainCodec = 'PCMU' | 'PCMA' | 'G722' | 'opus';

const STATIC: Record<PlainCodec, { pt: number; rtpmap: string; fmtp?: string }> = {
  PCMU: { pt: 0, rtpmap: 'PCMU/8000' },
  PCMA: { pt: 8, rtpmap: 'PCMA/8000' },
  G722: { pt: 9, rtpmap: 'G722/8000' },
  opus: { pt: 111, rtpmap: 'opus/48000/2', fmtp: 'minptime=10;useinbandfec=1' },
};

export const TELEPHONE_EVENT_PT = 101;

export interface RemotePayload {
  pt: number;
  /** Encoding name as written in a=rtpmap (or the static name for PT 0/8/9). */
  name: string;
  clockRate: number;
  channels?: number;
}

export interface RemoteMedia {
  address: string;
  port: number;
  proto: string;
  payloads: RemotePayload[];
  rtcpMux: boolean;
  direction?: string;
  /** a=ptime (media level, else session level), in ms. */
  ptime?: number;
}

function sessionLines(address: string, sessionId: number): string[] {
  return ['v=0', `o=- ${sessionId} 1 IN IP4 ${address}`, 's=watrunk-test-pbx', `c=IN IP4 ${address}`, 't=0 0'];
}

function mediaLines(port: number, codecs: PlainCodec[], telephoneEventPt: number | undefined): string[] {
  const pts = codecs.map((c) => STATIC[c].pt);
  if (telephoneEventPt !== undefined) pts.push(telephoneEventPt);
  const lines = [`m=audio ${port} RTP/AVP ${pts.join(' ')}`];
  for (const c of codecs) {
    lines.push(`a=rtpmap:${STATIC[c].pt} ${STATIC[c].rtpmap}`);
    const fmtp = STATIC[c].fmtp;
    if (fmtp) lines.push(`a=fmtp:${STATIC[c].pt} ${fmtp}`);
  }
  if (telephoneEventPt !== undefined) {
    lines.push(`a=rtpmap:${telephoneEventPt} telephone-event/8000`, `a=fmtp:${telephoneEventPt} 0-16`);
  }
  lines.push('a=ptime:20', 'a=sendrecv');
  return lines;
}

export function buildPlainOffer(opts: {
  address: string; port: number; codecs: PlainCodec[]; telephoneEventPt?: number | null; sessionId?: number;
}): string {
  const te = opts.telephoneEventPt === null ? undefined : (opts.telephoneEventPt ?? TELEPHONE_EVENT_PT);
  const sid = opts.sessionId ?? Math.floor(Math.random() * 1e9);
  return [...sessionLines(opts.address, sid), ...mediaLines(opts.port, opts.codecs, te), ''].join('\r\n');
}

/** Address, port and payload types of the first audio m-line. */
export function parseRemoteMedia(sdp: string): RemoteMedia {
  const s = parse(sdp);
  const m = s.media.find((x) => x.type === 'audio');
  if (!m) throw new Error('SDP has no audio m-line');
  const address = m.connection?.ip ?? s.connection?.ip;
  if (!address) throw new Error('SDP has no c= address');
  const payloads: RemotePayload[] = String(m.payloads ?? '').split(' ').filter(Boolean).map((p) => {
    const pt = Number(p);
    const r = (m.rtp ?? []).find((x) => x.payload === pt);
    if (r) return { pt, name: r.codec, clockRate: r.rate ?? 8000, ...(r.encoding ? { channels: Number(r.encoding) } : {}) };
    const st = (Object.keys(STATIC) as PlainCodec[]).find((c) => STATIC[c].pt === pt);
    return { pt, name: st ?? `PT${pt}`, clockRate: st === 'opus' ? 48000 : 8000 };
  });
  const ptime = Number(m.ptime ?? (s as { ptime?: number }).ptime);
  return {
    address, port: m.port, proto: m.protocol, payloads,
    rtcpMux: m.rtcpMux !== undefined, ...(m.direction ? { direction: m.direction } : {}),
    ...(ptime > 0 ? { ptime } : {}),
  };
}

/**
 * Answer to `offerSdp`: the first offered codec that is in `accept` (offer order, RFC 3264 §6.1),
 * plus the offered telephone-event (at 8000 if offered at several rates). Throws when nothing matches.
 */
export function buildPlainAnswer(offerSdp: string, opts: { address: string; port: number; accept: PlainCodec[]; sessionId?: number }): {
  sdp: string; codec: RemotePayload; telephoneEvent?: RemotePayload;
} {
  const remote = parseRemoteMedia(offerSdp);
  const codec = remote.payloads.find((p) => opts.accept.some((a) => a.toLowerCase() === p.name.toLowerCase()));
  if (!codec) throw new Error(`no acceptable codec in offer (offered ${remote.payloads.map((p) => p.name).join(', ')})`);
  const events = remote.payloads.filter((p) => p.name.toLowerCase() === 'telephone-event');
  const te = events.find((p) => p.clockRate === 8000) ?? events[0];
  const sid = opts.sessionId ?? Math.floor(Math.random() * 1e9);
  const pts = [codec.pt, ...(te ? [te.pt] : [])];
  const lines = [...sessionLines(opts.address, sid), `m=audio ${opts.port} RTP/AVP ${pts.join(' ')}`];
  lines.push(`a=rtpmap:${codec.pt} ${codec.name}/${codec.clockRate}${codec.channels ? `/${codec.channels}` : ''}`);
  if (te) lines.push(`a=rtpmap:${te.pt} telephone-event/${te.clockRate}`, `a=fmtp:${te.pt} 0-16`);
  lines.push('a=ptime:20', 'a=sendrecv', '');
  return { sdp: lines.join('\r\n'), codec, ...(te ? { telephoneEvent: te } : {}) };
}
