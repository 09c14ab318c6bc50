import type { Logger } from '../../logging.js';
import type { SipHangup, SipHeaders } from '../../calls/ports/sip.js';
import type { SrfDialog, SrfRequest, SrfResponse } from './srf-types.js';

const SDP = { 'Content-Type': 'application/sdp' };

/**
 * What an established PBX dialog does, whichever side created it: a BYE is reported with its
 * Reason header, and re-INVITE/UPDATE are answered on this leg only — WhatsApp allows no
 * renegotiation (reference meta-calling-api §4.3), so hold, resume and session refreshes never
 * reach it. An UPDATE without SDP is a session refresh (RFC 4028) and is answered 200.
 */
export function attachDialogHandlers(dialog: SrfDialog, h: {
  onHangup: () => ((info: SipHangup) => void) | undefined;
  onReoffer: () => ((sdp: string) => Promise<string>) | undefined;
  log: Logger;
}): void {
  dialog.on('destroy', (bye) => {
    const headers: SipHeaders = {};
    const reason = bye?.get?.('Reason');
    if (reason) headers['Reason'] = reason;
    h.onHangup()?.({ headers });
  });
  const reoffer = (req: SrfRequest, res: SrfResponse) => {
    const cb = h.onReoffer();
    if (!cb) return res.send(200, { body: dialog.local.sdp, headers: SDP });
    cb(req.body ?? '').then(
      (answer) => {
        dialog.local.sdp = answer;
        res.send(200, { body: answer, headers: SDP });
      },
      (err: unknown) => {
        h.log.warn({ err }, 're-offer from the PBX could not be answered: 488');
        res.send(488);
      },
    );
  };
  dialog.on('modify', reoffer);
  dialog.on('update', (req, res) => (req.body ? reoffer(req, res) : res.send(200)));
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
