import digestAuth from 'drachtio-mw-digest-auth';
import type { TrunkConfig } from '../../config/schema.js';
import type { PbxUasLeg, SipLivenessConfig } from '../../calls/ports/sip.js';
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
  /** Whether new calls can be taken now (media engine up); a reason when not. */
  canTakeCalls: () => Promise<{ ok: true } | { ok: false; reason: string }>;
  onCall: (leg: PbxUasLeg, trunk: TrunkConfig) => Promise<void>;
  /** Session timers and OPTIONS probes on the calls' dialogs; minSeS also gates INVITEs (422). */
  liveness: SipLivenessConfig;
  logger: Logger;
}

/**
 * watrunk's SIP front door for PBX trunks (RFC 3261 UAS): INVITEs from a known source, with the
 * trunk's digest credentials when it has some, become calls; everything else is refused with a
 * clear status. OPTIONS from a trunk is answered 200 (PBXs use it as a keep-alive).
 */
export class PbxTrunkServer {
  private readonly log: Logger;
  private readonly digestFor = new Map<string, DigestMiddleware>();

  constructor(private readonly srf: SrfLike, private readonly deps: PbxTrunkServerDeps) {
    this.log = deps.logger.child({ component: 'sip' });
  }

  install(): void {
    this.srf.invite((req, res) => {
      this.onInvite(req, res).catch((err: unknown) => {
        this.log.error({ err, sipCallId: req.callId }, 'INVITE handling failed: 500');
        if (!res.finalResponseSent) res.send(500);
      });
    });
    this.srf.options((req, res) => {
      if (this.deps.trunks.knowsSource(req.source_address)) res.send(200, { headers: { Allow: 'INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE' } });
      else res.send(403);
    });
  }

  private async onInvite(req: SrfRequest, res: SrfResponse): Promise<void> {
    const ctx = { sipCallId: req.callId, source: `${req.source_address}:${req.source_port}`, ruri: req.uri };
    const username = digestUsername(req.get('Authorization') ?? req.get('Proxy-Authorization'));
    const who = this.deps.trunks.identify(req.source_address, username);
    if (who.kind === 'unknown') {
      this.log.warn({ ...ctx, username }, 'INVITE from an unknown source: 403');
      return res.send(403, 'Forbidden', { headers: { Warning: '399 watrunk "unknown trunk: source address or credentials not configured"' } });
    }
    if (who.kind === 'challenge') {
      // No credentials yet: the digest middleware answers 401 with a fresh nonce.
      await this.runDigest(who.realm, undefined, req, res);
      return;
    }
    const trunk = who.trunk;
    if (trunk.auth) {
      if (!(await this.runDigest(trunk.auth.realm, trunk, req, res))) {
        this.log.info({ ...ctx, trunk: trunk.name, username }, 'INVITE without valid digest credentials: challenged or refused');
        return;
      }
    }
    // RFC 4028 §9: an interval below our minimum is refused with the minimum, and the PBX retries
    // with it. A PBX without `Supported: timer` could not act on a 422; its interval is taken as
    // is and watrunk is the refresher (uas-leg.ts).
    // https://www.rfc-editor.org/rfc/rfc4028#section-9
    const asked = parseSessionExpires(req.get('Session-Expires'));
    const minSe = this.deps.liveness.minSeS;
    if (asked && asked.seconds < minSe && supportsTimer(req.get('Supported'))) {
      this.log.info({ ...ctx, trunk: trunk.name, sessionExpires: asked.seconds, minSe }, 'Session-Expires below Min-SE: 422');
      return res.send(422, 'Session Interval Too Small', { headers: { 'Min-SE': String(minSe) } });
    }
    const ready = await this.deps.canTakeCalls();
    if (!ready.ok) {
      this.log.warn({ ...ctx, trunk: trunk.name, reason: ready.reason }, 'cannot take calls now: 503');
      return res.send(503, 'Service Unavailable', { headers: { 'Retry-After': '5', Warning: `399 watrunk "${ready.reason}"` } });
    }
    const leg = new DrachtioUasLeg(this.srf, req, res, this.log, this.deps.liveness);
    await this.deps.onCall(leg, trunk);
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
