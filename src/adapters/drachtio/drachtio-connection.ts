import Srf from 'drachtio-srf';
import type { CheckResult } from '../../http/readiness.js';
import type { Logger } from '../../logging.js';
import type { Metrics } from '../../metrics.js';
import type { SrfLike } from './srf-types.js';

export interface DrachtioOptions {
  host: string;
  port: number;
  secret: string;
  /** Upper bound of the reconnect back-off (drachtio-srf starts at 150 ms, x1.7 per attempt). */
  retryMaxDelayMs?: number;
}

/**
 * The app connection to drachtio-server's admin port. drachtio-srf reconnects on its own with
 * back-off; this records the state for /readyz and the `watrunk_dependency_up{dependency="drachtio"}` gauge.
 */
export class DrachtioConnection {
  readonly srf: SrfLike;
  private connectedValue = false;
  private lastError?: string;
  private hostport?: string;
  private readonly log: Logger;

  constructor(private readonly opts: DrachtioOptions, private readonly deps: { logger: Logger; metrics: Metrics; srf?: SrfLike }) {
    this.srf = deps.srf ?? (new (Srf as unknown as new () => SrfLike)());
    this.log = deps.logger.child({ component: 'drachtio' });
    deps.metrics.dependencyUp.set({ dependency: 'drachtio' }, 0);
  }

  start(): void {
    const { host, port, secret } = this.opts;
    this.srf.on('connect', (err, hostport, version) => {
      if (err) {
        this.lastError = err.message;
        this.log.error({ host, port, err: err.message }, 'drachtio-server refused the connection (check drachtio.secret_env)');
        return;
      }
      this.connectedValue = true;
      this.hostport = hostport;
      this.lastError = undefined;
      this.deps.metrics.dependencyUp.set({ dependency: 'drachtio' }, 1);
      this.log.info({ host, port, sip: hostport, version }, 'connected to drachtio-server');
    });
    this.srf.on('close', () => {
      if (this.connectedValue) this.log.warn({ host, port }, 'lost the drachtio-server connection; reconnecting');
      this.connectedValue = false;
      this.deps.metrics.dependencyUp.set({ dependency: 'drachtio' }, 0);
    });
    this.srf.on('error', (err) => {
      this.lastError = (err as Error)?.message ?? String(err);
      this.log.debug({ err: this.lastError }, 'drachtio connection error');
    });
    this.srf.on('reconnecting', (info) => this.log.debug({ info }, 'reconnecting to drachtio-server'));
    this.srf.connect({ host, port, secret, reconnect: { retryMaxDelay: this.opts.retryMaxDelayMs ?? 10_000 } });
  }

  get connected(): boolean {
    return this.connectedValue;
  }

  readiness(): CheckResult {
    if (this.connectedValue) return { ok: true, detail: `connected to ${this.opts.host}:${this.opts.port} (SIP ${this.hostport ?? '?'})` };
    return { ok: false, detail: `not connected to ${this.opts.host}:${this.opts.port}${this.lastError ? `: ${this.lastError}` : ''}` };
  }

  stop(): void {
    try {
      this.srf.disconnect();
    } catch {
      // not connected: nothing to close
    }
    this.connectedValue = false;
  }
}
