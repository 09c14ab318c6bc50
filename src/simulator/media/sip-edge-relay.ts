/**
 * The media half of the simulator's stand-in for Meta's SIP edge (wa.meta.vc). In SIP mode the
 * WhatsApp app still speaks WebRTC; Meta's edge relays between it and the business's SIP media,
 * which is either WebRTC-style DTLS-SRTP with Meta as the ice-lite side, or SDES (RTP/SAVP with
 * a=crypto, no ICE), as the number's `srtp_key_exchange_protocol` says (docs/media.md#sdes).
 *
 * The simulated user is a libwebrtc peer (wrtc-peer.ts), which speaks WebRTC only, so this relay
 * puts an rtpengine between the two, driven over watrunk's own ng client (ng-client.ts). One
 * rtpengine call per relay, with two participants: the business side and the user side.
 *
 *  business-initiated: offerFromBusiness(business offer) → offer for the user;
 *                      answerFromUser(user answer)       → Meta's answer for the business
 *  user-initiated:     offerToBusiness(user offer)       → Meta's offer for the business;
 *                      answerFromBusiness(business answer) → answer for the user
 *
 * What the business gets is shaped like Meta's SIP edge: Opus 48000/2 (with the fmtp of Meta's SIP
 * samples, ptime 20) and telephone-event/8000 only, no RTP header extensions, no stream identity
 * (a=ssrc/a=msid: the relay's rtpengine is the sender the business receives from), and
 *  - 'sdes': `RTP/SAVP`, one a=crypto (AES_CM_128_HMAC_SHA1_80 in offers), no ICE, no DTLS;
 *  - 'dtls': `UDP/TLS/RTP/SAVPF`, `a=ice-lite` (rtpengine 10.5's `ICE-lite` option), rtcp-mux,
 *    a=setup:actpass in offers and `dtlsAnswerSetup` in answers.
 * The option sets are data below, each with its reason, as in src/adapters/rtpengine/flag-sets.ts.
 */
import { randomBytes } from 'node:crypto';
import { SDES_ONLY_AES_CM_128_HMAC_SHA1_80, WEBRTC_SIDE } from '../../adapters/rtpengine/flag-sets.js';
import type { EngineAddress, NgClient, NgCommand, NgParams, NgResponse } from '../../adapters/rtpengine/ng-client.js';
import { audioPayloads } from '../../adapters/rtpengine/sdp-codecs.js';
import { withoutStreamIdentity } from '../../adapters/rtpengine/stream-identity.js';
import { keepOpusAndTelephoneEvent8000 } from '../../adapters/rtpengine/telephone-event.js';

/** The business-facing media of Meta's SIP edge: `srtp_key_exchange_protocol` SDES or DTLS. */
export type SipEdgeMediaProfile = 'sdes' | 'dtls';

export interface SipEdgeMediaRelayOptions {
  client: NgClient;
  /** The rtpengine this relay's call runs on. */
  engine: EngineAddress;
  /** rtpengine call-id of the relay's call (distinct from watrunk's own call on any shared engine). */
  callId: string;
  profile: SipEdgeMediaProfile;
  /**
   * 'sdes' only: whether the edge multiplexes RTCP. Meta does not document it, so both are
   * testable: true (default) offers a=rtcp-mux to the business (with a separate RTCP port as
   * fallback) and accepts it in answers; false never offers it and answers a business offer
   * without it.
   */
  sdesRtcpMux?: boolean;
  /**
   * 'dtls' only: the a=setup the edge answers a business offer with. Default 'active' (the edge
   * is the DTLS client), as Meta's answers in its Calling API samples
   * (docs/whatsapp-calling.md#ice-and-dtls); 'passive' makes the business the client.
   */
  dtlsAnswerSetup?: 'active' | 'passive';
}

/** The business's SDP is one Meta's edge would refuse (the SIP edge answers 488). */
export class SipEdgeMediaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SipEdgeMediaError';
  }
}

const REPLACE = ['origin', 'session-connection'];

/** Toward the simulated user (libwebrtc): WebRTC, as the app speaks it, the same options as watrunk's WhatsApp side (docs/media.md#flag-sets). */
const TOWARD_USER: NgParams = { ...WEBRTC_SIDE, flags: ['generate-mid'] };

/** Toward the business, 'sdes': RTP/SAVP with one crypto suite, no ICE, no DTLS (docs/media.md#sdes). */
const TOWARD_BUSINESS_SDES: NgParams = {
  ICE: 'remove',
  DTLS: 'off',
  'transport-protocol': 'RTP/SAVP',
  // Offers carry AES_CM_128_HMAC_SHA1_80 only; answers take the business's first offered suite.
  SDES: SDES_ONLY_AES_CM_128_HMAC_SHA1_80,
  replace: REPLACE,
};

/** Toward the business, 'dtls': WebRTC media with the edge as the ice-lite side (docs/whatsapp-calling.md#ice-and-dtls). */
const TOWARD_BUSINESS_DTLS: NgParams = { ...WEBRTC_SIDE };

export class SipEdgeMediaRelay {
  readonly businessTag = newTag();
  readonly userTag = newTag();
  readonly profile: SipEdgeMediaProfile;
  private readonly client: NgClient;
  private readonly engine: EngineAddress;
  readonly callId: string;
  private readonly sdesRtcpMux: boolean;
  private readonly dtlsAnswerSetup: 'active' | 'passive';
  private direction?: 'BUSINESS_INITIATED' | 'USER_INITIATED';
  private offerSent = false;
  private closing?: Promise<void>;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(opts: SipEdgeMediaRelayOptions) {
    this.client = opts.client;
    this.engine = opts.engine;
    this.callId = opts.callId;
    this.profile = opts.profile;
    this.sdesRtcpMux = opts.sdesRtcpMux ?? true;
    this.dtlsAnswerSetup = opts.dtlsAnswerSetup ?? 'active';
  }

  /**
   * Business-initiated: the business's offer (its INVITE to the edge) becomes a WebRTC offer for
   * the user. Throws SipEdgeMediaError when the offer does not fit the profile or has no Opus.
   */
  offerFromBusiness(businessOffer: string): Promise<string> {
    return this.run(async () => {
      this.begin('BUSINESS_INITIATED');
      const refusal = businessSdpRefusal(businessOffer, this.profile);
      if (refusal) throw new SipEdgeMediaError(refusal);
      const flags: NgParams = this.profile === 'sdes'
        // rtcp-mux toward the user is required; `reject` additionally refuses the business's offer
        // of mux, so that the answer to the business has a separate RTCP port.
        ? { ...TOWARD_USER, 'rtcp-mux': this.sdesRtcpMux ? ['require'] : ['require', 'reject'] }
        // `backward`: ice-lite toward the peer that sent this offer, i.e. in the answer to the
        // business, which is then the ICE-controlling, full side (rtpengine 10.5 `ICE-lite`,
        // valid in offers only).
        : { ...TOWARD_USER, 'ICE-lite': 'backward' };
      this.offerSent = true;
      const r = await this.ng('offer', { ...flags, 'from-tag': this.businessTag, sdp: businessOffer });
      return withoutStreamIdentity(sdpOf(r));
    });
  }

  /** Business-initiated: the user's WebRTC answer becomes the edge's answer for the business. */
  answerFromUser(userAnswer: string): Promise<string> {
    return this.run(async () => {
      this.expect('BUSINESS_INITIATED', 'answerFromUser');
      const flags: NgParams = this.profile === 'sdes'
        ? TOWARD_BUSINESS_SDES
        // `DTLS: passive` gives a=setup:passive; `active` (rtpengine's default when it can) a=setup:active.
        : { ...TOWARD_BUSINESS_DTLS, DTLS: this.dtlsAnswerSetup };
      const r = await this.ng('answer', { ...flags, 'from-tag': this.businessTag, 'to-tag': this.userTag, sdp: userAnswer });
      return metaSipShape(withoutStreamIdentity(sdpOf(r)), this.profile);
    });
  }

  /** User-initiated: the user's WebRTC offer becomes the edge's offer for the business. */
  offerToBusiness(userOffer: string): Promise<string> {
    return this.run(async () => {
      this.begin('USER_INITIATED');
      const flags: NgParams = this.profile === 'sdes'
        // `offer`: a=rtcp-mux plus a separate a=rtcp port, so a business can take either;
        // `demux`: not offered to the business, still accepted back toward the user.
        ? { ...TOWARD_BUSINESS_SDES, 'rtcp-mux': this.sdesRtcpMux ? ['offer'] : ['demux'] }
        // `forward`: ice-lite toward the peer this offer is sent to (the business).
        : { ...TOWARD_BUSINESS_DTLS, 'ICE-lite': 'forward' };
      this.offerSent = true;
      const r = await this.ng('offer', { ...flags, 'from-tag': this.userTag, sdp: userOffer });
      // The app's offer can list more than Opus and telephone-event/8000; Meta offers only those.
      return metaSipShape(keepOpusAndTelephoneEvent8000(withoutStreamIdentity(sdpOf(r))), this.profile);
    });
  }

  /**
   * User-initiated: the business's answer becomes the answer for the user. Throws
   * SipEdgeMediaError when the answer does not fit the profile or has no Opus.
   */
  answerFromBusiness(businessAnswer: string): Promise<string> {
    return this.run(async () => {
      this.expect('USER_INITIATED', 'answerFromBusiness');
      const refusal = businessSdpRefusal(businessAnswer, this.profile);
      if (refusal) throw new SipEdgeMediaError(refusal);
      const r = await this.ng('answer', { ...TOWARD_USER, 'from-tag': this.userTag, 'to-tag': this.businessTag, sdp: businessAnswer });
      return withoutStreamIdentity(sdpOf(r));
    });
  }

  /** Deletes the relay's rtpengine call. Idempotent; never throws. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.chain.catch(() => undefined);
      if (!this.offerSent) return;
      const fromTag = this.direction === 'USER_INITIATED' ? this.userTag : this.businessTag;
      try {
        await this.client.send(this.engine, 'delete', { 'call-id': this.callId, 'from-tag': fromTag, 'delete delay': 0 });
      } catch {
        // Already gone, engine down or timed out: nothing more to free from here.
      }
    })();
    return this.closing;
  }

  private begin(direction: 'BUSINESS_INITIATED' | 'USER_INITIATED'): void {
    if (this.closing) throw new SipEdgeMediaError(`sip edge media ${this.callId} is closed`);
    if (this.direction) throw new SipEdgeMediaError(`sip edge media ${this.callId}: already has an offer (${this.direction})`);
    this.direction = direction;
  }

  private expect(direction: 'BUSINESS_INITIATED' | 'USER_INITIATED', method: string): void {
    if (this.closing) throw new SipEdgeMediaError(`sip edge media ${this.callId} is closed`);
    if (this.direction !== direction) throw new SipEdgeMediaError(`sip edge media ${this.callId}: ${method} without its offer`);
  }

  /** One ng operation at a time, in call order. */
  private run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private ng(command: NgCommand, params: NgParams): Promise<NgResponse> {
    return this.client.send(this.engine, command, { 'call-id': this.callId, ...params });
  }
}

/**
 * Why Meta's edge would refuse the business's SDP for `profile`, or undefined: the audio m-line's
 * transport profile must be RTP/SAVP (with a=crypto) for 'sdes' and UDP/TLS/RTP/SAVPF (with
 * a=fingerprint) for 'dtls', and opus/48000/2 must be offered.
 */
export function businessSdpRefusal(sdp: string, profile: SipEdgeMediaProfile): string | undefined {
  const m = /^m=audio \d+ (\S+)/m.exec(sdp);
  if (!m) return 'no audio m-line';
  const proto = m[1]!;
  if (profile === 'sdes') {
    if (proto !== 'RTP/SAVP') return `SDES media expects RTP/SAVP, got ${proto}`;
    if (!/^a=crypto:/m.test(sdp)) return 'SDES media without a=crypto';
  } else {
    if (proto !== 'UDP/TLS/RTP/SAVPF') return `DTLS media expects UDP/TLS/RTP/SAVPF, got ${proto}`;
    if (!/^a=fingerprint:/m.test(sdp)) return 'DTLS media without a=fingerprint';
  }
  if (!audioPayloads(sdp).some((p) => p.codec.toLowerCase() === 'opus' && p.rate === 48000)) return 'no opus/48000/2';
  return undefined;
}

/** The Opus parameters of Meta's SIP samples (docs/media.md#sdes). */
export const META_SIP_OPUS_FMTP = 'maxaveragebitrate=20000;maxplaybackrate=16000;minptime=20;sprop-maxcapturerate=16000;useinbandfec=1';

/**
 * What the edge writes toward the business, in the style of Meta's SIP samples: Opus with Meta's
 * fmtp, ptime 20, and none of the app's WebRTC-only lines (RTP header extensions; for 'sdes' also
 * a=mid and a=rtcp-fb, which belong to BUNDLE and the SAVPF profile). Line edits of the audio
 * section only; rtpengine's relaying does not depend on them.
 */
export function metaSipShape(sdp: string, profile: SipEdgeMediaProfile): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(/\r?\n/);
  const opusPt = audioPayloads(sdp).find((p) => p.codec.toLowerCase() === 'opus' && p.rate === 48000)?.pt;
  const drop = profile === 'sdes' ? /^a=(extmap|extmap-allow-mixed|mid|rtcp-fb)(:|$)/ : /^a=(extmap|extmap-allow-mixed)(:|$)/;
  const out: string[] = [];
  let inAudio = false;
  let hasPtime = false;
  let audioEnd = -1;
  for (const line of lines) {
    if (line.startsWith('m=')) {
      if (inAudio) audioEnd = out.length;
      inAudio = line.startsWith('m=audio ');
    }
    if (drop.test(line)) continue;
    if (inAudio && opusPt !== undefined && line.startsWith(`a=fmtp:${opusPt} `)) continue;
    if (inAudio && line.startsWith('a=ptime:')) hasPtime = true;
    out.push(line);
    if (inAudio && opusPt !== undefined && line.startsWith(`a=rtpmap:${opusPt} `)) out.push(`a=fmtp:${opusPt} ${META_SIP_OPUS_FMTP}`);
  }
  if (inAudio) audioEnd = out[out.length - 1] === '' ? out.length - 1 : out.length;
  if (!hasPtime && audioEnd >= 0) out.splice(audioEnd, 0, 'a=ptime:20');
  return out.join(eol);
}

function sdpOf(r: NgResponse): string {
  if (typeof r.sdp !== 'string' || r.sdp.length === 0) throw new Error('rtpengine reply carries no SDP');
  return r.sdp;
}

function newTag(): string {
  return randomBytes(8).toString('hex');
}
