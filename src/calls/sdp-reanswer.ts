import { parse, write, type MediaDescription, type SessionDescription } from 'sdp-transform';

type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** RFC 3264 §6.1: the answer's direction for an offered direction. */
const ANSWER_DIRECTION: Record<SdpDirection, SdpDirection> = {
  sendrecv: 'sendrecv',
  sendonly: 'recvonly',
  recvonly: 'sendonly',
  inactive: 'inactive',
};

function offeredDirection(sdp: SessionDescription): SdpDirection {
  const media = sdp.media[0];
  return (media?.direction ?? sdp.direction ?? 'sendrecv') as SdpDirection;
}

/**
 * Keeps the payload types of an answer's m-line that the offer's m-line of the same index lists
 * (RFC 3264 §6.1: an answer lists a subset of the offered formats). An m-line left without any, or
 * with no offered counterpart, is kept whole: the caller only answers locally offers that keep the
 * agreed formats (pbx-reoffer.ts), so this only trims codecs the PBX dropped.
 */
function keepOffered(m: MediaDescription, offered: MediaDescription | undefined): void {
  if (!offered || m.port === 0 || offered.payloads === undefined || m.payloads === undefined) return;
  const allowed = new Set(String(offered.payloads).split(/\s+/));
  const kept = String(m.payloads).split(/\s+/).filter((pt) => allowed.has(pt));
  if (kept.length === 0) return;
  const has = (pt: number | string) => allowed.has(String(pt));
  m.payloads = kept.join(' ');
  m.rtp = m.rtp.filter((r) => has(r.payload));
  m.fmtp = m.fmtp.filter((f) => has(f.payload));
  if (m.rtcpFb) m.rtcpFb = m.rtcpFb.filter((f) => has(f.payload));
}

/**
 * Answers a PBX re-INVITE/UPDATE (hold, resume, session refresh) locally: WhatsApp supports no
 * renegotiation (docs/whatsapp-calling.md#no-renegotiation), so the WhatsApp leg is left alone
 * and the PBX gets back the SDP it already has, with the direction mirrored for hold/resume and
 * only the payload types the re-offer still lists. Per RFC 3264 §8 the o= version increases only
 * when the SDP changes.
 */
export class ReofferAnswerer {
  private readonly base: SessionDescription;
  private version: number;
  private lastBody: string;

  constructor(lastAnswerToPbx: string) {
    this.base = parse(lastAnswerToPbx);
    this.version = Number(this.base.origin?.sessionVersion ?? 0);
    this.lastBody = this.body(this.base);
  }

  answer(offer: string): string {
    let offered: SessionDescription | undefined;
    try {
      offered = parse(offer);
    } catch {
      // An unparsable re-offer is answered with what the PBX already has.
    }
    const wanted = ANSWER_DIRECTION[offered ? offeredDirection(offered) : 'sendrecv'] ?? 'sendrecv';
    const next = structuredClone(this.base);
    delete next.direction;
    next.media.forEach((m, i) => {
      m.direction = wanted;
      keepOffered(m, offered?.media[i]);
    });
    const body = this.body(next);
    if (body !== this.lastBody) {
      this.version += 1;
      this.lastBody = body;
    }
    if (next.origin) next.origin.sessionVersion = this.version;
    return write(next);
  }

  /** The SDP as written with its o= version left out, to see whether it changed. */
  private body(sdp: SessionDescription): string {
    return write({ ...sdp, origin: sdp.origin ? { ...sdp.origin, sessionVersion: 0 } : sdp.origin });
  }
}
