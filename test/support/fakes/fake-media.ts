import type { MediaCounters, MediaEngine, MediaSession, MediaSessionOptions, WhatsAppMediaProfile } from '../../../src/calls/ports/media-engine.js';

export const WA_OFFER = 'v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 30000 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 127.0.0.1\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:97 telephone-event/8000\r\na=sendrecv\r\n';
export const PBX_ANSWER = 'v=0\r\no=- 3 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30010 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n';

/** A MediaSession with canned SDPs; a test sets counters and failures. */
export class FakeMediaSession implements MediaSession {
  closed = false;
  counts: MediaCounters = { fromWhatsApp: 0, fromPbx: 0 };
  failOffer = false;
  failAnswer = false;
  blocked = false;
  readonly calls: string[] = [];

  /** @param whatsappMedia the profile the session was created with (tests assert it). */
  constructor(readonly id: string, readonly whatsappMedia: WhatsAppMediaProfile = 'webrtc') {}

  async offerToWhatsApp(_pbxOffer: string): Promise<string> {
    this.calls.push('offerToWhatsApp');
    if (this.failOffer) throw new Error('rtpengine: no ports');
    return WA_OFFER;
  }
  async answerFromWhatsApp(_waAnswer: string): Promise<string> {
    this.calls.push('answerFromWhatsApp');
    if (this.failAnswer) throw new Error('rtpengine: bad answer');
    return PBX_ANSWER;
  }
  async offerToPbx(_waOffer: string): Promise<string> {
    this.calls.push('offerToPbx');
    return PBX_ANSWER;
  }
  async answerFromPbx(_pbxAnswer: string): Promise<string> {
    this.calls.push('answerFromPbx');
    return WA_OFFER;
  }
  failReoffer = false;
  readonly reoffers: string[] = [];
  async reofferFromPbx(pbxOffer: string): Promise<string> {
    this.calls.push('reofferFromPbx');
    if (this.failReoffer) throw new Error('rtpengine: re-offer failed');
    this.reoffers.push(pbxOffer);
    return PBX_ANSWER;
  }
  async blockToWhatsApp(): Promise<void> { this.blocked = true; }
  async unblockToWhatsApp(): Promise<void> { this.blocked = false; }
  async counters(): Promise<MediaCounters> { return this.counts; }
  async close(): Promise<void> { this.closed = true; }
}

export class FakeMediaEngine implements MediaEngine {
  readonly sessions = new Map<string, FakeMediaSession>();
  up = true;
  configure?: (s: FakeMediaSession) => void;

  createSession(callId: string, opts: MediaSessionOptions = {}): MediaSession {
    const s = new FakeMediaSession(callId, opts.whatsappMedia ?? 'webrtc');
    this.configure?.(s);
    this.sessions.set(callId, s);
    return s;
  }
  async ping(): Promise<boolean> { return this.up; }
  async canTakeCalls(): Promise<boolean> { return this.up; }
  openSessions(): string[] {
    return [...this.sessions.values()].filter((s) => !s.closed).map((s) => s.id);
  }
}
