import type { Logger } from '../logging.js';
import { ProviderError } from '../whatsapp/errors.js';
import type { WhatsAppCalls } from '../whatsapp/provider.js';
import type { CallRecord } from './call-record.js';
import type { MediaSession } from './ports/media-engine.js';

/**
 * The end of a call, done once whichever path gets there first: release the media session, write
 * the CDR, leave the registry. `ended` resolves after all of that.
 */
export class CallEnding {
  private running?: Promise<void>;
  private resolveEnded!: () => void;
  readonly ended = new Promise<void>((resolve) => { this.resolveEnded = resolve; });

  constructor(private readonly d: { media: MediaSession; record: CallRecord; logger: Logger; log: Logger; onEnded: () => void }) {}

  get begun(): boolean {
    return this.running !== undefined;
  }

  run(outcome: string): Promise<void> {
    if (this.running) return this.running;
    this.d.record.outcome = outcome;
    this.running = this.d.media.close()
      .catch((err: unknown) => this.d.log.error({ err }, 'media session close failed'))
      .then(() => {
        // The base logger: the CDR carries its own ids.
        this.d.record.finish(this.d.logger);
        this.d.onEnded();
        this.resolveEnded();
      });
    return this.running;
  }
}

/**
 * `terminate` (or `reject`) on WhatsApp, never throwing: a WhatsApp call left open is billed
 * (reference §2.1: terminate is mandatory for accurate billing), so a failure is logged loudly and
 * the rest of the teardown still happens.
 */
export async function endOnWhatsApp(calls: WhatsAppCalls, action: 'terminate' | 'reject', waCallId: string, log: Logger): Promise<void> {
  try {
    await (action === 'terminate' ? calls.terminate(waCallId) : calls.reject(waCallId));
  } catch (err) {
    const detail = err instanceof ProviderError ? err.toLog() : err;
    log.error({ err: detail, waCallId }, `${action} on WhatsApp failed: the call may stay open and billed`);
  }
}
