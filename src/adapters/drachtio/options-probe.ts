import type { Logger } from '../../logging.js';
import { NO_ANSWER_MS, requestWithin } from './session-timer.js';
import type { SrfDialog } from './srf-types.js';

/**
 * In-dialog OPTIONS every few seconds, for PBXs without session timers. Any final response
 * (200, 405, 501...) shows the PBX is there and still knows the dialog; 408, 481 or none in time
 * means it is gone or lost the dialog (https://www.rfc-editor.org/rfc/rfc3261#section-12.2.1.2).
 */
export class OptionsProbe {
  private timer?: ReturnType<typeof setTimeout>;
  private stopped = false;

  constructor(
    private readonly dialog: SrfDialog,
    private readonly everyS: number,
    private readonly log: Logger,
    private readonly onDead: () => void,
  ) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (!this.stopped) this.timer = setTimeout(() => void this.ping(), this.everyS * 1000);
  }

  private async ping(): Promise<void> {
    let status: number;
    try {
      const res = await requestWithin(this.dialog, { method: 'OPTIONS' }, NO_ANSWER_MS);
      status = res === 'no-answer' ? 408 : res.status;
    } catch (err) {
      // Not sent at all (drachtio-server unreachable): nothing is known about the PBX.
      if (!this.stopped && this.dialog.connected) {
        this.log.warn({ err }, 'in-dialog OPTIONS could not be sent; trying again later');
        this.schedule();
      }
      return;
    }
    if (this.stopped) return;
    if (status === 408 || status === 481) {
      this.log.warn({ status }, 'in-dialog OPTIONS failed: the PBX is gone or lost the dialog');
      this.onDead();
      return;
    }
    this.schedule();
  }
}
