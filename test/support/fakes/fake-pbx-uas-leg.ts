import type { PbxUasLeg, SipHangup, SipHeaders, SipParty } from '../../../src/calls/ports/sip.js';

export interface SentResponse {
  status: number;
  reason?: string;
  sdp?: string;
  headers: SipHeaders;
}

/** An PbxUasLeg that records what watrunk sends and lets a test play the PBX. */
export class FakePbxUasLeg implements PbxUasLeg {
  readonly sipCallId: string;
  readonly from: SipParty;
  readonly to: SipParty;
  readonly requestUser: string;
  readonly source = { address: '127.0.0.1', port: 5062, transport: 'udp' };
  readonly sdp: string;
  readonly responses: SentResponse[] = [];
  readonly byes: SipHeaders[] = [];
  answered = false;
  failAnswer = false;
  /** How long answer() waits, after recording the 200, before it resolves: drachtio-server's confirmation that the message left. */
  confirmDelayMs = 0;
  private headers: Record<string, string>;
  private cancelCb?: () => void;
  private hangupCb?: (info: SipHangup) => void;
  private reofferCb?: (sdp: string) => Promise<string>;

  constructor(opts: { to?: string; from?: string; sdp?: string; headers?: Record<string, string>; callId?: string } = {}) {
    this.sipCallId = opts.callId ?? `sip-${Math.random().toString(36).slice(2)}`;
    this.requestUser = opts.to ?? '+447700900123';
    this.to = { user: this.requestUser, uri: `sip:${this.requestUser}@127.0.0.1` };
    this.from = { user: opts.from ?? '1001', uri: `sip:${opts.from ?? '1001'}@127.0.0.1` };
    this.sdp = opts.sdp ?? 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n';
    this.headers = Object.fromEntries(Object.entries(opts.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  }

  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()];
  }

  progress(status: 180 | 183, opts: { sdp?: string; headers?: SipHeaders } = {}): void {
    this.responses.push({ status, headers: opts.headers ?? {}, ...(opts.sdp ? { sdp: opts.sdp } : {}) });
  }

  async answer(sdp: string, headers: SipHeaders = {}): Promise<void> {
    if (this.failAnswer) throw new Error('487 Request Terminated');
    this.answered = true;
    this.responses.push({ status: 200, sdp, headers });
    if (this.confirmDelayMs > 0) await new Promise((r) => setTimeout(r, this.confirmDelayMs));
  }

  reject(status: number, reason?: string, headers: SipHeaders = {}): void {
    if (this.final) return;
    this.responses.push({ status, headers, ...(reason ? { reason } : {}) });
  }

  async hangup(headers: SipHeaders = {}): Promise<void> {
    if (this.answered) this.byes.push(headers);
  }

  /** A CANCEL that came before the call registered (during the INVITE checks) is delivered now. */
  onCancel(cb: () => void): void { this.cancelCb = cb; if (this.cancelled) cb(); }
  onHangup(cb: (info: SipHangup) => void): void { this.hangupCb = cb; }
  onReoffer(cb: (sdp: string) => Promise<string>): void { this.reofferCb = cb; }

  // --- the PBX's actions ---
  cancelled = false;
  cancel(): void { this.cancelled = true; this.cancelCb?.(); }
  bye(): void { this.hangupCb?.({ headers: {} }); }
  /** The SIP adapter found the PBX gone (it sent BYE itself). */
  lose(cause: NonNullable<SipHangup['lost']>): void { this.hangupCb?.({ headers: {}, lost: cause }); }
  reoffer(sdp: string): Promise<string> {
    if (!this.reofferCb) throw new Error('no re-offer handler');
    return this.reofferCb(sdp);
  }

  get final(): SentResponse | undefined {
    return this.responses.find((r) => r.status >= 200);
  }
  get statuses(): number[] {
    return this.responses.map((r) => r.status);
  }
}
