import type { Logger } from '../logging.js';
import { checkPbxOffer, pbxAudio, pbxSendsAudio, restoreDeclined, type PbxAudio } from './pbx-sdp.js';
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

/** The formats both SDPs of an offer/answer exchange list: what the PBX and the media engine agreed on. */
function agreed(a: PbxAudio | undefined, b: PbxAudio | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const [pt, name] of a?.formats ?? []) if (b?.formats.get(pt) === name) out.set(pt, name);
  return out;
}

/**
 * Re-INVITE/UPDATE offers from the PBX once its leg is up, for either call direction. WhatsApp
 * cannot renegotiate (docs/whatsapp-calling.md#no-renegotiation), so:
 *  - an unchanged SDP (same o= version: a session-timer refresh, RFC 4028) is answered locally;
 *  - so is one that keeps the PBX's address and port (or holds with c=0.0.0.0) and still offers
 *    every payload type agreed on, with the same encoding. That is hold and resume: only the
 *    direction changes, and most phones and PBXs (baresip, Asterisk, FreeSWITCH) re-offer just the
 *    agreed codecs rather than their first list, which RFC 3264 §8.3.2 allows. The PBX simply stops
 *    and restarts sending. Not touching the media engine matters: every re-offer restarts
 *    rtpengine's transcoder, whose RTP timestamps then jump, and a libwebrtc receiver conceals
 *    (plays silence) for about 1.5 s afterwards (measured in test/media/pbx-sdp-shapes.test.ts);
 *  - a new address, port or codec (a transfer, direct media) goes to the media engine, which
 *    adopts it on the PBX side and leaves the WhatsApp side as it is.
 * Answers mirror the offered direction (RFC 3264 §6.1) and list only payload types the re-offer
 * has (RFC 3264 §6.1). `pbxSends` follows the PBX's hold state, so a held call is not mistaken
 * for a dead one. docs/media.md#re-invites-from-the-pbx.
 */
export class PbxReoffers {
  private origin?: string;
  private pbxNow?: PbxAudio;
  private agreedNow: Map<string, string>;
  private local: ReofferAnswerer;
  private sends: boolean;

  constructor(private readonly media: MediaSession, private readonly log: Logger, pbxSdp: string, answerToPbx: string) {
    this.origin = originVersion(pbxSdp);
    this.pbxNow = pbxAudio(pbxSdp);
    this.agreedNow = agreed(this.pbxNow, pbxAudio(answerToPbx));
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
    this.origin = origin;
    const offered = pbxAudio(check.sdp);
    if (this.keepsMedia(offered)) {
      this.sends = pbxSendsAudio(offer);
      this.log.info({ pbxSends: this.sends }, 'PBX re-offer changes only the direction (hold/resume): answered locally');
      return this.local.answer(offer);
    }
    const fromEngine = restoreDeclined(await this.media.reofferFromPbx(check.sdp), check.declined);
    this.pbxNow = offered;
    this.agreedNow = agreed(offered, pbxAudio(fromEngine));
    this.local = new ReofferAnswerer(fromEngine);
    const answer = this.local.answer(offer);
    this.sends = pbxSendsAudio(offer);
    this.log.info({ pbxSends: this.sends }, 'PBX re-offer with new media adopted by the media engine; WhatsApp leg unchanged');
    return answer;
  }

  /** Same place (or a c=0.0.0.0 hold) and every agreed payload type still offered as the same encoding. */
  private keepsMedia(offered: PbxAudio | undefined): boolean {
    if (!offered || !this.pbxNow) return false;
    if (offered.address === 'hold') return true;
    if (offered.address !== this.pbxNow.address || offered.port !== this.pbxNow.port) return false;
    if (this.agreedNow.size === 0) return false;
    for (const [pt, name] of this.agreedNow) if (offered.formats.get(pt) !== name) return false;
    return true;
  }
}
