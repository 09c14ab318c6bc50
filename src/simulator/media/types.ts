/**
 * The simulated WhatsApp user's media. Two implementations:
 *  - signalling-only: syntactically valid WebRTC SDP, nothing listens (load tests);
 *  - real media (@roamhq/wrtc): ICE + DTLS-SRTP + Opus, plays a tone, reports what it hears.
 */
export interface ToneReport {
  frequencyHz: number;
  /** Fraction of analysed 20 ms frames in which the tone dominates (0..1). */
  fraction: number;
}

export interface MediaReport {
  mode: 'signalling-only' | 'real';
  /** Audio frames/packets received from the business side. */
  receivedPackets: number;
  /** Epoch ms of the first audio received from the business side, if any. */
  firstPacketAt?: number;
  /** The strongest frequency heard in received audio, if any. */
  dominantFrequencyHz?: number;
  /** Result of checking received audio against expected tones. */
  tones: ToneReport[];
  /** RFC 4733 digits received, in order, where the implementation can observe them. */
  dtmfReceived: string;
  /** WebRTC connection state (real mode). */
  connectionState?: string;
}

export interface SimulatedUserMedia {
  /** Business-initiated: answer the business's offer like Meta does (ice-lite is not emulable with wrtc). */
  answer(offerSdp: string): Promise<string>;
  /** User-initiated: create an offer shaped like Meta's (actpass, Opus 111, telephone-event/8000 126). */
  createOffer(): Promise<string>;
  /** User-initiated: apply the business's answer (sent with pre_accept / accept). */
  applyAnswer(answerSdp: string): Promise<void>;
  /**
   * The user's microphone opens: start sending audio. A phone that is still ringing sends none,
   * so a business-initiated call's user talks only once it answers; a caller talks at once.
   */
  startTalking(): void;
  /** Send RFC 4733 digits toward the business, where supported. */
  sendDtmf(digits: string): Promise<void>;
  report(): MediaReport;
  close(): Promise<void>;
}

export interface SimulatedMediaFactory {
  readonly mode: 'signalling-only' | 'real';
  /** `toneHz`: the tone this simulated user plays; `listenHz`: tones to look for in what it receives. */
  create(opts: { toneHz: number; listenHz: number[] }): SimulatedUserMedia;
}
