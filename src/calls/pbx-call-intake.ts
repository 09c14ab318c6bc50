import { randomBytes } from 'node:crypto';
import type { NumberConfig, TrunkConfig } from '../config/schema.js';
import { NO_CALL_JOURNAL, type CallJournal, type JournaledCall } from '../journal/call-journal.js';
import { JournaledWhatsAppCalls } from '../journal/journaled-calls.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import type { WhatsAppCalls } from './ports/whatsapp-provider.js';
import { WhatsAppCallEnder } from './call-ending.js';
import type { CallRegistry } from './call-registry.js';
import { failureHeaders } from './failure-mapping.js';
import { BusinessInitiatedCall, type BusinessInitiatedTiming, type PermissionVerdict } from './business-initiated-call.js';
import type { PbxAdmission } from './pbx-admission.js';
import type { MediaEngine } from './ports/media-engine.js';
import { whatsappMediaOf } from '../config/meta-sip-schema.js';
import type { PbxInvite } from './ports/sip.js';
import { runInviteChecks } from './pbx-invite-checks.js';
import { NO_OVERLOAD_LIMITS, OverloadGuard } from './overload-guard.js';

/** watrunk's own call id: short, unique, safe in biz_opaque_callback_data and as rtpengine call-id. */
export function newCallId(): string {
  return `wt-${randomBytes(9).toString('base64url')}`;
}

export interface BusinessNumber {
  config: NumberConfig;
  calls: WhatsAppCalls;
}

export interface PbxCallIntakeDeps {
  admission: PbxAdmission;
  registry: CallRegistry;
  numbers: ReadonlyMap<string, BusinessNumber>;
  media: MediaEngine;
  timing: BusinessInitiatedTiming;
  logger: Logger;
  metrics: Metrics;
  newId?: () => string;
  /** Call-permission check per trunk policy (src/permissions/permission-gate.ts). */
  permissionGate?: {
    decide(policy: TrunkConfig['permission_policy'], numberName: string, user: string): Promise<PermissionVerdict>;
  };
  /** Ends calls on WhatsApp, retrying until Meta confirms (default: one of this intake's own). */
  ender?: WhatsAppCallEnder;
  /** Live WhatsApp calls on disk for crash recovery (default: none). */
  journal?: CallJournal;
  /** Who ends a call Meta may have placed although `connect` got no answer (CrashRecovery.adopt). */
  connectOutcomeUnknown?: (call: JournaledCall) => { named(waCallId: string): void };
  /** calls.session_timer.min_se_s: a PBX asking for less gets 422 (default 90, RFC 4028's floor). */
  minSessionExpiresS?: number;
  /** Load shedding (calls.overload); default: no limits. */
  overload?: OverloadGuard;
}

/** Takes a PBX's INVITE: the checks of pbx-invite-checks.ts, then one BusinessInitiatedCall object for the call. */
export class PbxCallIntake {
  private readonly log: Logger;
  private readonly ender: WhatsAppCallEnder;
  readonly overload: OverloadGuard;

  constructor(private readonly d: PbxCallIntakeDeps) {
    this.log = d.logger.child({ component: 'calls' });
    this.overload = d.overload ?? new OverloadGuard(NO_OVERLOAD_LIMITS, undefined);
    this.ender = d.ender ?? new WhatsAppCallEnder({ logger: d.logger, metrics: d.metrics });
  }

  /** Runs the INVITE checks in their order (pbx-invite-checks.ts); an admitted INVITE becomes a call. */
  async handleInvite(invite: PbxInvite): Promise<BusinessInitiatedCall | undefined> {
    const { leg } = invite;
    const r = await runInviteChecks(invite, {
      admission: this.d.admission,
      minSessionExpiresS: this.d.minSessionExpiresS ?? 90,
      takingCalls: () => this.d.registry.takingCalls,
      overloaded: () => this.overload.check(),
      mediaUp: () => this.d.media.canTakeCalls(),
    });
    if ('answeredBySip' in r) return undefined;
    if ('refused' in r) {
      const f = r.refused;
      this.log.warn({ trunk: r.trunk?.name, check: r.check, sipCallId: leg.sipCallId, from: leg.from.user, to: leg.requestUser, status: f.status, cause: f.cause }, `INVITE refused: ${f.warning}`);
      this.d.metrics.callFailures.inc({ direction: 'BUSINESS_INITIATED', cause: f.cause });
      leg.reject(f.status, f.reason, { ...failureHeaders(f), ...f.headers });
      return undefined;
    }
    const { trunk, number, callee, offer } = r.admitted;
    if (offer.declined.length > 0 || offer.removedPayloads.length > 0) {
      this.log.info({ sipCallId: leg.sipCallId, declined: offer.declined.map((m) => m.line), removedPayloads: offer.removedPayloads }, 'streams or payloads of the PBX offer declined');
    }
    const a = { number, callee };
    const business = this.d.numbers.get(number.name);
    if (!business) {
      leg.reject(500, 'Server Internal Error');
      return undefined;
    }
    const id = (this.d.newId ?? newCallId)();
    // A set-up lasts until the PBX's first provisional or final answer (or the end).
    const setupDone = this.overload.setupStarted();
    const whatsapp = new JournaledWhatsAppCalls({
      calls: business.calls, journal: this.d.journal ?? NO_CALL_JOURNAL, ender: this.ender, callId: id, numberName: a.number.name,
      direction: 'BUSINESS_INITIATED', log: this.d.logger.child({ callId: id, number: a.number.name }), metrics: this.d.metrics,
      ...(this.d.connectOutcomeUnknown ? { onConnectOutcomeUnknown: this.d.connectOutcomeUnknown } : {}),
    });
    const call: BusinessInitiatedCall = new BusinessInitiatedCall({
      id,
      leg,
      pbxOffer: offer,
      media: this.d.media.createSession(id, { whatsappMedia: whatsappMediaOf(business.config) }),
      calls: whatsapp,
      numberName: a.number.name,
      trunkName: trunk.name,
      callee: a.callee,
      timing: this.d.timing,
      logger: this.d.logger,
      metrics: this.d.metrics,
      ...(this.d.permissionGate && trunk.permission_policy !== undefined
        ? { permission: () => this.d.permissionGate!.decide(trunk.permission_policy, a.number.name, a.callee) }
        : {}),
      onWhatsAppCallId: (wa) => this.d.registry.bindWhatsAppId(call, wa),
      onFirstResponse: setupDone,
      onEnded: () => { setupDone(); this.d.registry.remove(call); whatsapp.ended(); },
    });
    this.d.registry.add(call);
    await call.start();
    return call;
  }
}
