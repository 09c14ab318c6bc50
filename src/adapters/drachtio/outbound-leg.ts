import type { Logger } from '../../logging.js';
import {
  SipFailure, type OutboundPbxLeg, type OutboundProgress, type PbxDialer, type PbxInviteRequest, type SipHangup, type SipHeaders,
} from '../../calls/ports/sip.js';
import { attachDialogHandlers, sendBye } from './dialog-handlers.js';
import type { SrfDialog, SrfRequest, SrfUac } from './srf-types.js';


/** watrunk's INVITE to a PBX over drachtio (UAC side), for WhatsApp -> PBX calls. */
export class DrachtioOutboundLeg implements OutboundPbxLeg {
  sipCallId = '';
  private inviteReq?: { cancel(): void };
  private cancelWanted = false;
  private dialog?: SrfDialog;
  private hangupCb?: (info: SipHangup) => void;
  private reofferCb?: (sdp: string) => Promise<string>;

  constructor(private readonly srf: SrfUac, private readonly req: PbxInviteRequest, private readonly log: Logger) {}

  async invite(opts: { onProgress: (p: OutboundProgress) => void }): Promise<{ sdp: string }> {
    try {
      this.dialog = await this.srf.createUAC(this.req.uri, {
        localSdp: this.req.sdp,
        // drachtio-srf would copy From (display name included) into Contact; some UAs build the
        // BYE's Request-URI from it verbatim, so give a bare Contact. drachtio-server replaces
        // "localhost" with its own SIP address, as it does in From.
        headers: { Contact: `<sip:${this.req.callingNumber}@localhost>`, ...this.req.headers },
        callingNumber: this.req.callingNumber,
        ...(this.req.callingName ? { callingName: this.req.callingName.replace(/["\\]/g, '') } : {}),
        ...(this.req.auth ? { auth: this.req.auth } : {}),
      }, {
        cbRequest: (_err, inviteReq) => {
          this.inviteReq = inviteReq;
          this.sipCallId = (inviteReq as unknown as SrfRequest).callId ?? '';
          if (this.cancelWanted) inviteReq.cancel();
        },
        cbProvisional: (res) => opts.onProgress({ status: res.status, ...(res.body ? { sdp: res.body } : {}) }),
      });
    } catch (err) {
      const e = err as { status?: number; reason?: string; message?: string };
      throw new SipFailure(e.status ?? 500, e.reason ?? e.message ?? 'INVITE failed');
    }
    attachDialogHandlers(this.dialog, { onHangup: () => this.hangupCb, onReoffer: () => this.reofferCb, log: this.log });
    return { sdp: this.dialog.remote.sdp };
  }

  cancel(): void {
    this.cancelWanted = true;
    this.inviteReq?.cancel();
  }

  hangup(headers: SipHeaders = {}): Promise<void> {
    return sendBye(this.dialog, headers, this.log);
  }

  onHangup(cb: (info: SipHangup) => void): void { this.hangupCb = cb; }
  onReoffer(cb: (sdp: string) => Promise<string>): void { this.reofferCb = cb; }
}

export class DrachtioPbxDialer implements PbxDialer {
  constructor(private readonly srf: SrfUac, private readonly isConnected: () => boolean, private readonly log: Logger) {}

  get ready(): boolean {
    return this.isConnected();
  }

  dial(req: PbxInviteRequest): OutboundPbxLeg {
    return new DrachtioOutboundLeg(this.srf, req, this.log);
  }
}
