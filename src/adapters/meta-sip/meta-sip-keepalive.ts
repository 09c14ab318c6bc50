import type { Logger } from '../../logging.js';
import type { SrfLike } from '../drachtio/srf-types.js';

/**
 * OPTIONS toward Meta's edge every `intervalS` (docs/sip-mode.md#keep-alive): traffic on the TLS
 * connection keeps it open through NATs and firewalls (RFC 5626 §3.5 describes the same need), and
 * an answer, whatever its status, shows the edge is reachable. Meta does not document answering
 * OPTIONS; any response counts as alive, only silence counts as down.
 */
export class MetaSipKeepalive {
  private timer?: NodeJS.Timeout;
  private lastAnswerAt?: number;
  private lastStatus?: number;
  private failures = 0;
  private readonly log: Logger;

  constructor(private readonly d: {
    srf: SrfLike;
    connected: () => boolean;
    /** Request-URI of the OPTIONS: sip:<domain>;transport=tls. */
    uri: string;
    proxy: string;
    from: string;
    intervalS: number;
    logger: Logger;
    timeoutMs?: number;
  }) {
    this.log = d.logger.child({ component: 'meta-sip' });
  }

  start(): void {
    if (this.d.intervalS <= 0 || !this.d.srf.request || this.timer) return;
    this.timer = setInterval(() => { void this.ping(); }, this.d.intervalS * 1000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One OPTIONS; resolves with the answer's status, or undefined when none came in time. */
  async ping(): Promise<number | undefined> {
    if (!this.d.connected() || !this.d.srf.request) return undefined;
    const status = await new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), this.d.timeoutMs ?? 5_000);
      this.d.srf.request!(this.d.uri, { method: 'OPTIONS', proxy: this.d.proxy, headers: { From: this.d.from } }, (err, req) => {
        if (err) { clearTimeout(timer); resolve(undefined); return; }
        req.on('response', (res) => { clearTimeout(timer); resolve(res.status); });
      });
    });
    if (status === undefined) {
      if (this.failures++ === 0) this.log.warn({ edge: this.d.proxy }, 'Meta\'s SIP edge did not answer OPTIONS');
    } else {
      if (this.failures > 0) this.log.info({ edge: this.d.proxy, status }, 'Meta\'s SIP edge answers OPTIONS again');
      this.failures = 0;
      this.lastAnswerAt = Date.now();
      this.lastStatus = status;
    }
    return status;
  }

  /** For /readyz: informative only (calls may still work when OPTIONS is not answered). */
  state(): { lastAnswerAt?: number; lastStatus?: number; failures: number } {
    return { ...(this.lastAnswerAt !== undefined && { lastAnswerAt: this.lastAnswerAt }), ...(this.lastStatus !== undefined && { lastStatus: this.lastStatus }), failures: this.failures };
  }
}
