/**
 * MediaEngine on rtpengine over the ng protocol (ng-client.ts). Sessions are created locally
 * and allocate nothing on rtpengine until their first offer; the engine is chosen then.
 */
import type { MediaEngine, MediaSession, MediaSessionOptions, WhatsAppMediaProfile } from '../../calls/ports/media-engine.js';
import { EnginePool } from './engine-pool.js';
import { DEFAULT_FLAG_SETS, SDES_FLAG_SETS, type FlagSets } from './flag-sets.js';
import { NgClient, type EngineAddress } from './ng-client.js';
import { RtpengineSession } from './rtpengine-session.js';

export interface RtpengineConfig {
  /** ng control addresses; new calls go round-robin to engines that answer ping. */
  engines: EngineAddress[];
  /** Per ng command, retransmissions included. */
  timeoutMs: number;
  /** First ng retransmission after this (doubling); 0: never (docs/media.md#talking-to-rtpengine). */
  retransmitMs?: number;
  /** Called for each ng retransmission (a metric). */
  onRetransmit?: () => void;
  /** Local address of the ng socket (default: 127.0.0.1 if all engines are loopback, else any). */
  localAddress?: string;
  /** Override individual flag sets of WebRTC calls (tests, or a deployment that needs e.g. `direction`). */
  flagSets?: Partial<FlagSets>;
  /** Override individual flag sets of SDES calls (SIP mode with SDES; docs/media.md#sdes). */
  sdesFlagSets?: Partial<FlagSets>;
  /** Post-process SDP toward WhatsApp: Opus + telephone-event/8000 only (default true; see telephone-event.ts). */
  sdpFixupsTowardWhatsApp?: boolean;
}

export class RtpengineMedia implements MediaEngine {
  private readonly client: NgClient;
  private readonly pool: EnginePool;
  private readonly sessions = new Map<string, RtpengineSession>();
  private readonly flags: Record<WhatsAppMediaProfile, FlagSets>;
  private readonly sdpFixups: boolean;

  constructor(readonly config: RtpengineConfig) {
    const loopback = config.engines.every((e) => e.host === '127.0.0.1' || e.host === 'localhost');
    const localAddress = config.localAddress ?? (loopback ? '127.0.0.1' : undefined);
    this.client = new NgClient({
      timeoutMs: config.timeoutMs,
      ...(config.retransmitMs !== undefined ? { retransmitMs: config.retransmitMs } : {}),
      ...(config.onRetransmit ? { onRetransmit: config.onRetransmit } : {}),
      ...(localAddress ? { localAddress } : {}),
    });
    this.pool = new EnginePool(this.client, config.engines);
    this.flags = {
      webrtc: { ...DEFAULT_FLAG_SETS, ...config.flagSets },
      sdes: { ...SDES_FLAG_SETS, ...config.sdesFlagSets },
    };
    this.sdpFixups = config.sdpFixupsTowardWhatsApp ?? true;
  }

  /** `opts.whatsappMedia` picks the flag sets: WebRTC (default) or SDES (docs/media.md#sdes). */
  createSession(callId: string, opts: MediaSessionOptions = {}): RtpengineSession {
    if (this.sessions.has(callId)) throw new Error(`media session ${callId} is already open`);
    const whatsappMedia = opts.whatsappMedia ?? 'webrtc';
    const session = new RtpengineSession(callId, {
      client: this.client,
      pool: this.pool,
      whatsappMedia,
      flags: this.flags[whatsappMedia],
      sdpFixups: this.sdpFixups,
      onClosed: (id) => { if (this.sessions.get(id) === session) this.sessions.delete(id); },
    });
    this.sessions.set(callId, session);
    return session;
  }

  canTakeCalls(): Promise<boolean> {
    return this.pool.anyRecentlyAlive();
  }

  ping(): Promise<boolean> {
    return this.pool.anyAlive();
  }

  openSessions(): string[] {
    return [...this.sessions.keys()];
  }

  /** Closes every open session, then the ng socket. */
  async shutdown(): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.close()));
    this.client.close();
  }
}

export type { MediaSession };
