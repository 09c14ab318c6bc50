/**
 * The media port of the call logic: turns SDP between the PBX's plain RTP and WhatsApp's WebRTC
 * (ICE, DTLS-SRTP, rtcp-mux, Opus) and relays/transcodes the audio. The rtpengine adapter
 * (src/adapters/rtpengine) implements it; tests use fakes.
 *
 * One MediaSession per call. Call order:
 *  PBX -> WhatsApp (business-initiated): offerToWhatsApp(pbxOffer) then answerFromWhatsApp(waAnswer)
 *  WhatsApp -> PBX (user-initiated):     offerToPbx(waOffer)       then answerFromPbx(pbxAnswer)
 */
export interface MediaCounters {
  /** RTP packets received from the WhatsApp (WebRTC) side. */
  fromWhatsApp: number;
  /** RTP packets received from the PBX (plain RTP) side. */
  fromPbx: number;
}

export interface MediaSession {
  /** The engine's call id (watrunk's own call id). */
  readonly id: string;
  /** Business-initiated: the PBX's plain-RTP offer becomes a WebRTC offer for WhatsApp. */
  offerToWhatsApp(pbxOffer: string): Promise<string>;
  /** Business-initiated: WhatsApp's WebRTC answer becomes a plain-RTP answer for the PBX. */
  answerFromWhatsApp(waAnswer: string): Promise<string>;
  /** User-initiated: WhatsApp's WebRTC offer becomes a plain-RTP offer for the PBX. */
  offerToPbx(waOffer: string): Promise<string>;
  /** User-initiated: the PBX's plain-RTP answer becomes the WebRTC answer for WhatsApp (we are DTLS client). */
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

export interface MediaEngine {
  /** Creates the per-call session; nothing is allocated on the engine until the first offer. */
  createSession(callId: string): MediaSession;
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
