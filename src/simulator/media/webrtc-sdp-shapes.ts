/**
 * Syntactically valid WebRTC SDP shaped like Meta's samples (docs/whatsapp-calling.md#media): ICE
 * credentials (RFC 8839 §5.4: ufrag ≥ 4, pwd ≥ 22 ice-chars), a sha-256 fingerprint (RFC 8122),
 * rtcp-mux, Opus + telephone-event/8000, one SSRC. The fingerprint is random, not from a real
 * certificate: nothing will ever complete DTLS with it (signalling-only mode).
 */
import { randomBytes } from 'node:crypto';

const ICE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** ICE characters from random bytes (the 64 ICE chars divide 256, so every char is equally likely). */
function iceChars(bytes: Buffer): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += ICE_CHARS[bytes[i]! % ICE_CHARS.length];
  return out;
}

function iceString(length: number): string {
  return iceChars(randomBytes(length));
}

export interface WebrtcSdpParams {
  /** a=setup value: `actpass` in offers, `active` in answers (Meta's UIC/BIC samples). */
  setup: 'actpass' | 'active';
  address: string;
  port: number;
  mid: string;
  opusPt: number;
  /** Omitted when undefined. */
  telephoneEventPt?: number;
  iceLite: boolean;
}

/** Random per-call identity: ICE credentials, fingerprint, SSRC, cname, session id (one randomBytes call: the simulator makes one per call under load). */
export function randomWebrtcIdentity(): { ufrag: string; pwd: string; fingerprint: string; ssrc: number; cname: string; sessionId: string } {
  const r = randomBytes(16 + 24 + 32 + 16 + 4 + 6);
  const ssrc = r.readUInt32BE(88);
  return {
    ufrag: iceChars(r.subarray(0, 16)),
    pwd: iceChars(r.subarray(16, 40)),
    fingerprint: r.subarray(40, 72).toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:'),
    ssrc: ssrc === 0 ? 1 : ssrc,
    cname: iceChars(r.subarray(72, 88)).replace(/[+/]/g, 'x'),
    // 1 .. 2^48 - 1, as before.
    sessionId: `${r.readUIntBE(92, 6) || 1}`,
  };
}

export function buildWebrtcSdp(p: WebrtcSdpParams): string {
  const id = randomWebrtcIdentity();
  const pts = [p.opusPt, ...(p.telephoneEventPt !== undefined ? [p.telephoneEventPt] : [])];
  const stream = iceString(16).replace(/[+/]/g, 'x');
  const lines = [
    'v=0',
    `o=- ${id.sessionId} 2 IN IP4 ${p.address}`,
    's=-',
    't=0 0',
    `a=group:BUNDLE ${p.mid}`,
    `a=msid-semantic: WMS ${stream}`,
    ...(p.iceLite ? ['a=ice-lite'] : []),
    `m=audio ${p.port} UDP/TLS/RTP/SAVPF ${pts.join(' ')}`,
    `c=IN IP4 ${p.address}`,
    `a=rtcp:${p.port} IN IP4 ${p.address}`,
    `a=candidate:1 1 udp 2113937151 ${p.address} ${p.port} typ host generation 0`,
    `a=ice-ufrag:${id.ufrag}`,
    `a=ice-pwd:${id.pwd}`,
    `a=fingerprint:sha-256 ${id.fingerprint}`,
    `a=setup:${p.setup}`,
    `a=mid:${p.mid}`,
    'a=sendrecv',
    'a=rtcp-mux',
    `a=rtpmap:${p.opusPt} opus/48000/2`,
    `a=fmtp:${p.opusPt} minptime=10;useinbandfec=1`,
    ...(p.telephoneEventPt !== undefined ? [`a=rtpmap:${p.telephoneEventPt} telephone-event/8000`] : []),
    'a=ptime:20',
    `a=ssrc:${id.ssrc} cname:${id.cname}`,
    `a=ssrc:${id.ssrc} msid:${stream} audio0`,
    '',
  ];
  return lines.join('\r\n');
}
