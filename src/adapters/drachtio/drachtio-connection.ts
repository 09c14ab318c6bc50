import Srf from 'drachtio-srf';
import type { CheckResult } from '../../http/readiness.js';
import type { Logger } from '../../logging.js';
import type { Metrics } from '../../metrics.js';
import type { SrfLike } from './srf-types.js';

export interface DrachtioOptions {
  host: string;
  port: number;
  secret: string;
  /** Delay before the first reconnect attempt; it doubles with every failed attempt. */
  retryInitialDelayMs?: number;
  /** Upper bound of the reconnect back-off. */
  retryMaxDelayMs?: number;
  /**
   * A connection that stayed up this long resets the back-off when it is lost; one that drops
   * sooner (a flapping server) counts as a failed attempt, so the back-off keeps growing.
   */
  stableAfterMs?: number;
}

const DEFAULT_RETRY_INITIAL_DELAY_MS = 500;
const DEFAULT_RETRY_MAX_DELAY_MS = 30_000;
const DEFAULT_STABLE_AFTER_MS = 30_000;

/**
 * drachtio-srf's own reconnect is switched off (one attempt per connect() call): it restarts its
 * back-off at 255 ms whenever the TCP connect succeeds, so a server that accepts and then drops
 * the connection would be retried four times a second for ever.
 */
const SINGLE_ATTEMPT = { maxAttempts: 1, retryMaxDelay: DEFAULT_RETRY_MAX_DELAY_MS };

/**
 * The app connection to drachtio-server's admin port. Reconnects with exponential back-off;
 * logs one warn when an outage begins and info when connected again; records the state for
 * /readyz and the `watrunk_dependency_up{dependency="drachtio"}` gauge.
 */
export class DrachtioConnection {
  readonly srf: SrfLike;
  private connectedValue = false;
  private lastError?: string;
  private hostport?: string;
  private readonly log: Logger;
  private readonly retryInitialDelayMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly stableAfterMs: number;
  /** connect() calls since the last stable connection (or start). */
  private attempts = 0;
  /** Failed attempts since the last stable connection: the exponent of the back-off. */
  private failures = 0;
  private connectedAt = 0;
  /** When the current outage began; undefined while none is in progress. */
  private outageSince?: number;
  private secretRefusalLogged = false;
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly opts: DrachtioOptions, private readonly deps: { logger: Logger; metrics: Metrics; srf?: SrfLike }) {
    this.srf = deps.srf ?? (new (Srf as unknown as new () => SrfLike)());
    this.log = deps.logger.child({ component: 'drachtio' });
    this.retryInitialDelayMs = opts.retryInitialDelayMs ?? DEFAULT_RETRY_INITIAL_DELAY_MS;
    this.retryMaxDelayMs = opts.retryMaxDelayMs ?? DEFAULT_RETRY_MAX_DELAY_MS;
    this.stableAfterMs = opts.stableAfterMs ?? DEFAULT_STABLE_AFTER_MS;
    deps.metrics.dependencyUp.set({ dependency: 'drachtio' }, 0);
  }

  start(): void {
    const { host, port } = this.opts;
    this.srf.on('connect', (err, hostport, version) => {
      if (err) {
        this.lastError = err.message;
        if (!this.secretRefusalLogged) {
          this.secretRefusalLogged = true;
          this.log.error({ host, port, err: err.message }, 'drachtio-server refused the connection: check the secret named by drachtio.secret_env');
        }
        this.disconnectQuietly();
        return;
      }
      if (this.stopped) { this.disconnectQuietly(); return; }
      const now = Date.now();
      this.connectedValue = true;
      this.connectedAt = now;
      this.hostport = hostport;
      this.lastError = undefined;
      this.secretRefusalLogged = false;
      this.deps.metrics.dependencyUp.set({ dependency: 'drachtio' }, 1);
      this.log.info({
        host, port, sip: hostport, version, attempts: this.attempts,
        ...(this.outageSince !== undefined && { downForMs: now - this.outageSince }),
      }, 'connected to drachtio-server');
    });
    this.srf.on('close', () => this.onClose());
    this.srf.on('error', (err) => {
      this.lastError = (err as Error)?.message ?? String(err);
      this.log.debug({ err: this.lastError }, 'drachtio connection error');
    });
    this.connectNow();
  }

  get connected(): boolean {
    return this.connectedValue;
  }

  readiness(): CheckResult {
    if (this.connectedValue) return { ok: true, detail: `connected to ${this.opts.host}:${this.opts.port} (SIP ${this.hostport ?? '?'})` };
    return { ok: false, detail: `not connected to ${this.opts.host}:${this.opts.port}${this.lastError ? `: ${this.lastError}` : ''}` };
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.disconnectQuietly();
    this.connectedValue = false;
  }

  private connectNow(): void {
    this.retryTimer = undefined;
    if (this.stopped) return;
    this.attempts++;
    const { host, port, secret } = this.opts;
    this.srf.connect({ host, port, secret, reconnect: SINGLE_ATTEMPT });
  }

  private onClose(): void {
    if (this.stopped) return;
    const now = Date.now();
    const wasConnected = this.connectedValue;
    const upForMs = wasConnected ? now - this.connectedAt : 0;
    this.connectedValue = false;
    this.deps.metrics.dependencyUp.set({ dependency: 'drachtio' }, 0);
    if (wasConnected && upForMs >= this.stableAfterMs) {
      this.failures = 0;
      this.attempts = 0;
      this.outageSince = undefined;
    }
    const delayMs = Math.min(this.retryMaxDelayMs, this.retryInitialDelayMs * 2 ** this.failures);
    this.failures++;
    const { host, port } = this.opts;
    if (this.outageSince === undefined) {
      this.outageSince = now;
      this.log.warn(
        { host, port, ...(this.lastError && { err: this.lastError }), retryInMs: delayMs, retryMaxDelayMs: this.retryMaxDelayMs },
        wasConnected ? 'lost the drachtio-server connection: SIP calls fail until it is back; reconnecting with back-off'
          : 'cannot reach drachtio-server: SIP calls fail until it is reachable; retrying with back-off',
      );
    } else if (wasConnected) {
      this.log.info({ host, port, upForMs, retryInMs: delayMs }, 'drachtio-server dropped the connection again before it was stable');
    } else {
      this.log.debug({ host, port, err: this.lastError, retryInMs: delayMs, attempts: this.attempts }, 'drachtio-server still unreachable');
    }
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => this.connectNow(), delayMs);
    this.retryTimer.unref?.();
  }

  private disconnectQuietly(): void {
    try {
      this.srf.disconnect();
    } catch {
      // not connected: nothing to close
    }
  }
}
