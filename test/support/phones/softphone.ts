/**
 * What the end-to-end tests need from a real SIP phone running headless on 127.0.0.1: place and
 * take calls, play a tone as its microphone, record what it hears, and report call events.
 * Implemented by BaresipPhone (ctrl_tcp) and LinphonePhone (linphonec on a stdin pipe).
 */
import { waitFor } from '../media/wait.js';
import type { RecordedAudio } from './wav.js';

export type { RecordedAudio } from './wav.js';

export type PhoneTransport = 'udp' | 'tcp';

export interface SoftPhoneStartOptions {
  /** Local SIP port on 127.0.0.1; default: a free one. */
  sipPort?: number;
  /** SIP transport for this phone's calls (default 'udp'). */
  transport?: PhoneTransport;
  /** Frequency of the sine the phone sends as its microphone. */
  toneHz: number;
  /**
   * Length of the tone file (default 60 s). baresip hangs the call up when its audio file ends,
   * so this must outlast the longest call.
   */
  toneSeconds?: number;
  /** Codecs to offer/accept, by name: 'PCMU', 'PCMA', 'G722', 'opus'. Default: the phone's own list. */
  codecs?: string[];
  /** Answer incoming calls by itself. */
  autoAnswer: boolean;
  /** SIP user part of the phone's address (default 'phone'). */
  user?: string;
}

/**
 * Event types both phones report (baresip's ctrl_tcp names; linphonec lines are mapped onto them).
 * Phones report further, phone-specific types too (see each class).
 */
export type PhoneEventType =
  | 'CALL_INCOMING'
  | 'CALL_RINGING'
  | 'CALL_PROGRESS'
  | 'CALL_ESTABLISHED'
  | 'CALL_CLOSED'
  | (string & NonNullable<unknown>);

export interface PhoneEvent {
  type: PhoneEventType;
  /** Wall-clock ms. */
  at: number;
  /** Peer URI when the phone names one. */
  peerUri?: string;
  /** Event detail (baresip 'param'; linphone: end reason). */
  param?: string;
  /** The phone's own event record (JSON object or output line). */
  raw: unknown;
}

export interface SoftPhone {
  readonly kind: 'baresip' | 'linphone';
  /** SIP port the phone listens on (valid after start). */
  readonly sipPort: number;
  /** The phone's address to dial, e.g. `sip:phone@127.0.0.1:PORT` (with `;transport=tcp` on TCP). */
  readonly uri: string;
  readonly toneHz: number;
  start(opts: SoftPhoneStartOptions): Promise<void>;
  dial(uri: string): Promise<void>;
  answer(): Promise<void>;
  hangup(): Promise<void>;
  hold(): Promise<void>;
  resume(): Promise<void>;
  /**
   * Resolves with the first event of `type` not yet returned by an earlier waitForEvent for that
   * type, including events that arrived before the call (so dial-then-wait has no race).
   * Rejects on timeout or when the phone process exits.
   */
  waitForEvent(type: PhoneEventType, timeoutMs: number): Promise<PhoneEvent>;
  /** Every event so far, oldest first. */
  events(): readonly PhoneEvent[];
  /** What the phone decoded from the far end in its latest call, mono, at the declared rate. */
  receivedAudio(): Promise<RecordedAudio>;
  /** Signals the phone process (default SIGKILL: a phone that vanishes without BYE). */
  kill(signal?: NodeJS.Signals): void;
  /** Ends the process (BYE for live calls where the phone manages) and removes its files. Idempotent. */
  stop(): Promise<void>;
  /** The phone's output so far, for failure messages. */
  logs(): string;
}

/** Event list with per-type read cursors, shared by both phone classes. */
export class PhoneEventLog {
  private readonly list: PhoneEvent[] = [];
  private readonly cursor = new Map<string, number>();

  push(ev: PhoneEvent): void {
    this.list.push(ev);
  }

  all(): readonly PhoneEvent[] {
    return this.list;
  }

  /** `failIf` is polled too; a string it returns aborts the wait with that message. */
  async next(type: PhoneEventType, timeoutMs: number, what: string, failIf: () => string | undefined): Promise<PhoneEvent> {
    return waitFor(`${what}: event ${type}`, () => {
      const from = this.cursor.get(type) ?? 0;
      for (let i = from; i < this.list.length; i++) {
        const ev = this.list[i];
        if (ev?.type === type) {
          this.cursor.set(type, i + 1);
          return ev;
        }
      }
      const failure = failIf();
      if (failure) throw new Error(`${what}: ${failure} while waiting for ${type}`);
      return undefined;
    }, { timeoutMs, intervalMs: 20 });
  }
}

/** `uri` with `;transport=tcp` added when the phone runs TCP and the URI names no transport. */
export function withTransport(uri: string, transport: PhoneTransport): string {
  if (transport !== 'tcp' || /;transport=/i.test(uri)) return uri;
  const m = /^(<?)([^>]*)(>?)(.*)$/.exec(uri);
  if (!m) return `${uri};transport=tcp`;
  return `${m[1]}${m[2]};transport=tcp${m[3]}${m[4]}`;
}
