import type { Logger } from '../../logging.js';
import type { SipHangup, SipHeaders } from '../../calls/ports/sip.js';
import type { SrfDialog, SrfHeaderOpts, SrfRequest, SrfResponse } from './srf-types.js';

const SDP = { 'Content-Type': 'application/sdp' };

/** 488 to a re-offer; a ReofferRefused (the call logic's "not this SDP") says why in a Warning. */
function refusal(err: unknown): SrfHeaderOpts {
  if (!(err instanceof Error) || err.name !== 'ReofferRefused') return {};
  // A Warning's text is a quoted-string (https://www.rfc-editor.org/rfc/rfc3261#section-20.43).
  return { headers: { Warning: `399 watrunk "${err.message.replace(/["\\]/g, '')}"` } };
}

/**
 * What an established PBX dialog does, whichever side created it: a BYE is reported with its
 * Reason header, and re-INVITE/UPDATE are answered on this leg only — WhatsApp allows no
 * renegotiation (docs/whatsapp-calling.md#no-renegotiation), so hold, resume and session refreshes never
 * reach it. A re-INVITE or UPDATE without SDP is a session refresh (RFC 4028): an UPDATE is
 * answered 200, a re-INVITE gets the current local SDP as the offer (the PBX answers in the ACK).
 * Every re-INVITE/UPDATE goes to `onRequest` first (the session timer: it is a refresh), which
 * returns headers for the 2xx.
 */
export function attachDialogHandlers(dialog: SrfDialog, h: {
  onHangup: () => ((info: SipHangup) => void) | undefined;
  onReoffer: () => ((sdp: string) => Promise<string>) | undefined;
  onRequest?: (req: SrfRequest) => SipHeaders;
  log: Logger;
}): void {
  dialog.on('destroy', (bye) => {
    const headers: SipHeaders = {};
    const reason = bye?.get?.('Reason');
    if (reason) headers['Reason'] = reason;
    h.onHangup()?.({ headers });
  });
  const reoffer = (req: SrfRequest, res: SrfResponse) => {
    const extra = h.onRequest?.(req) ?? {};
    const cb = h.onReoffer();
    if (!cb || !req.body) return res.send(200, { body: dialog.local.sdp, headers: { ...extra, ...SDP } });
    cb(req.body).then(
      (answer) => {
        dialog.local.sdp = answer;
        res.send(200, { body: answer, headers: { ...extra, ...SDP } });
      },
      (err: unknown) => {
        h.log.warn({ err }, 're-offer from the PBX could not be answered: 488');
        res.send(488, refusal(err));
      },
    );
  };
  dialog.on('modify', reoffer);
  dialog.on('update', (req, res) => (req.body ? reoffer(req, res) : res.send(200, { headers: h.onRequest?.(req) ?? {} })));
}

/** BYE on an established dialog; a dialog already gone is nothing to do, a failure is logged. */
export async function sendBye(dialog: SrfDialog | undefined, headers: SipHeaders, log: Logger): Promise<void> {
  if (!dialog || !dialog.connected) return;
  try {
    await dialog.destroy({ headers });
  } catch (err) {
    log.warn({ err }, 'BYE to the PBX failed');
  }
}
