import digestAuth from 'drachtio-mw-digest-auth';
import type { TrunkConfig } from '../../config/schema.js';
import type { PbxInvite, SipLivenessConfig } from '../../calls/ports/sip.js';
import type { TrunkDirectory } from '../../calls/trunk-directory.js';
import type { Logger } from '../../logging.js';
import { DrachtioUasLeg } from './uas-leg.js';
import { parseSessionExpires, supportsTimer } from './session-timer.js';
import { digestUsername } from './sip-uri.js';
import type { SrfLike, SrfRequest, SrfResponse } from './srf-types.js';

type DigestMiddleware = (req: SrfRequest, res: SrfResponse, next: () => void) => void;
type DigestFactory = (opts: {
  realm: string;
  passwordLookup: (username: string, realm: string, cb: (err: Error | null, password?: string | null) => void) => void;
}) => DigestMiddleware;

export interface PbxTrunkServerDeps {
  trunks: TrunkDirectory;
  /** digest password per trunk name */
  passwords: ReadonlyMap<string, string>;
  /** Every INVITE, as a PbxInvite: the call logic runs its checks (src/calls/pbx-invite-checks.ts). */
  onInvite: (invite: PbxInvite) => Promise<void>;
  /** Session timers and OPTIONS probes on the calls' dialogs. */
  liveness: SipLivenessConfig;
  logger: Logger;
  /**
   * SIP mode: Meta's edge shares this front door. A request carrying Meta's marks is Meta's to
   * answer (src/adapters/meta-sip/meta-sip-ingress.ts), never a trunk's.
   */
  metaEdge?: {
    claims(req: SrfRequest): boolean;
    handleInvite(req: SrfRequest, res: SrfResponse): Promise<void>;
    handleOptions(req: SrfRequest, res: SrfResponse): void;
  };
}

/**
 * watrunk's SIP front door for PBX trunks (RFC 3261 UAS). Every INVITE goes to the call logic as a
 * PbxInvite, whose checks run in the order of src/calls/pbx-invite-checks.ts; the first of them,
 * "which trunk", is answered here: by source address and, when the trunk has credentials, digest
 * (401 challenge, 403 when wrong or unknown). OPTIONS from a trunk is answered 200 (PBXs use it as
 * a keep-alive).
 */
export class PbxTrunkServer {
  private readonly log: Logger;
  private readonly digestFor = new Map<string, DigestMiddleware>();

  constructor(private readonly srf: SrfLike, private readonly deps: PbxTrunkServerDeps) {
    this.log = deps.logger.child({ component: 'sip' });
  }

  install(): void {
    this.srf.invite((req, res) => {
      const meta = this.deps.metaEdge?.claims(req) ? this.deps.metaEdge : undefined;
      (meta ? meta.handleInvite(req, res) : this.onInvite(req, res)).catch((err: unknown) => {
        this.log.error({ err, sipCallId: req.callId }, 'INVITE handling failed: 500');
        if (!res.finalResponseSent) res.send(500);
      });
    });
    this.srf.options((req, res) => {
      if (this.deps.metaEdge?.claims(req)) this.deps.metaEdge.handleOptions(req, res);
      else if (this.deps.trunks.knowsSource(req.source_address)) res.send(200, { headers: { Allow: 'INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE' } });
      else res.send(403);
    });
  }

  private async onInvite(req: SrfRequest, res: SrfResponse): Promise<void> {
    const asked = parseSessionExpires(req.get('Session-Expires'));
    const invite: PbxInvite = {
      leg: new DrachtioUasLeg(this.srf, req, res, this.log, this.deps.liveness),
      identifyTrunk: () => this.identifyTrunk(req, res),
      ...(asked ? { sessionTimer: { seconds: asked.seconds, timerSupported: supportsTimer(req.get('Supported')) } } : {}),
    };
    await this.deps.onInvite(invite);
  }

  /** The trunk by source address and digest; undefined once this has answered 401 or 403. */
  private async identifyTrunk(req: SrfRequest, res: SrfResponse): Promise<TrunkConfig | undefined> {
    const ctx = { sipCallId: req.callId, source: `${req.source_address}:${req.source_port}`, ruri: req.uri };
    const username = digestUsername(req.get('Authorization') ?? req.get('Proxy-Authorization'));
    const who = this.deps.trunks.identify(req.source_address, username);
    if (who.kind === 'unknown') {
      this.log.warn({ ...ctx, username }, 'INVITE from an unknown source: 403');
      res.send(403, 'Forbidden', { headers: { Warning: '399 watrunk "unknown trunk: source address or credentials not configured"' } });
      return undefined;
    }
    if (who.kind === 'challenge') {
      // No credentials yet: the digest middleware answers 401 with a fresh nonce.
      await this.runDigest(who.realm, undefined, req, res);
      return undefined;
    }
    const trunk = who.trunk;
    if (trunk.auth && !(await this.runDigest(trunk.auth.realm, trunk, req, res))) {
      this.log.info({ ...ctx, trunk: trunk.name, username }, 'INVITE without valid digest credentials: challenged or refused');
      return undefined;
    }
    return trunk;
  }

  /**
   * Resolves true when the request carries valid credentials for the trunk. Otherwise the digest
   * middleware has answered: 401 with a challenge when credentials are missing, 403 when wrong.
   */
  private runDigest(realm: string, trunk: TrunkConfig | undefined, req: SrfRequest, res: SrfResponse): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const watched: SrfResponse = {
        get finalResponseSent() { return res.finalResponseSent; },
        send: (status, reason, opts) => {
          res.send(status, reason, opts);
          resolve(false);
        },
      };
      this.digest(realm, trunk)(req, watched, () => resolve(true));
    });
  }

  private digest(realm: string, trunk: TrunkConfig | undefined): DigestMiddleware {
    const key = `${realm}|${trunk?.name ?? ''}`;
    let mw = this.digestFor.get(key);
    if (!mw) {
      mw = (digestAuth as unknown as DigestFactory)({
        realm,
        passwordLookup: (user, _realm, cb) => {
          const ok = trunk?.auth && user === trunk.auth.username;
          cb(null, ok ? this.deps.passwords.get(trunk.name) ?? null : null);
        },
      });
      this.digestFor.set(key, mw);
    }
    return mw;
  }
}
