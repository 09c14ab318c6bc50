import { randomBytes } from 'node:crypto';
import type { NumberConfig, TrunkConfig } from '../config/schema.js';
import { NO_CALL_JOURNAL, type CallJournal } from '../journal/call-journal.js';
import { JournaledWhatsAppCalls } from '../journal/journaled-calls.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import type { WhatsAppCalls } from './ports/whatsapp-provider.js';
import { WhatsAppCallEnder } from './call-ending.js';
import type { CallRegistry } from './call-registry.js';
import { failureHeaders, type SipFailureResponse } from './failure-mapping.js';
import { BusinessInitiatedCall, type BusinessInitiatedTiming, type PermissionVerdict } from './business-initiated-call.js';
import type { PbxAdmission } from './pbx-admission.js';
import type { MediaEngine } from './ports/media-engine.js';
import type { PbxUasLeg } from './ports/sip.js';

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
  /** Call-permission check per trunk policy (src/control/permission-gate.ts). */
  permissionGate?: {
    decide(policy: TrunkConfig['permission_policy'], numberName: string, user: string): Promise<PermissionVerdict>;
  };
  /** Ends calls on WhatsApp, retrying until Meta confirms (default: one of this intake's own). */
  ender?: WhatsAppCallEnder;
  /** Live WhatsApp calls on disk for crash recovery (default: none). */
  journal?: CallJournal;
}

/** The answer to an INVITE while watrunk is stopping (README "Signals and draining"). */
export const SHUTTING_DOWN: SipFailureResponse = { status: 503, reason: 'Service Unavailable', warning: 'watrunk is shutting down', retryAfter: 5, cause: 'shutdown' };

/** Takes an INVITE from a known trunk: admission checks, then one BusinessInitiatedCall object for the call. */
export class PbxCallIntake {
  private readonly log: Logger;
  private readonly ender: WhatsAppCallEnder;

  constructor(private readonly d: PbxCallIntakeDeps) {
    this.log = d.logger.child({ component: 'calls' });
    this.ender = d.ender ?? new WhatsAppCallEnder({ logger: d.logger, metrics: d.metrics });
  }

  async handleInvite(leg: PbxUasLeg, trunk: TrunkConfig): Promise<BusinessInitiatedCall | undefined> {
    if (!this.d.registry.takingCalls) {
      this.log.info({ trunk: trunk.name, sipCallId: leg.sipCallId }, 'INVITE refused: watrunk is shutting down');
      this.d.metrics.callFailures.inc({ direction: 'BUSINESS_INITIATED', cause: SHUTTING_DOWN.cause });
      leg.reject(SHUTTING_DOWN.status, SHUTTING_DOWN.reason, failureHeaders(SHUTTING_DOWN));
      return undefined;
    }
    const a = this.d.admission.admit(trunk, leg);
    if (!a.ok) {
      this.log.warn({ trunk: trunk.name, sipCallId: leg.sipCallId, from: leg.from.user, to: leg.requestUser, status: a.status, cause: a.cause }, `INVITE refused: ${a.warning}`);
      this.d.metrics.callFailures.inc({ direction: 'BUSINESS_INITIATED', cause: a.cause });
      leg.reject(a.status, a.reason, failureHeaders(a));
      return undefined;
    }
    const business = this.d.numbers.get(a.number.name);
    if (!business) {
      leg.reject(500, 'Server Internal Error');
      return undefined;
    }
    const id = (this.d.newId ?? newCallId)();
    const whatsapp = new JournaledWhatsAppCalls({
      calls: business.calls, journal: this.d.journal ?? NO_CALL_JOURNAL, ender: this.ender, callId: id, numberName: a.number.name,
      direction: 'BUSINESS_INITIATED', log: this.d.logger.child({ callId: id, number: a.number.name }), metrics: this.d.metrics,
    });
    const call: BusinessInitiatedCall = new BusinessInitiatedCall({
      id,
      leg,
      media: this.d.media.createSession(id),
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
      onEnded: () => { this.d.registry.remove(call); whatsapp.ended(); },
    });
    this.d.registry.add(call);
    await call.start();
    return call;
  }
}
