/**
 * The SIP port of the call logic: one leg toward the PBX. The drachtio adapter
 * (src/adapters/drachtio) implements it; tests use fakes. Header names are case-insensitive.
 */
import type { TrunkConfig } from '../../config/schema.js';
export type SipHeaders = Record<string, string>;

export interface SipParty {
  /** User part of the URI, e.g. "+447700900123" or "1001". */
  user: string;
  displayName?: string;
  uri: string;
}

/** Why the far end ended an established dialog, as far as SIP tells. */
export interface SipHangup {
  headers: SipHeaders;
  /**
   * Set when the SIP adapter itself ended the dialog because the PBX stopped answering (it has
   * already sent BYE): its session-timer refresh did not come or failed (RFC 4028), or an
   * in-dialog OPTIONS probe got 408/481 or no answer, or the SIP server connection itself was lost
   * (the dialog is gone; no BYE could be sent).
   */
  lost?: 'session_timer_expired' | 'options_probe_failed' | 'sip_connection_lost';
}

/** How a SIP leg keeps watch on a PBX that may vanish without a BYE (calls.session_timer, calls.options_ping_s). */
export interface SipLivenessConfig {
  /** Session-Expires watrunk asks for on INVITEs it sends (RFC 4028 §7.1); 0: none. */
  sessionExpiresS: number;
  /** The smallest Session-Expires watrunk accepts (Min-SE, RFC 4028 §5; at least 90). */
  minSeS: number;
  /** In-dialog OPTIONS every this many seconds once the call is up; 0: off. */
  optionsPingS: number;
}

/**
 * A PBX's INVITE to watrunk (watrunk is the UAS). Used for PBX -> WhatsApp calls.
 * Before a final response: progress(), answer(), reject(); the PBX may CANCEL.
 * After answer(): the PBX may BYE or re-offer (re-INVITE/UPDATE); hangup() sends BYE.
 */
export interface PbxUasLeg {
  readonly sipCallId: string;
  readonly from: SipParty;
  readonly to: SipParty;
  readonly requestUser: string;
  readonly source: { address: string; port: number; transport: string };
  /** The PBX's SDP offer ('' for a late-offer INVITE, which watrunk refuses). */
  readonly sdp: string;
  header(name: string): string | undefined;

  /** 180 without SDP, or 183 with SDP (early media). */
  progress(status: 180 | 183, opts?: { sdp?: string; headers?: SipHeaders }): void;
  /** 200 OK with SDP; resolves once the dialog exists. */
  answer(sdp: string, headers?: SipHeaders): Promise<void>;
  /** Final non-2xx response. Ignored if a final response was already sent. */
  reject(status: number, reason?: string, headers?: SipHeaders): void;
  /** BYE on an answered call. Never throws. */
  hangup(headers?: SipHeaders): Promise<void>;

  /** CANCEL before the final response (the SIP stack has already answered 487). */
  onCancel(cb: () => void): void;
  /** BYE from the PBX after answer. */
  onHangup(cb: (info: SipHangup) => void): void;
  /** re-INVITE/UPDATE with SDP from the PBX after answer: return the SDP to answer with. */
  onReoffer(cb: (sdp: string) => Promise<string>): void;
}

/**
 * A PBX's INVITE before watrunk has taken it. The checks in src/calls/pbx-invite-checks.ts run on
 * it in order; those that need the SIP stack (who sent it, digest) are asked of the adapter here.
 */
export interface PbxInvite {
  /** The INVITE as the call will see it; `reject()` on it answers the INVITE. */
  readonly leg: PbxUasLeg;
  /**
   * The trunk it comes from, by source address and digest credentials (RFC 3261 §22), or undefined
   * when the adapter has already answered: 401 with a challenge, or 403 for an unknown source or
   * wrong credentials.
   */
  identifyTrunk(): Promise<TrunkConfig | undefined>;
  /** Session-Expires the PBX asked for, and whether it can act on a 422 (`Supported: timer`, RFC 4028). */
  readonly sessionTimer?: { seconds: number; timerSupported: boolean };
}

/** Result of an outgoing INVITE's provisional responses, for WhatsApp -> PBX calls. */
export interface PbxProgress {
  status: number;
  sdp?: string;
}

/**
 * watrunk's INVITE to the PBX (watrunk is the UAC). Used for WhatsApp -> PBX calls.
 */
export interface PbxUacLeg {
  readonly sipCallId: string;
  /** Sends the INVITE; resolves with the PBX's 200 OK SDP, rejects with a SipFailure on >= 300. */
  invite(opts: { onProgress: (p: PbxProgress) => void }): Promise<{ sdp: string }>;
  /** CANCEL a pending INVITE. */
  cancel(): void;
  hangup(headers?: SipHeaders): Promise<void>;
  onHangup(cb: (info: SipHangup) => void): void;
  onReoffer(cb: (sdp: string) => Promise<string>): void;
}

/** What watrunk puts in an INVITE toward the PBX. */
export interface PbxInviteRequest {
  /** Request-URI, e.g. sip:1000@pbx.example.com:5060;transport=tcp */
  uri: string;
  sdp: string;
  /** From user and display name. */
  callingNumber: string;
  callingName?: string;
  headers: SipHeaders;
  /** Digest credentials, if the PBX challenges. */
  auth?: { username: string; password: string };
}

/** Creates INVITEs toward the PBX (watrunk as UAC). */
export interface PbxDialer {
  /** Whether SIP can be sent now (the SIP server is connected). */
  readonly ready: boolean;
  dial(req: PbxInviteRequest): PbxUacLeg;
}

/** A final SIP failure of an outgoing INVITE. */
export class SipFailure extends Error {
  override readonly name = 'SipFailure';
  constructor(readonly status: number, readonly reason: string) {
    super(`${status} ${reason}`);
  }
}
