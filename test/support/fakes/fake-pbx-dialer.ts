import {
  SipFailure, type PbxUacLeg, type PbxProgress, type PbxDialer, type PbxInviteRequest, type SipHangup, type SipHeaders,
} from '../../../src/calls/ports/sip.js';

/** watrunk's INVITE as a test sees it: the test plays the PBX's responses. */
export class FakePbxUacLeg implements PbxUacLeg {
  sipCallId = 'fake-uac-1';
  cancelled = false;
  readonly byes: SipHeaders[] = [];
  private progress?: (p: PbxProgress) => void;
  private settle?: { resolve: (v: { sdp: string }) => void; reject: (e: unknown) => void };
  private hangupCb?: (info: SipHangup) => void;
  private reofferCb?: (sdp: string) => Promise<string>;
  answered = false;

  constructor(readonly req: PbxInviteRequest) {}

  invite(opts: { onProgress: (p: PbxProgress) => void }): Promise<{ sdp: string }> {
    this.progress = opts.onProgress;
    return new Promise((resolve, reject) => { this.settle = { resolve, reject }; });
  }
  /** When true, a CANCEL is not answered with 487: the PBX's 200 crosses it (see answerLate). */
  raceCancel = false;
  cancel(): void {
    if (this.cancelled || this.answered) return;
    this.cancelled = true;
    if (!this.raceCancel) this.settle?.reject(new SipFailure(487, 'Request Terminated'));
  }
  async hangup(headers: SipHeaders = {}): Promise<void> { if (this.answered) this.byes.push(headers); }
  onHangup(cb: (info: SipHangup) => void): void { this.hangupCb = cb; }
  onReoffer(cb: (sdp: string) => Promise<string>): void { this.reofferCb = cb; }

  // --- the PBX ---
  ring(sdp?: string): void { this.progress?.({ status: sdp ? 183 : 180, ...(sdp ? { sdp } : {}) }); }
  answer(sdp: string): void { this.answered = true; this.settle?.resolve({ sdp }); }
  /** The PBX answers although a CANCEL was sent (the CANCEL/200 race). */
  answerLate(sdp: string): void { this.answered = true; this.settle?.resolve({ sdp }); }
  fail(status: number, reason = 'Busy'): void { this.settle?.reject(new SipFailure(status, reason)); }
  bye(): void { this.hangupCb?.({ headers: {} }); }
  /** The SIP adapter found the PBX gone (it sent BYE itself). */
  lose(cause: NonNullable<SipHangup['lost']>): void { this.hangupCb?.({ headers: {}, lost: cause }); }
  reoffer(sdp: string): Promise<string> { return this.reofferCb!(sdp); }
}

export class FakePbxDialer implements PbxDialer {
  ready = true;
  readonly legs: FakePbxUacLeg[] = [];
  dial(req: PbxInviteRequest): PbxUacLeg {
    const leg = new FakePbxUacLeg(req);
    this.legs.push(leg);
    return leg;
  }
  get last(): FakePbxUacLeg { return this.legs[this.legs.length - 1]!; }
}
