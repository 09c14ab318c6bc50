import type { TrunkConfig } from '../../../src/config/schema.js';
import type { PbxInvite, PbxUasLeg } from '../../../src/calls/ports/sip.js';

/** A PBX's INVITE whose trunk the SIP adapter has already identified (source and digest passed). */
export function inviteFrom(leg: PbxUasLeg, trunk: TrunkConfig, sessionTimer?: PbxInvite['sessionTimer']): PbxInvite {
  return { leg, identifyTrunk: async () => trunk, ...(sessionTimer ? { sessionTimer } : {}) };
}
