/**
 * One call's media on rtpengine. rtpengine `call-id` = the session id; the two participants are
 * identified by tags generated here: `pbxTag` for the plain-RTP side, `whatsappTag` for the
 * WhatsApp side (WebRTC, or RTP/SAVP with SDES: the flag sets the session was given decide).
 * Business-initiated calls use pbxTag as from-tag (the PBX offers); user-initiated calls use
 * whatsappTag as from-tag (WhatsApp offers). ng operations of one session run one at a time.
 * The SDP edits toward WhatsApp (stream identity, Opus + telephone-event/8000) are the same for
 * both profiles: they edit the audio m-section's lines whatever its transport profile
 * (docs/media.md#sdes).
 */
import { randomBytes } from 'node:crypto';
import type { MediaCounters, MediaSession, WhatsAppMediaProfile } from '../../calls/ports/media-engine.js';
import type { CallDirection } from '../../calls/ports/whatsapp-events.js';
import type { FlagSets } from './flag-sets.js';
import { NgError, type EngineAddress, type NgClient, type NgCommand, type NgParams, type NgResponse } from './ng-client.js';
import type { EnginePool } from './engine-pool.js';
import { packetsReceivedFrom } from './query-counters.js';
import { offersOpus } from './sdp-codecs.js';
import { withoutStreamIdentity } from './stream-identity.js';
import { keepOpusAndTelephoneEvent8000, restoreTelephoneEvent } from './telephone-event.js';

export interface SessionDeps {
  client: NgClient;
  pool: EnginePool;
  /** How the WhatsApp side is carried; `flags` are the sets for it (DEFAULT_FLAG_SETS or SDES_FLAG_SETS). */
  whatsappMedia: WhatsAppMediaProfile;
  flags: FlagSets;
  /** Post-process SDP toward WhatsApp (Opus + telephone-event/8000 only; see telephone-event.ts). */
  sdpFixups: boolean;
  onClosed(id: string): void;
}


export class SessionClosedError extends Error {
  constructor(id: string) {
    super(`media session ${id} is closed`);
    this.name = 'SessionClosedError';
  }
}

export class RtpengineSession implements MediaSession {
  readonly pbxTag = newTag();
  readonly whatsappTag = newTag();
  private engineAddr?: EngineAddress;
  private direction?: CallDirection;
  private offered = false;
  /** An offer was sent (it may have created the call even if its reply was lost). */
  private offerSent = false;
  private answered = false;
  /** Whether media toward WhatsApp should be blocked, and whether rtpengine currently blocks it. */
  private blockWanted = false;
  private blockApplied = false;
  private closed = false;
  private closing?: Promise<void>;
  private waOffer?: string;
  private waAnswer?: string;
  private chain: Promise<unknown> = Promise.resolve();
  private lastCounters?: MediaCounters;

  constructor(readonly id: string, private readonly deps: SessionDeps) {}

  /** The WhatsApp side's media profile this session was created with. */
  get whatsappMedia(): WhatsAppMediaProfile {
    return this.deps.whatsappMedia;
  }

  /** The engine this call runs on (after the first offer). */
  get engine(): EngineAddress | undefined {
    return this.engineAddr;
  }

  offerToWhatsApp(pbxOffer: string): Promise<string> {
    return this.run(async () => {
      this.begin('BUSINESS_INITIATED');
      const opus = offersOpus(pbxOffer);
      const flags = opus ? this.deps.flags.bicOfferToWhatsAppOpusPassthrough : this.deps.flags.bicOfferToWhatsApp;
      this.offerSent = true;
      const r = await this.ng('offer', { ...flags, 'from-tag': this.pbxTag, sdp: pbxOffer });
      this.offered = true;
      await this.applyBlockIfWanted();
      const sdp = withoutStreamIdentity(sdpOf(r));
      return this.deps.sdpFixups ? keepOpusAndTelephoneEvent8000(sdp) : sdp;
    });
  }

  answerFromWhatsApp(waAnswer: string): Promise<string> {
    return this.run(async () => {
      this.expect('BUSINESS_INITIATED', 'answerFromWhatsApp', 'offerToWhatsApp');
      const r = await this.ng('answer', {
        ...this.deps.flags.bicAnswerToPbx, 'from-tag': this.pbxTag, 'to-tag': this.whatsappTag, sdp: waAnswer,
      });
      this.answered = true;
      this.waAnswer = waAnswer;
      return withoutStreamIdentity(sdpOf(r));
    });
  }

  offerToPbx(waOffer: string): Promise<string> {
    return this.run(async () => {
      this.begin('USER_INITIATED');
      this.offerSent = true;
      const r = await this.ng('offer', { ...this.deps.flags.uicOfferToPbx, 'from-tag': this.whatsappTag, sdp: waOffer });
      this.offered = true;
      this.waOffer = waOffer;
      return withoutStreamIdentity(sdpOf(r));
    });
  }

  answerFromPbx(pbxAnswer: string): Promise<string> {
    return this.run(async () => {
      this.expect('USER_INITIATED', 'answerFromPbx', 'offerToPbx');
      const r = await this.ng('answer', {
        ...this.deps.flags.uicAnswerToWhatsApp, 'from-tag': this.whatsappTag, 'to-tag': this.pbxTag, sdp: pbxAnswer,
      });
      this.answered = true;
      // The PBX participant is tagged only now; apply a block asked for earlier before the
      // caller can hand this answer to WhatsApp (media can only flow after that).
      await this.applyBlockIfWanted();
      const sdp = withoutStreamIdentity(sdpOf(r));
      return this.deps.sdpFixups && this.waOffer ? restoreTelephoneEvent(sdp, this.waOffer) : sdp;
    });
  }

  /**
   * A re-INVITE/UPDATE offer from the PBX after the call is up (hold, resume, a new media address or
   * codec after a transfer). WhatsApp allows no renegotiation (docs/whatsapp-calling.md#no-renegotiation),
   * so rtpengine absorbs the change: it takes the PBX's new offer, and WhatsApp's side is "answered"
   * with the SDP WhatsApp already gave (same ICE credentials and fingerprint: no ICE restart, no new
   * DTLS handshake). The SDP rtpengine would have offered to WhatsApp is discarded. Returns the
   * answer for the PBX.
   */
  reofferFromPbx(pbxOffer: string): Promise<string> {
    return this.run(async () => {
      if (!this.answered) throw new Error(`media session ${this.id}: re-offer before the call has media`);
      const tags = { 'from-tag': this.pbxTag, 'to-tag': this.whatsappTag };
      let waSdp: string;
      let offerFlags: NgParams;
      let answerFlags: NgParams;
      if (this.direction === 'BUSINESS_INITIATED') {
        offerFlags = offersOpus(pbxOffer) ? this.deps.flags.bicOfferToWhatsAppOpusPassthrough : this.deps.flags.bicOfferToWhatsApp;
        answerFlags = this.deps.flags.bicAnswerToPbx;
        waSdp = this.waAnswer!;
      } else {
        offerFlags = this.deps.flags.uicReofferToWhatsApp;
        answerFlags = this.deps.flags.uicReanswerToPbx;
        // WhatsApp's offer said actpass; since the first answer made rtpengine the DTLS client,
        // WhatsApp is the DTLS server: say so, or rtpengine would pick a role again. (An SDES
        // offer has no a=setup: its a=crypto keys are handed back unchanged.)
        waSdp = this.waOffer!.replace(/^a=setup:actpass\r?$/gm, (l) => l.replace('actpass', 'passive'));
      }
      await this.ng('offer', { ...offerFlags, ...tags, sdp: pbxOffer });
      const r = await this.ng('answer', { ...answerFlags, ...tags, sdp: waSdp });
      return withoutStreamIdentity(sdpOf(r));
    });
  }

  /**
   * Blocks RTP (media and RFC 4733 DTMF) that the PBX sends toward WhatsApp: ng `block media` and
   * `block DTMF` with from-tag = the PBX's tag, which in 10.5 sets a per-participant flag that
   * drops packets *received from* that participant (daemon/call_interfaces.c
   * call_block_media_ng; codec.c handler_silence_block). WhatsApp→PBX keeps flowing.
   * Before the PBX participant exists on rtpengine, the block is remembered and applied as soon as it does.
   */
  blockToWhatsApp(): Promise<void> {
    return this.run(async () => {
      this.blockWanted = true;
      await this.applyBlockIfWanted();
    });
  }

  unblockToWhatsApp(): Promise<void> {
    return this.run(async () => {
      this.blockWanted = false;
      if (!this.blockApplied) return;
      await this.ng('unblockMedia', { 'from-tag': this.pbxTag });
      await this.ng('unblockDTMF', { 'from-tag': this.pbxTag });
      this.blockApplied = false;
    });
  }

  /**
   * Packets received from each side. An engine that answers but no longer knows the call (it was
   * restarted, or lost the call) relays nothing for it: the last counts are reported again, which the
   * dead-peer watch reads as silence from both sides (docs/sip.md#dead-peers) and ends the call.
   * A transport failure (no answer) still throws: that is not counted as silence.
   */
  counters(): Promise<MediaCounters> {
    return this.run(async () => {
      if (!this.offered) return { fromWhatsApp: 0, fromPbx: 0 };
      let r: NgResponse;
      try {
        r = await this.ng('query', {});
      } catch (err) {
        if (err instanceof NgError && err.kind === 'error-result' && /unknown call/i.test(err.reason)) {
          return this.lastCounters ?? { fromWhatsApp: 0, fromPbx: 0 };
        }
        throw err;
      }
      this.lastCounters = { fromWhatsApp: packetsReceivedFrom(r, this.whatsappTag), fromPbx: packetsReceivedFrom(r, this.pbxTag) };
      return this.lastCounters;
    });
  }

  /** ng `delete` of the whole call (delete delay 0). Idempotent; never throws. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      await this.chain.catch(() => undefined);
      try {
        if (this.offerSent && this.engineAddr) {
          const fromTag = this.direction === 'USER_INITIATED' ? this.whatsappTag : this.pbxTag;
          await this.deps.client.send(this.engineAddr, 'delete', { 'call-id': this.id, 'from-tag': fromTag, 'delete delay': 0 });
        }
      } catch {
        // Already gone, engine down or timed out: nothing more to free from here.
      } finally {
        this.deps.onClosed(this.id);
      }
    })();
    return this.closing;
  }

  private async applyBlockIfWanted(): Promise<void> {
    if (!this.blockWanted || this.blockApplied) return;
    const pbxKnown = this.direction === 'BUSINESS_INITIATED' ? this.offered : this.answered;
    if (!pbxKnown) return;
    await this.ng('blockMedia', { 'from-tag': this.pbxTag });
    await this.ng('blockDTMF', { 'from-tag': this.pbxTag });
    this.blockApplied = true;
  }

  private begin(direction: CallDirection): void {
    if (this.direction && this.direction !== direction) {
      throw new Error(`media session ${this.id}: already ${this.direction}, cannot start a ${direction} offer`);
    }
    this.direction = direction;
  }

  private expect(direction: CallDirection, method: string, before: string): void {
    if (this.direction !== direction || !this.offered) {
      throw new Error(`media session ${this.id}: ${method} called before ${before}`);
    }
  }

  /** Runs `fn` after the session's previous operation; refuses once close() was called. */
  private run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(() => {
      if (this.closed) throw new SessionClosedError(this.id);
      return fn();
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async ng(command: NgCommand, params: NgParams): Promise<NgResponse> {
    this.engineAddr ??= await this.deps.pool.pick();
    try {
      return await this.deps.client.send(this.engineAddr, command, { 'call-id': this.id, ...params });
    } catch (err) {
      if (err instanceof NgError && err.kind === 'transport') this.deps.pool.markDown(this.engineAddr);
      throw err;
    }
  }
}

function sdpOf(r: NgResponse): string {
  if (typeof r.sdp !== 'string' || r.sdp.length === 0) throw new Error('rtpengine reply carries no SDP');
  return r.sdp;
}

function newTag(): string {
  return randomBytes(8).toString('hex');
}
