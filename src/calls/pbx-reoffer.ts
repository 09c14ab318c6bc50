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
 * Where and how the PBX wants its audio: the audio m-line's address, port and payload types with
 * their rtpmaps. Direction is left out, and so is a hold address (c=0.0.0.0, RFC 3264 §8.4).
 */
function mediaKey(sdp: string): string {
  const lines = sdp.split(/\r?\n/);
  const m = lines.findIndex((l) => l.startsWith('m=audio '));
  if (m < 0) return '';
  const next = lines.findIndex((l, i) => i > m && l.startsWith('m='));
  const section = lines.slice(m, next < 0 ? undefined : next);
  const conn = (section.find((l) => l.startsWith('c=')) ?? lines.slice(0, m).find((l) => l.startsWith('c=')) ?? '').trim();
  const address = /\s0\.0\.0\.0$/.test(conn) ? 'hold' : conn;
  return [address, section[0], ...section.filter((l) => /^a=(rtpmap|fmtp):/.test(l)).sort()].join('|');
}

/**
 * Re-INVITE/UPDATE offers from the PBX once its leg is up, for either call direction. WhatsApp
 * cannot renegotiate (docs/whatsapp-calling.md#no-renegotiation), so:
 *  - an unchanged SDP (same o= version: a session-timer refresh, RFC 4028), or one that changes
 *    only the direction or puts c=0.0.0.0 (hold and resume), is answered locally: the PBX simply
 *    stops and restarts sending. Not touching the media engine matters: every re-offer restarts
 *    rtpengine's transcoder, whose RTP timestamps then jump, and a libwebrtc receiver conceals
 *    (plays silence) for about 1.5 s afterwards (measured in test/media/pbx-sdp-shapes.test.ts);
 *  - a new address, port or codec list (a transfer, direct media) goes to the media engine, which
 *    adopts it on the PBX side and leaves the WhatsApp side as it is.
 * Answers mirror the offered direction (RFC 3264 §6.1). `pbxSends` follows the PBX's hold state, so
 * a held call is not mistaken for a dead one.
 */
export class PbxReoffers {
  private origin?: string;
  private mediaNow: string;
  private local: ReofferAnswerer;
  private sends: boolean;

  constructor(private readonly media: MediaSession, private readonly log: Logger, pbxSdp: string, answerToPbx: string) {
    this.origin = originVersion(pbxSdp);
    this.mediaNow = mediaKey(pbxSdp);
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
    const key = mediaKey(offer);
    if (key === this.mediaNow || key.startsWith('hold|')) {
      this.sends = pbxSendsAudio(offer);
      this.log.info({ pbxSends: this.sends }, 'PBX re-offer changes only the direction (hold/resume): answered locally');
      return this.local.answer(offer);
    }
    const fromEngine = restoreDeclined(await this.media.reofferFromPbx(check.sdp), check.declined);
    this.mediaNow = key;
    this.local = new ReofferAnswerer(fromEngine);
    const answer = this.local.answer(offer);
    this.sends = pbxSendsAudio(offer);
    this.log.info({ pbxSends: this.sends }, 'PBX re-offer with new media adopted by the media engine; WhatsApp leg unchanged');
    return answer;
  }
}
