import { byeReason, type SipFailureResponse } from './failure-mapping.js';
import type { MediaTimeout } from './media-watch.js';
import type { SipHangup, SipHeaders } from './ports/sip.js';
import type { CallTerminated } from './ports/whatsapp-events.js';

/** How a call ended, as the CDR's `outcome` and the `watrunk_calls_ended_total` label say it. */
export type CallOutcome =
  | 'completed' // answered, then hung up by either side
  | 'failed' // never answered: refused by WhatsApp, the PBX or watrunk
  | 'cancelled' // the caller gave up before answer
  | 'no_answer' // the PBX did not answer in time (user-initiated)
  | 'media_timeout' // answered, then one side's RTP stopped (docs/sip.md#dead-peers)
  | 'pbx_lost' // answered, then the PBX stopped answering in the dialog (session timer, OPTIONS)
  | 'pbx_gone' // WhatsApp answered but the PBX's leg could not be answered any more
  | 'shutdown'; // watrunk was stopping

export type EndedBy = 'pbx' | 'whatsapp' | 'watrunk';

/**
 * The end of a call as one value: the CDR fills itself from it (CallEnding.run). Every way a
 * call ends builds one of these instead of setting CDR fields one by one.
 */
export interface Ending {
  outcome: CallOutcome;
  endedBy?: EndedBy;
  /** Short label for the CDR and metrics, e.g. `pbx_486`, `pbx_media_timeout`, `no_permission`. */
  cause?: string;
  /** The final SIP status the PBX got or gave (487 for CANCEL, the failure response's status). */
  sipStatus?: number;
  /** WhatsApp's error code, from a Graph error or a terminate webhook. */
  waErrorCode?: number;
  /** Call duration as WhatsApp reported it in the terminate webhook. */
  waDurationS?: number;
}

/** A call that never got answered because of `f`, the response the PBX gets (or gave). */
export function failed(f: Pick<SipFailureResponse, 'status' | 'cause'>, endedBy?: EndedBy, waErrorCode?: number): Ending {
  return {
    outcome: 'failed', sipStatus: f.status, cause: f.cause,
    ...(endedBy ? { endedBy } : {}), ...(waErrorCode !== undefined ? { waErrorCode } : {}),
  };
}

/** WhatsApp's terminate webhook ended the call: its duration and first error code go to the CDR. */
export function endedByWhatsApp(e: CallTerminated, outcome: CallOutcome, extra: Partial<Ending> = {}): Ending {
  return {
    outcome, endedBy: 'whatsapp',
    ...(e.durationS !== undefined ? { waDurationS: e.durationS } : {}),
    ...(e.errors[0] ? { waErrorCode: e.errors[0].code } : {}),
    ...extra,
  };
}

/**
 * The BYE to the PBX when WhatsApp ended an answered call: the reason as Q.850 (docs/sip.md#call-mapping),
 * the WhatsApp call id, and the duration WhatsApp counted.
 */
export function byeAfterWhatsAppEnded(e: CallTerminated, waCallId: string | undefined): SipHeaders {
  return {
    Reason: byeReason(e),
    ...(waCallId ? { 'X-WA-Call-Id': waCallId } : {}),
    ...(e.durationS !== undefined ? { 'X-WA-Call-Duration': String(e.durationS) } : {}),
  };
}

const MEDIA_TIMEOUT_TEXT: Record<MediaTimeout, string> = {
  pbx_media_timeout: 'no media from the PBX',
  whatsapp_media_timeout: 'no media from WhatsApp',
  media_engine_lost: 'the media engine lost the call',
};

/** The BYE when watrunk ends an answered call because its media stopped (Q.850 102: recovery on timer expiry). */
export function byeAfterMediaTimeout(cause: MediaTimeout, waCallId: string | undefined): SipHeaders {
  return { Reason: `Q.850;cause=102;text="${MEDIA_TIMEOUT_TEXT[cause]}"`, ...(waCallId ? { 'X-WA-Call-Id': waCallId } : {}) };
}

/** Log text for a media timeout. */
export function mediaTimeoutText(cause: MediaTimeout): string {
  return MEDIA_TIMEOUT_TEXT[cause];
}

/**
 * The PBX leg ended: a BYE from the PBX, or (with `lost`) the SIP adapter found the PBX or its
 * own connection gone and has already ended the dialog (docs/sip.md#dead-peers).
 */
export function endingForPbxHangup(info: SipHangup): Ending {
  return info.lost ? { outcome: 'pbx_lost', endedBy: 'watrunk', cause: info.lost } : { outcome: 'completed', endedBy: 'pbx' };
}

/** The BYE when watrunk stops (Q.850 41: temporary failure). */
export const BYE_SHUTTING_DOWN: SipHeaders = { Reason: 'Q.850;cause=41;text="watrunk shutting down"' };
