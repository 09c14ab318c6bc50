import type { Logger } from '../logging.js';
import type { MediaSession } from './ports/media-engine.js';

export interface MediaWatchTiming {
  /** No packets from the PBX for this long (while it is not holding) ends the call; 0: off. */
  pbxTimeoutMs: number;
  /** No packets from WhatsApp for this long ends the call; 0: off. */
  whatsappTimeoutMs: number;
  /** How often the engine's packet counters are read. */
  checkIntervalMs: number;
}

/** Which watch fired: one side's RTP stopped, or the engine itself stopped answering about the call. */
export type MediaTimeout = 'pbx_media_timeout' | 'whatsapp_media_timeout' | 'media_engine_lost';

/**
 * Dead-peer detection from RTP: a PBX that crashes or loses its network sends no BYE, and a WhatsApp
 * call left up is billed, so an answered call whose media stops in either direction is ended. The
 * media engine's per-side receive counters are read every `checkIntervalMs`; a side whose count has
 * not moved for its timeout is declared dead. A PBX on hold (`pbxSends()` false: a=inactive,
 * a=recvonly, c=0.0.0.0) is not expected to send. A failed read is not counted as silence, but
 * reads that keep failing for as long as the longer timeout mean the media engine has lost the
 * call (down, or restarted without it): `media_engine_lost`.
 */
export class MediaWatch {
  private timer?: NodeJS.Timeout;
  private last = { fromPbx: -1, fromWhatsApp: -1 };
  private lastPbxAt = 0;
  private lastWhatsAppAt = 0;
  private stopped = false;
  private failingSince?: number;

  constructor(private readonly d: {
    media: MediaSession;
    timing: MediaWatchTiming;
    /** Whether the PBX's current SDP says it sends audio. */
    pbxSends: () => boolean;
    onTimeout: (cause: MediaTimeout, silentForMs: number) => void;
    log: Logger;
    now?: () => number;
  }) {}

  start(): void {
    const { pbxTimeoutMs, whatsappTimeoutMs } = this.d.timing;
    if (this.timer || this.stopped || (pbxTimeoutMs <= 0 && whatsappTimeoutMs <= 0)) return;
    const t = this.now();
    this.lastPbxAt = t;
    this.lastWhatsAppAt = t;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => { void this.check(); }, this.d.timing.checkIntervalMs);
    this.timer.unref?.();
  }

  private async check(): Promise<void> {
    let c;
    try {
      c = await this.d.media.counters();
    } catch (err) {
      this.d.log.debug({ err }, 'media counters unavailable: not counted as silence');
      const t = this.now();
      this.failingSince ??= t;
      const limit = Math.max(this.d.timing.pbxTimeoutMs, this.d.timing.whatsappTimeoutMs);
      if (!this.stopped && t - this.failingSince >= limit) return this.fire('media_engine_lost', t - this.failingSince);
      return this.schedule();
    }
    if (this.stopped) return;
    this.failingSince = undefined;
    const t = this.now();
    if (c.fromPbx !== this.last.fromPbx || !this.d.pbxSends()) this.lastPbxAt = t;
    if (c.fromWhatsApp !== this.last.fromWhatsApp) this.lastWhatsAppAt = t;
    this.last = { ...c };
    const { pbxTimeoutMs, whatsappTimeoutMs } = this.d.timing;
    if (pbxTimeoutMs > 0 && t - this.lastPbxAt >= pbxTimeoutMs) return this.fire('pbx_media_timeout', t - this.lastPbxAt);
    if (whatsappTimeoutMs > 0 && t - this.lastWhatsAppAt >= whatsappTimeoutMs) return this.fire('whatsapp_media_timeout', t - this.lastWhatsAppAt);
    this.schedule();
  }

  private fire(cause: MediaTimeout, silentForMs: number): void {
    this.stop();
    this.d.onTimeout(cause, silentForMs);
  }

  private now(): number {
    return (this.d.now ?? Date.now)();
  }
}
