import type { Logger } from '../../logging.js';
import type { PbxUasLeg, SipHangup, SipHeaders, SipLivenessConfig, SipParty } from '../../calls/ports/sip.js';
import { watchConnectionLoss } from './connection-loss.js';
import { PbxDialog } from './pbx-dialog.js';
import { negotiateAsUas, uasHeaders } from './session-timer.js';
import { uriUser } from './sip-uri.js';
import type { SrfLike, SrfRequest, SrfResponse } from './srf-types.js';

const SDP = { 'Content-Type': 'application/sdp' };

function party(req: SrfRequest, which: 'from' | 'to'): SipParty {
  try {
    const h = req.getParsedHeader(which);
    const name = h.name?.replace(/^"|"$/g, '');
    return { user: uriUser(h.uri), uri: h.uri, ...(name ? { displayName: name } : {}) };
  } catch {
    return { user: '', uri: '' };
  }
}

/** A PBX's INVITE to watrunk, over drachtio: the UAS side of the call. */
export class DrachtioUasLeg implements PbxUasLeg {
  readonly sipCallId: string;
  readonly from: SipParty;
  readonly to: SipParty;
  readonly requestUser: string;
  readonly source: { address: string; port: number; transport: string };
  readonly sdp: string;
  private dialog?: PbxDialog;
  private hangupCb?: (info: SipHangup) => void;
  private cancelCb?: () => void;
  private cancelled = false;
  private reofferCb?: (sdp: string) => Promise<string>;
  private unwatchLoss: () => void = () => undefined;

  constructor(
    private readonly srf: SrfLike, private readonly req: SrfRequest, private readonly res: SrfResponse,
    private readonly log: Logger, private readonly liveness: SipLivenessConfig,
  ) {
    this.sipCallId = req.callId;
    this.from = party(req, 'from');
    this.to = party(req, 'to');
    this.requestUser = uriUser(req.uri);
    this.source = { address: req.source_address, port: req.source_port, transport: req.protocol };
    this.sdp = req.body ?? '';
    req.on('cancel', () => {
      this.cancelled = true;
      this.unwatchLoss();
      this.cancelCb?.();
    });
  }

  header(name: string): string | undefined {
    return this.req.has(name) ? this.req.get(name) : undefined;
  }

  progress(status: 180 | 183, opts: { sdp?: string; headers?: SipHeaders } = {}): void {
    if (this.res.finalResponseSent) return;
    if (opts.sdp) this.res.send(status, { body: opts.sdp, headers: { ...opts.headers, ...SDP } });
    else this.res.send(status, { headers: { ...opts.headers } });
  }

  /**
   * When the PBX asks for a session timer (its INVITE has Session-Expires; one below our Min-SE was
   * already refused 422 by the trunk server), the 200 agrees to it as RFC 4028 §9 prescribes: the
   * PBX refreshes unless it asked watrunk to (refresher=uas) or does not declare `Supported: timer`.
   * https://www.rfc-editor.org/rfc/rfc4028#section-9
   */
  async answer(sdp: string, headers: SipHeaders = {}): Promise<void> {
    const timer = negotiateAsUas(this.req);
    const dialog = await this.srf.createUAS(this.req, this.res, { localSdp: sdp, headers: { ...headers, ...(timer ? uasHeaders(timer) : {}) } });
    this.dialog = new PbxDialog(dialog, {
      log: this.log, liveness: this.liveness, timer, onHangup: () => this.hangupCb, onReoffer: () => this.reofferCb,
      watchLoss: (onLost) => watchConnectionLoss(this.srf, onLost),
    });
    this.unwatchLoss();
  }

  reject(status: number, reason?: string, headers: SipHeaders = {}): void {
    this.unwatchLoss();
    if (this.res.finalResponseSent) return;
    if (reason) this.res.send(status, reason, { headers });
    else this.res.send(status, { headers });
  }

  hangup(headers: SipHeaders = {}): Promise<void> {
    return this.dialog?.hangup(headers) ?? Promise.resolve();
  }

  onCancel(cb: () => void): void {
    // A CANCEL can arrive while the INVITE checks still run (digest, media engine): it was
    // remembered by the constructor and is delivered now.
    this.cancelCb = cb;
    if (this.cancelled) { cb(); return; }
    // The INVITE transaction dies with the drachtio-server connection: for the call that is a CANCEL
    // (nothing can be answered any more). Watched only once a call listens, so an INVITE refused
    // before (401, 403, 503) leaves nothing behind; after the answer, PbxDialog watches instead.
    this.unwatchLoss = watchConnectionLoss(this.srf, () => {
      if (this.dialog || this.cancelled || this.res.finalResponseSent) return;
      this.log.warn({ sipCallId: this.sipCallId }, 'the drachtio-server connection was lost before the INVITE was answered: ending the call');
      this.cancelled = true;
      this.cancelCb?.();
    });
  }

  onHangup(cb: (info: SipHangup) => void): void {
    this.hangupCb = cb;
  }

  onReoffer(cb: (sdp: string) => Promise<string>): void {
    this.reofferCb = cb;
  }
}
