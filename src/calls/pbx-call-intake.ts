import { randomBytes } from 'node:crypto';
import type { NumberConfig, TrunkConfig } from '../config/schema.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import type { WhatsAppCalls } from '../whatsapp/provider.js';
import type { CallRegistry } from './call-registry.js';
import { failureHeaders } from './failure-mapping.js';
import { OutboundCall, type OutboundCallTiming, type PermissionVerdict } from './outbound-call.js';
import type { PbxAdmission } from './pbx-admission.js';
import type { MediaEngine } from './ports/media-engine.js';
import type { InboundPbxLeg } from './ports/sip.js';

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
  timing: OutboundCallTiming;
  logger: Logger;
  metrics: Metrics;
  newId?: () => string;
  /** Call-permission check per trunk policy (src/control/permission-gate.ts). */
  permissionGate?: {
    decide(policy: TrunkConfig['permission_policy'], numberName: string, user: string): Promise<PermissionVerdict>;
  };
}

/** Takes an INVITE from a known trunk: admission checks, then one OutboundCall object for the call. */
export class PbxCallIntake {
  private readonly log: Logger;

  constructor(private readonly d: PbxCallIntakeDeps) {
    this.log = d.logger.child({ component: 'calls' });
  }

  async handleInvite(leg: InboundPbxLeg, trunk: TrunkConfig): Promise<OutboundCall | undefined> {
    const a = this.d.admission.admit(trunk, leg);
    if (!a.ok) {
      this.log.warn({ trunk: trunk.name, sipCallId: leg.sipCallId, from: leg.from.user, to: leg.requestUser, status: a.status, cause: a.cause }, `INVITE refused: ${a.warning}`);
      this.d.metrics.callFailures.inc({ direction: 'pbx-to-whatsapp', cause: a.cause });
      leg.reject(a.status, a.reason, failureHeaders(a));
      return undefined;
    }
    const business = this.d.numbers.get(a.number.name);
    if (!business) {
      leg.reject(500, 'Server Internal Error');
      return undefined;
    }
    const id = (this.d.newId ?? newCallId)();
    const call: OutboundCall = new OutboundCall({
      id,
      leg,
      media: this.d.media.createSession(id),
      calls: business.calls,
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
      onEnded: () => this.d.registry.remove(call),
    });
    this.d.registry.add(call);
    await call.start();
    return call;
  }
}
