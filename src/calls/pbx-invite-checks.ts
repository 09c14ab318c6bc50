import type { NumberConfig, TrunkConfig } from '../config/schema.js';
import type { PbxAdmission, Refusal } from './pbx-admission.js';
import { checkPbxOffer, type DeclinedMedia } from './pbx-sdp.js';
import type { PbxInvite } from './ports/sip.js';

/**
 * Every check a PBX's INVITE passes before watrunk sends anything to Meta, in the order they run.
 * The first that refuses answers the INVITE; nothing is allocated before the list is through.
 *
 *   trunk              source address and digest credentials   403, or 401 with a challenge
 *   session interval   Session-Expires at least our Min-SE     422 with Min-SE (RFC 4028 §5)
 *   taking calls       watrunk is not draining                 503 + Retry-After
 *   overload           set-ups in progress, event-loop delay   503 + Retry-After (overload-guard.ts)
 *   media engine       rtpengine answers                       503 + Retry-After
 *   SDP present        no late offer                           488
 *   SDP usable         plain RTP with a codec we bridge        488 + Warning (docs/media.md#pbx-sdp)
 *   business number    which number the call goes out from     403
 *   dial plan          the dialed number in WhatsApp's form    484
 *   calls per second   the trunk's max_cps                     503 + Retry-After
 *   concurrency        the number's max_concurrent_calls       503 + Retry-After
 *
 * One check is not here: the WhatsApp user's call permission (trunks[].permission_policy) is
 * looked up inside BusinessInitiatedCall, so that a CANCEL during the lookup is honoured.
 */
export const PBX_INVITE_CHECKS: readonly InviteCheck[] = [
  {
    name: 'trunk',
    async run(c) {
      const trunk = await c.invite.identifyTrunk();
      if (!trunk) return ANSWERED_BY_SIP;
      c.trunk = trunk;
      return undefined;
    },
  },
  {
    name: 'session interval',
    run(c, d) {
      // A PBX without `Supported: timer` could not act on a 422: its interval is taken as it is.
      const t = c.invite.sessionTimer;
      if (!t || !t.timerSupported || t.seconds >= d.minSessionExpiresS) return undefined;
      return {
        status: 422, reason: 'Session Interval Too Small', warning: `Session-Expires ${t.seconds} is below Min-SE ${d.minSessionExpiresS}`,
        cause: 'session_interval_too_small', headers: { 'Min-SE': String(d.minSessionExpiresS) },
      };
    },
  },
  {
    name: 'taking calls',
    run: (_c, d) => (d.takingCalls() ? undefined : SHUTTING_DOWN),
  },
  {
    name: 'overload',
    run: (_c, d) => d.overloaded?.(),
  },
  {
    name: 'media engine',
    run: async (_c, d) => ((await d.mediaUp()) ? undefined : MEDIA_DOWN),
  },
  {
    name: 'SDP present',
    run: (c) => (c.invite.leg.sdp ? undefined : { status: 488, reason: 'Not Acceptable Here', warning: 'INVITE without SDP (late offer) is not supported', cause: 'no_sdp' }),
  },
  {
    name: 'SDP usable',
    run(c) {
      const offer = checkPbxOffer(c.invite.leg.sdp);
      if (!offer.ok) return { status: 488, reason: 'Not Acceptable Here', warning: offer.warning, cause: offer.cause };
      c.offer = offer;
      return undefined;
    },
  },
  {
    name: 'business number',
    run(c, d) {
      const n = d.admission.businessNumber(c.trunk!, c.invite.leg);
      if ('status' in n) return n;
      c.number = n;
      return undefined;
    },
  },
  {
    name: 'dial plan',
    run(c, d) {
      const r = d.admission.dialed(c.trunk!, c.invite.leg);
      if ('status' in r) return r;
      c.callee = r.callee;
      return undefined;
    },
  },
  {
    name: 'calls per second',
    run: (c, d) => d.admission.takeCallSlot(c.trunk!),
  },
  {
    name: 'concurrency',
    run: (c, d) => d.admission.numberHasRoom(c.number!),
  },
];

/** The answer to an INVITE while watrunk is stopping (README "Signals and draining"). */
export const SHUTTING_DOWN: Refusal = { status: 503, reason: 'Service Unavailable', warning: 'watrunk is shutting down', retryAfter: 5, cause: 'shutdown' };
/** A call that cannot get media is refused at once rather than ring into silence. */
export const MEDIA_DOWN: Refusal = { status: 503, reason: 'Service Unavailable', warning: 'media engine (rtpengine) unavailable', retryAfter: 5, cause: 'media_down' };
/** The SIP adapter has answered the INVITE itself (401 challenge, 403 unknown trunk). */
export const ANSWERED_BY_SIP = 'answered-by-sip' as const;

export interface InviteCheckDeps {
  admission: PbxAdmission;
  /** Smallest Session-Expires accepted (calls.session_timer.min_se_s). */
  minSessionExpiresS: number;
  takingCalls: () => boolean;
  /** A 503 refusal while watrunk is overloaded (overload-guard.ts); absent: never. */
  overloaded?: () => Refusal | undefined;
  mediaUp: () => Promise<boolean>;
}

/** What the checks learn about the INVITE on the way. */
export interface InviteContext {
  readonly invite: PbxInvite;
  trunk?: TrunkConfig;
  offer?: { sdp: string; declined: DeclinedMedia[]; removedPayloads: string[] };
  number?: NumberConfig;
  callee?: string;
}

export interface InviteCheck {
  readonly name: string;
  run(c: InviteContext, d: InviteCheckDeps): Refusal | typeof ANSWERED_BY_SIP | undefined | Promise<Refusal | typeof ANSWERED_BY_SIP | undefined>;
}

/** An INVITE that passed every check, with what they found. */
export type AdmittedInvite = Required<InviteContext>;

/** Runs the checks in order: the admitted INVITE, or the first refusal with the check's name. */
export async function runInviteChecks(
  invite: PbxInvite, d: InviteCheckDeps, checks: readonly InviteCheck[] = PBX_INVITE_CHECKS,
): Promise<{ admitted: AdmittedInvite } | { refused: Refusal; check: string; trunk?: TrunkConfig } | { answeredBySip: true }> {
  const c: InviteContext = { invite };
  for (const check of checks) {
    const verdict = await check.run(c, d);
    if (verdict === ANSWERED_BY_SIP) return { answeredBySip: true };
    if (verdict) return { refused: verdict, check: check.name, ...(c.trunk ? { trunk: c.trunk } : {}) };
  }
  return { admitted: c as AdmittedInvite };
}
