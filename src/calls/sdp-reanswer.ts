import { parse, write, type SessionDescription } from 'sdp-transform';

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
 * Answers a PBX re-INVITE/UPDATE (hold, resume, session refresh) locally: WhatsApp supports no
 * renegotiation (docs/whatsapp-calling.md#no-renegotiation), so the WhatsApp leg is left alone
 * and the PBX gets back the SDP it already has, with the direction mirrored for hold/resume.
 * Per RFC 3264 §8 the o= version increases only when the SDP changes.
 */
export class ReofferAnswerer {
  private current: SessionDescription;

  constructor(lastAnswerToPbx: string) {
    this.current = parse(lastAnswerToPbx);
  }

  answer(offer: string): string {
    let offered: SdpDirection = 'sendrecv';
    try {
      offered = offeredDirection(parse(offer));
    } catch {
      // An unparsable re-offer is answered with what the PBX already has.
    }
    const wanted = ANSWER_DIRECTION[offered] ?? 'sendrecv';
    const before = write(this.current);
    for (const m of this.current.media) m.direction = wanted;
    delete this.current.direction;
    if (write(this.current) !== before && this.current.origin) {
      this.current.origin.sessionVersion = Number(this.current.origin.sessionVersion) + 1;
    }
    return write(this.current);
  }
}
