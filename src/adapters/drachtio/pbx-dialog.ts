import type { Logger } from '../../logging.js';
import type { SipHangup, SipHeaders, SipLivenessConfig } from '../../calls/ports/sip.js';
import { CONNECTION_LOST_REASON } from './connection-loss.js';
import { attachDialogHandlers, sendBye } from './dialog-handlers.js';
import { OptionsProbe } from './options-probe.js';
import { SessionTimer, type TimerState } from './session-timer.js';
import type { SrfDialog } from './srf-types.js';

export interface PbxDialogOpts {
  log: Logger;
  liveness: SipLivenessConfig;
  /** The session timer negotiated when the dialog was made; none: the PBX is not watched that way. */
  timer?: TimerState | undefined;
  /** Min-SE on refreshes watrunk sends (raised by a 422 to its INVITE); default liveness.minSeS. */
  minSeS?: number;
  onHangup: () => ((info: SipHangup) => void) | undefined;
  onReoffer: () => ((sdp: string) => Promise<string>) | undefined;
  /** Watches the SIP server connection (connection-loss.ts); returns a function that stops watching. */
  watchLoss?: (onLost: () => void) => () => void;
}

/**
 * An established dialog with the PBX, for either call direction: answers the PBX's requests
 * (dialog-handlers.ts), watches that the PBX is still there (session timer, OPTIONS probe) and
 * ends exactly once. When the PBX is found gone, it sends BYE with a SIP Reason and reports
 * `onHangup({ headers: {}, lost })`; a later hangup() is then a no-op.
 */
export class PbxDialog {
  private ended = false;
  private readonly timer?: SessionTimer;
  private readonly probe?: OptionsProbe;
  private readonly unwatchLoss: () => void;

  constructor(private readonly dialog: SrfDialog, private readonly o: PbxDialogOpts) {
    if (o.timer) {
      this.timer = new SessionTimer(dialog, o.timer, o.minSeS ?? o.liveness.minSeS, o.log,
        (text) => this.lose('session_timer_expired', text));
    }
    if (o.liveness.optionsPingS > 0) {
      this.probe = new OptionsProbe(dialog, o.liveness.optionsPingS, o.log,
        () => this.lose('options_probe_failed', 'OPTIONS probe failed'));
    }
    const timer = this.timer;
    attachDialogHandlers(dialog, {
      onHangup: o.onHangup, onReoffer: o.onReoffer, log: o.log,
      ...(timer ? { onRequest: (req) => timer.onPbxRequest(req) } : {}),
    });
    dialog.on('destroy', () => {
      this.ended = true;
      this.stop();
    });
    this.unwatchLoss = o.watchLoss?.(() => this.connectionLost()) ?? (() => undefined);
    this.timer?.start();
    this.probe?.start();
  }

  /** The session timer as it stands (tests, logs). */
  get sessionTimer(): TimerState | undefined {
    return this.timer?.current;
  }

  hangup(headers: SipHeaders): Promise<void> {
    if (this.ended) return Promise.resolve();
    this.ended = true;
    this.stop();
    return sendBye(this.dialog, headers, this.o.log);
  }

  private lose(lost: NonNullable<SipHangup['lost']>, text: string): void {
    if (this.ended) return;
    this.ended = true;
    this.stop();
    this.o.log.warn({ lost }, 'the PBX stopped answering: BYE sent, call ended');
    // 408: the PBX did not answer in time (https://www.rfc-editor.org/rfc/rfc3326).
    void sendBye(this.dialog, { Reason: `SIP;cause=408;text="${text}"` }, this.o.log);
    this.o.onHangup()?.({ headers: {}, lost });
  }

  /**
   * The drachtio-server connection closed: the dialog cannot be used any more (not even for a BYE),
   * so the call is ended as if the PBX had hung up, with a Reason saying why.
   */
  private connectionLost(): void {
    if (this.ended) return;
    this.ended = true;
    this.stop();
    this.o.log.warn('the drachtio-server connection was lost: the dialog is gone, ending the call (no BYE can reach the PBX)');
    this.o.onHangup()?.({ headers: { Reason: CONNECTION_LOST_REASON }, lost: 'sip_connection_lost' });
  }

  private stop(): void {
    this.timer?.stop();
    this.probe?.stop();
    this.unwatchLoss?.();
  }
}
