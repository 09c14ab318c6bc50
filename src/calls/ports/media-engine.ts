/**
 * The media port of the call logic: turns SDP between the PBX's plain RTP and WhatsApp's media
 * (WebRTC: ICE, DTLS-SRTP, rtcp-mux, Opus; or, in SIP mode with SDES, RTP/SAVP with a=crypto and
 * Opus: see WhatsAppMediaProfile) and relays/transcodes the audio. The rtpengine adapter
 * (src/adapters/rtpengine) implements it; tests use fakes.
 *
 * One MediaSession per call. Call order:
 *  PBX -> WhatsApp (business-initiated): offerToWhatsApp(pbxOffer) then answerFromWhatsApp(waAnswer)
 *  WhatsApp -> PBX (user-initiated):     offerToPbx(waOffer)       then answerFromPbx(pbxAnswer)
 */
export interface MediaCounters {
  /** RTP packets received from the WhatsApp side. */
  fromWhatsApp: number;
  /** RTP packets received from the PBX (plain RTP) side. */
  fromPbx: number;
}

export interface MediaSession {
  /** The engine's call id (watrunk's own call id). */
  readonly id: string;
  /** Business-initiated: the PBX's plain-RTP offer becomes an offer for WhatsApp (WebRTC or SDES, per the session's profile). */
  offerToWhatsApp(pbxOffer: string): Promise<string>;
  /** Business-initiated: WhatsApp's answer becomes a plain-RTP answer for the PBX. */
  answerFromWhatsApp(waAnswer: string): Promise<string>;
  /** User-initiated: WhatsApp's offer becomes a plain-RTP offer for the PBX. */
  offerToPbx(waOffer: string): Promise<string>;
  /** User-initiated: the PBX's plain-RTP answer becomes the answer for WhatsApp (with WebRTC we are the DTLS client). */
  answerFromPbx(pbxAnswer: string): Promise<string>;
  /**
   * A PBX re-offer after answer (hold, resume, new address or codec): the engine adopts it and the
   * WhatsApp leg stays exactly as negotiated. Returns the SDP to answer the PBX with.
   */
  reofferFromPbx(pbxOffer: string): Promise<string>;
  /** Stop media flowing from the PBX toward WhatsApp (Meta counts the first media packet as answer). */
  blockToWhatsApp(): Promise<void>;
  unblockToWhatsApp(): Promise<void>;
  /** Packets received so far from each side (used to detect "first media from WhatsApp"). */
  counters(): Promise<MediaCounters>;
  /** Frees the engine's resources. Idempotent and safe to call in any state; never throws. */
  close(): Promise<void>;
}

/**
 * How the WhatsApp side of a call carries its media:
 * - `'webrtc'`: ICE, DTLS-SRTP, `UDP/TLS/RTP/SAVPF`, rtcp-mux, Opus. API mode (Graph API and
 *   webhooks) and SIP mode when the number's `srtp_key_exchange_protocol` is `DTLS` (the default).
 * - `'sdes'`: `RTP/SAVP` with `a=crypto` keys (RFC 4568), no ICE, no DTLS, Opus. SIP mode when the
 *   number's `srtp_key_exchange_protocol` is `SDES` (docs/media.md#sdes).
 */
export type WhatsAppMediaProfile = 'webrtc' | 'sdes';

export interface MediaSessionOptions {
  /** The WhatsApp side's media profile (default `'webrtc'`). */
  whatsappMedia?: WhatsAppMediaProfile;
}

export interface MediaEngine {
  /**
   * Creates the per-call session; nothing is allocated on the engine until the first offer.
   * `opts.whatsappMedia` chooses how the WhatsApp side is encrypted and connected: `'webrtc'` (the
   * default; API mode, and SIP mode with DTLS) or `'sdes'` (SIP mode with SDES, docs/media.md#sdes).
   * The PBX side is plain RTP either way.
   */
  createSession(callId: string, opts?: MediaSessionOptions): MediaSession;
  /** Whether the engine answers (for /readyz and for refusing calls early). */
  ping(): Promise<boolean>;
  /**
   * Whether a new call can get media, cheaply: a recent health result is reused, so a burst of calls
   * does not cost one engine round trip each (the per-INVITE ping doubled the ng traffic under load).
   */
  canTakeCalls(): Promise<boolean>;
  /** Ids of sessions still open in this process (leak checks in tests and on shutdown). */
  openSessions(): string[];
}
