import type { Logger } from '../logging.js';
import { checkPbxOffer, pbxSendsAudio, restoreDeclined } from './pbx-sdp.js';
import type { MediaSession } from './ports/media-engine.js';
import { ReofferAnswerer } from './sdp-reanswer.js';

/** A PBX re-offer watrunk will not take (secure media, no usable codec): answered 488, the call goes on. */
export class ReofferRefused extends Error {
  override readonly name = 'ReofferRefused';
}

/** The o= line's session id and version: unchanged means the SDP is unchanged (RFC 3264 §8). */
function originVersion(sdp: string): string | undefined {
  const m = /^o=\S+\s+(\S+)\s+(\S+)/m.exec(sdp);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

/**
 * Re-INVITE/UPDATE offers from the PBX once its leg is up, for either call direction. WhatsApp
 * cannot renegotiate (docs/whatsapp-calling.md#no-renegotiation), so:
 *  - an unchanged SDP (same o= version: a session-timer refresh, RFC 4028) is answered locally with
 *    the answer the PBX already has;
 *  - a changed SDP (hold, resume, a new address or codec after a transfer) goes to the media engine,
 *    which adopts it on the PBX side and leaves the WhatsApp side as it is.
 * `pbxSends` follows the PBX's hold state, so a held call is not mistaken for a dead one.
 */
export class PbxReoffers {
  private origin?: string;
  private local: ReofferAnswerer;
  private sends: boolean;

  constructor(private readonly media: MediaSession, private readonly log: Logger, pbxSdp: string, answerToPbx: string) {
    this.origin = originVersion(pbxSdp);
    this.local = new ReofferAnswerer(answerToPbx);
    this.sends = pbxSendsAudio(pbxSdp);
  }

  /** Whether the PBX's current SDP says it sends audio (not on hold with inactive/recvonly). */
  get pbxSends(): boolean {
    return this.sends;
  }

  async answer(offer: string): Promise<string> {
    const origin = originVersion(offer);
    if (origin !== undefined && origin === this.origin) {
      this.log.debug('PBX re-offer with an unchanged SDP (refresh): answered locally');
      return this.local.answer(offer);
    }
    const check = checkPbxOffer(offer);
    if (!check.ok) {
      this.log.warn({ warning: check.warning }, 'PBX re-offer refused with 488; the call continues as before');
      throw new ReofferRefused(check.warning);
    }
    const answer = restoreDeclined(await this.media.reofferFromPbx(check.sdp), check.declined);
    this.origin = origin;
    this.local = new ReofferAnswerer(answer);
    this.sends = pbxSendsAudio(offer);
    this.log.info({ pbxSends: this.sends }, 'PBX re-offer adopted by the media engine; WhatsApp leg unchanged');
    return answer;
  }
}
