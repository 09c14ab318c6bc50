import type { Logger } from '../../logging.js';
import type { SipHeaders } from '../../calls/ports/sip.js';
import type { SrfDialog, SrfIncomingResponse } from './srf-types.js';

/**
 * RFC 4028 session timers, which drachtio-srf does not implement: one side re-INVITEs every
 * half interval, and a refresh that fails with 408/481 or never comes means the PBX is gone.
 * https://www.rfc-editor.org/rfc/rfc4028#section-10
 */

/** Who sends the refreshes of one dialog: watrunk or the PBX. */
export type Refresher = 'us' | 'pbx';

export interface TimerState {
  intervalS: number;
  refresher: Refresher;
}

type HeaderSource = { get(name: string): string | undefined } | undefined;

/** 64*T1: how long a transaction waits for its final response (https://www.rfc-editor.org/rfc/rfc3261#section-17.1.1.2). */
export const NO_ANSWER_MS = 32_000;

/** "1800;refresher=uac" -> { seconds: 1800, refresher: 'uac' } (https://www.rfc-editor.org/rfc/rfc4028#section-4). */
export function parseSessionExpires(value: string | undefined): { seconds: number; refresher?: 'uac' | 'uas' } | undefined {
  const m = /^\s*(\d+)\s*(?:;(.*))?$/.exec(value ?? '');
  const seconds = Number(m?.[1]);
  if (!m || !(seconds > 0)) return undefined;
  const r = /(?:^|;)\s*refresher\s*=\s*(uac|uas)\s*(?:;|$)/i.exec(m[2] ?? '');
  return { seconds, ...(r ? { refresher: r[1]!.toLowerCase() as 'uac' | 'uas' } : {}) };
}

export function supportsTimer(supported: string | undefined): boolean {
  return /(?:^|,)\s*timer\s*(?:,|$)/i.test(supported ?? '');
}

/**
 * watrunk as UAS of an INVITE, re-INVITE or UPDATE: who refreshes, per the table of
 * https://www.rfc-editor.org/rfc/rfc4028#section-9 — the PBX's refresher parameter is kept; without
 * one the PBX refreshes (watrunk only has to answer); a PBX without `Supported: timer` cannot
 * refresh, so watrunk does. A request without Session-Expires keeps the dialog's current state.
 */
export function negotiateAsUas(req: HeaderSource, current?: TimerState): TimerState | undefined {
  const asked = parseSessionExpires(req?.get('Session-Expires'));
  const intervalS = asked?.seconds ?? current?.intervalS;
  if (intervalS === undefined) return undefined;
  let refresher: Refresher;
  if (!supportsTimer(req?.get('Supported'))) refresher = 'us';
  else if (asked?.refresher) refresher = asked.refresher === 'uac' ? 'pbx' : 'us';
  else refresher = current?.refresher ?? 'pbx';
  return { intervalS, refresher };
}

/** Headers of watrunk's 2xx as UAS; `Require: timer` only when the PBX refreshes (RFC 4028 §9). */
export function uasHeaders(t: TimerState): SipHeaders {
  return t.refresher === 'pbx'
    ? { 'Session-Expires': `${t.intervalS};refresher=uac`, Require: 'timer', Supported: 'timer' }
    : { 'Session-Expires': `${t.intervalS};refresher=uas`, Supported: 'timer' };
}

/**
 * watrunk as UAC, from the PBX's 2xx: its refresher parameter decides
 * (https://www.rfc-editor.org/rfc/rfc4028#section-7.2). Without Session-Expires the PBX does not do
 * timers and no refresh is needed; watrunk refreshes anyway at the interval it asked for, as a
 * liveness check: an unchanged re-INVITE is harmless, and a PBX that is gone fails it.
 */
export function negotiateAsUac(res: HeaderSource, askedS: number): TimerState | undefined {
  const got = parseSessionExpires(res?.get('Session-Expires'));
  if (got) return { intervalS: got.seconds, refresher: got.refresher === 'uas' ? 'pbx' : 'us' };
  return askedS > 0 ? { intervalS: askedS, refresher: 'us' } : undefined;
}

/** An in-dialog request with a bound on the wait: 'no-answer' when no final response came in time. */
export async function requestWithin(
  dialog: SrfDialog, opts: { method: string; headers?: SipHeaders; body?: string }, ms: number,
): Promise<SrfIncomingResponse | 'no-answer'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'no-answer'>((resolve) => { timer = setTimeout(() => resolve('no-answer'), ms); });
  try {
    return await Promise.race([dialog.request(opts), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The session timer of one established dialog. `onExpired` ends the call (BYE + lost). */
export class SessionTimer {
  private timer?: ReturnType<typeof setTimeout>;
  private stopped = false;
  private inFlight = false;
  /** False once the PBX answered a refresh 405/501: it takes no re-INVITE, refreshing is pointless. */
  private refreshable = true;

  constructor(
    private readonly dialog: SrfDialog,
    private state: TimerState,
    private minSeS: number,
    private readonly log: Logger,
    private readonly onExpired: (text: string) => void,
  ) {}

  get current(): TimerState {
    return this.state;
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /**
   * A re-INVITE/UPDATE from the PBX, with or without SDP: it refreshes the session (and shows the
   * PBX is there), so the watch restarts. Returns the headers for its 2xx.
   */
  onPbxRequest(req: HeaderSource): SipHeaders {
    this.state = negotiateAsUas(req, this.state) ?? this.state;
    this.schedule();
    return uasHeaders(this.state);
  }

  private schedule(afterS?: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    const { intervalS, refresher } = this.state;
    if (refresher === 'pbx') {
      // The refresher's request may arrive as late as interval - min(32, interval/3) (RFC 4028 §10).
      this.timer = setTimeout(() => this.expire(), (intervalS - Math.min(32, intervalS / 3)) * 1000);
    } else if (this.refreshable) {
      this.timer = setTimeout(() => void this.refresh(), (afterS ?? intervalS / 2) * 1000);
    }
  }

  private expire(): void {
    if (this.stopped) return;
    this.log.warn({ intervalS: this.state.intervalS }, 'no session refresh from the PBX in time (RFC 4028)');
    this.onExpired('session timer expired');
  }

  /** A re-INVITE with the current local SDP, unchanged (same o= version), as RFC 4028 §10 suggests. */
  private async refresh(): Promise<void> {
    if (this.stopped || this.inFlight) return;
    this.inFlight = true;
    const headers: SipHeaders = {
      'Content-Type': 'application/sdp',
      Supported: 'timer',
      'Session-Expires': `${this.state.intervalS};refresher=uac`,
      'Min-SE': String(this.minSeS),
      ...(this.dialog.local.contact ? { Contact: this.dialog.local.contact } : {}),
    };
    let res: SrfIncomingResponse | 'no-answer';
    try {
      res = await requestWithin(this.dialog, { method: 'INVITE', body: this.dialog.local.sdp, headers }, NO_ANSWER_MS);
    } catch (err) {
      // Not sent at all (drachtio-server unreachable): nothing is known about the PBX.
      if (!this.stopped && this.dialog.connected) {
        this.log.warn({ err }, 'session refresh could not be sent; retrying later');
        this.schedule(this.state.intervalS / 4);
      }
      return;
    } finally {
      this.inFlight = false;
    }
    if (!this.stopped) this.onRefreshAnswer(res);
  }

  private onRefreshAnswer(res: SrfIncomingResponse | 'no-answer'): void {
    const status = res === 'no-answer' ? 408 : res.status;
    if (res !== 'no-answer' && status >= 200 && status < 300) {
      this.state = negotiateAsUac(res, this.state.intervalS) ?? this.state;
      return this.schedule();
    }
    if (status === 408 || status === 481) {
      // RFC 4028 §10: a refresh that times out or gets 408/481 ends the session with a BYE.
      this.log.warn({ status }, 'session refresh failed: the PBX is gone or lost the dialog');
      return this.onExpired('session refresh failed');
    }
    const minSe = res === 'no-answer' ? NaN : Number.parseInt(res.get('Min-SE') ?? '', 10);
    if (status === 422 && minSe > this.state.intervalS) {
      // https://www.rfc-editor.org/rfc/rfc4028#section-7.3: retry with the interval the PBX wants.
      this.state = { ...this.state, intervalS: minSe };
      this.minSeS = Math.max(this.minSeS, minSe);
      return this.schedule(0);
    }
    if (status === 405 || status === 501) {
      this.log.info({ status }, 'the PBX takes no re-INVITE refreshes: refreshing stops, the call goes on');
      this.refreshable = false;
      return;
    }
    // Anything else leaves the session as it was (RFC 4028 §10): retry, 491 after 2.1-4 s
    // (https://www.rfc-editor.org/rfc/rfc3261#section-14.1), others well before the interval ends.
    const retryS = status === 491 ? 2.1 + Math.random() * 1.9 : this.state.intervalS / 4;
    this.log.warn({ status, retryS }, 'session refresh refused; the call goes on and the refresh is retried');
    this.schedule(retryS);
  }
}
