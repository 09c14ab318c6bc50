import type { Logger } from '../../logging.js';
import type { InboundPbxLeg, SipHangup, SipHeaders, SipParty } from '../../calls/ports/sip.js';
import { attachDialogHandlers, sendBye } from './dialog-handlers.js';
import { uriUser } from './sip-uri.js';
import type { SrfDialog, SrfLike, SrfRequest, SrfResponse } from './srf-types.js';

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
export class DrachtioInboundLeg implements InboundPbxLeg {
  readonly sipCallId: string;
  readonly from: SipParty;
  readonly to: SipParty;
  readonly requestUser: string;
  readonly source: { address: string; port: number; transport: string };
  readonly sdp: string;
  private dialog?: SrfDialog;
  private hangupCb?: (info: SipHangup) => void;
  private reofferCb?: (sdp: string) => Promise<string>;

  constructor(private readonly srf: SrfLike, private readonly req: SrfRequest, private readonly res: SrfResponse, private readonly log: Logger) {
    this.sipCallId = req.callId;
    this.from = party(req, 'from');
    this.to = party(req, 'to');
    this.requestUser = uriUser(req.uri);
    this.source = { address: req.source_address, port: req.source_port, transport: req.protocol };
    this.sdp = req.body ?? '';
  }

  header(name: string): string | undefined {
    return this.req.has(name) ? this.req.get(name) : undefined;
  }

  progress(status: 180 | 183, opts: { sdp?: string; headers?: SipHeaders } = {}): void {
    if (this.res.finalResponseSent) return;
    if (opts.sdp) this.res.send(status, { body: opts.sdp, headers: { ...opts.headers, ...SDP } });
    else this.res.send(status, { headers: { ...opts.headers } });
  }

  async answer(sdp: string, headers: SipHeaders = {}): Promise<void> {
    const dialog = await this.srf.createUAS(this.req, this.res, { localSdp: sdp, headers: { ...headers, ...this.sessionTimerHeaders() } });
    this.dialog = dialog;
    attachDialogHandlers(dialog, { onHangup: () => this.hangupCb, onReoffer: () => this.reofferCb, log: this.log });
  }

  /**
   * RFC 4028: when the PBX asks for session timers, make it the refresher, so watrunk only ever
   * answers refreshes (which it does locally) and a missing refresh from our side never kills the call.
   */
  private sessionTimerHeaders(): SipHeaders {
    const se = this.header('Session-Expires');
    if (!se) return {};
    const secs = Number.parseInt(se, 10);
    if (!Number.isFinite(secs) || secs <= 0) return {};
    return { 'Session-Expires': `${secs};refresher=uac`, Require: 'timer' };
  }

  reject(status: number, reason?: string, headers: SipHeaders = {}): void {
    if (this.res.finalResponseSent) return;
    if (reason) this.res.send(status, reason, { headers });
    else this.res.send(status, { headers });
  }

  hangup(headers: SipHeaders = {}): Promise<void> {
    return sendBye(this.dialog, headers, this.log);
  }

  onCancel(cb: () => void): void {
    this.req.on('cancel', () => cb());
  }

  onHangup(cb: (info: SipHangup) => void): void {
    this.hangupCb = cb;
  }

  onReoffer(cb: (sdp: string) => Promise<string>): void {
    this.reofferCb = cb;
  }
}
