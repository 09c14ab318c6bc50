import type { Logger } from '../../logging.js';
import {
  SipFailure, type PbxUacLeg, type PbxProgress, type PbxDialer, type PbxInviteRequest, type SipHangup, type SipHeaders,
  type SipLivenessConfig,
} from '../../calls/ports/sip.js';
import { watchConnectionLoss } from './connection-loss.js';
import { PbxDialog } from './pbx-dialog.js';
import { negotiateAsUac } from './session-timer.js';
import type { SrfDialog, SrfRequest, SrfUac, SrfUacError } from './srf-types.js';


/** watrunk's INVITE to a PBX over drachtio (UAC side), for WhatsApp -> PBX calls. */
export class DrachtioUacLeg implements PbxUacLeg {
  sipCallId = '';
  private inviteReq?: { cancel(): void };
  private cancelWanted = false;
  private dialog?: PbxDialog;
  private hangupCb?: (info: SipHangup) => void;
  private reofferCb?: (sdp: string) => Promise<string>;

  constructor(
    private readonly srf: SrfUac, private readonly req: PbxInviteRequest, private readonly log: Logger,
    private readonly liveness: SipLivenessConfig,
  ) {}

  /**
   * With session timers on, the INVITE asks for one with watrunk as refresher
   * (https://www.rfc-editor.org/rfc/rfc4028#section-7.1). A 422 names the smallest interval the PBX
   * takes: the INVITE is sent once more with it (RFC 4028 §7.3; drachtio-server gives the retry a new Call-ID).
   */
  async invite(opts: { onProgress: (p: PbxProgress) => void }): Promise<{ sdp: string }> {
    const { sessionExpiresS, minSeS } = this.liveness;
    let se = sessionExpiresS > 0 ? Math.max(sessionExpiresS, minSeS) : 0;
    let minSe = minSeS;
    let dialog: SrfDialog | undefined;
    // The INVITE transaction dies with the drachtio-server connection, and drachtio-srf then never
    // settles it: fail it here, so the call rejects on WhatsApp at once instead of ringing on.
    let unwatchLoss: () => void = () => undefined;
    const lost = new Promise<never>((_resolve, reject) => {
      unwatchLoss = watchConnectionLoss(this.srf, () => reject(Object.assign(new Error('drachtio-server connection lost'), { status: 503, reason: 'drachtio-server connection lost' })));
    });
    lost.catch(() => undefined);
    for (let attempt = 0; !dialog; attempt++) {
      try {
        dialog = await Promise.race([this.send(opts, se, minSe), lost]);
      } catch (err) {
        const e = err as SrfUacError;
        const wanted = e.status === 422 ? Number.parseInt(e.res?.get('Min-SE') ?? '', 10) : NaN;
        if (attempt === 0 && se > 0 && wanted > se && !this.cancelWanted) {
          this.log.info({ sessionExpires: se, minSe: wanted }, 'PBX answered 422: INVITE sent again with its Min-SE');
          se = minSe = wanted;
          continue;
        }
        unwatchLoss();
        throw new SipFailure(e.status ?? 500, e.reason ?? e.message ?? 'INVITE failed');
      }
    }
    unwatchLoss();
    this.dialog = new PbxDialog(dialog, {
      log: this.log, liveness: this.liveness, timer: negotiateAsUac(dialog.res, se), minSeS: minSe,
      onHangup: () => this.hangupCb, onReoffer: () => this.reofferCb,
      watchLoss: (onLost) => watchConnectionLoss(this.srf, onLost),
    });
    return { sdp: dialog.remote.sdp };
  }

  private send(opts: { onProgress: (p: PbxProgress) => void }, se: number, minSe: number): Promise<SrfDialog> {
    const timer: SipHeaders = se > 0 ? { Supported: 'timer', 'Session-Expires': `${se};refresher=uac`, 'Min-SE': String(minSe) } : {};
    return this.srf.createUAC(this.req.uri, {
      localSdp: this.req.sdp,
      // drachtio-srf would copy From (display name included) into Contact; some UAs build the
      // BYE's Request-URI from it verbatim, so give a bare Contact. drachtio-server replaces
      // "localhost" with its own SIP address, as it does in From.
      headers: { Contact: `<sip:${this.req.callingNumber}@localhost>`, ...timer, ...this.req.headers },
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
  }

  cancel(): void {
    this.cancelWanted = true;
    this.inviteReq?.cancel();
  }

  hangup(headers: SipHeaders = {}): Promise<void> {
    return this.dialog?.hangup(headers) ?? Promise.resolve();
  }

  onHangup(cb: (info: SipHangup) => void): void { this.hangupCb = cb; }
  onReoffer(cb: (sdp: string) => Promise<string>): void { this.reofferCb = cb; }
}

export class DrachtioPbxDialer implements PbxDialer {
  constructor(
    private readonly srf: SrfUac, private readonly isConnected: () => boolean, private readonly log: Logger,
    private readonly liveness: SipLivenessConfig,
  ) {}

  get ready(): boolean {
    return this.isConnected();
  }

  dial(req: PbxInviteRequest): PbxUacLeg {
    return new DrachtioUacLeg(this.srf, req, this.log, this.liveness);
  }
}
