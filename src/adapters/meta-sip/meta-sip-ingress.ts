import { BlockList, isIPv6 } from 'node:net';
import type { ResolvedMetaSip } from '../../config/meta-sip-schema.js';
import type { CallOffered } from '../../calls/ports/whatsapp-events.js';
import type { Logger } from '../../logging.js';
import type { SrfRequest, SrfResponse } from '../drachtio/srf-types.js';
import type { MetaSipCalls } from './meta-sip-calls.js';
import type { MetaSipPassword } from './meta-sip-password.js';
import { DigestChallenges } from './digest-challenge.js';
import { carriesMetaDomainHeader, e164Digits, uriHost, uriUser, waCallIdOf } from './meta-sip-identity.js';

/**
 * Meta's INVITEs for numbers in SIP mode (docs/sip-mode.md#identifying-meta), checked top to bottom:
 *   1. Meta's marks: X-FB-External-Domain: wa.meta.vc and a From host of wa.meta.vc   (else: not Meta's, the PBX path takes it)
 *   2. to a business number in mode sip (Request-URI user "+<digits>[;params]")       (404)
 *   3. over TLS, when that number's meta_sip.require_tls                              (403)
 *   4. from an allowed source, when its meta_sip.allowed_sources is set               (403)
 *   5. digest: username = that number's digits, password = its Meta SIP password     (401 challenge, 403 wrong)
 *   6. a call.offered event for the call logic, as a connect webhook would give it
 * Also answers Meta's OPTIONS keep-alives.
 */

export interface MetaSipEdgeNumber {
  name: string;
  displayNumber: string;
  sip: ResolvedMetaSip;
  calls: MetaSipCalls;
  password: MetaSipPassword;
}

export class MetaSipIngress {
  private readonly byDigits = new Map<string, MetaSipEdgeNumber>();
  private readonly digest = new Map<string, DigestChallenges>();
  private readonly domains: Set<string>;
  private readonly log: Logger;

  constructor(numbers: readonly MetaSipEdgeNumber[], private readonly d: {
    logger: Logger;
    /** Hands the offer to the call logic (the event dispatcher). */
    offer: (event: CallOffered) => void;
    onRefused?: (reason: string) => void;
  }) {
    for (const n of numbers) this.byDigits.set(n.displayNumber, n);
    this.domains = new Set(numbers.map((n) => n.sip.domain.toLowerCase()));
    this.log = d.logger.child({ component: 'meta-sip' });
  }

  get empty(): boolean {
    return this.byDigits.size === 0;
  }

  /** Whether a request carries one of Meta's marks (then it is Meta's to answer, never a trunk's). */
  claims(req: SrfRequest): boolean {
    const fromHost = uriHost(req.getParsedHeader('from').uri);
    for (const domain of this.domains) {
      if (carriesMetaDomainHeader((n) => req.get(n), domain) || fromHost === domain) return true;
    }
    return false;
  }

  async handleInvite(req: SrfRequest, res: SrfResponse): Promise<void> {
    const ctx = { sipCallId: req.callId, source: `${req.source_address}:${req.source_port}`, transport: req.protocol, ruri: req.uri };
    const refuse = (status: number, reason: string, why: string) => {
      this.log.warn(ctx, `Meta INVITE refused (${status}): ${why}`);
      this.d.onRefused?.(why);
      res.send(status, reason, { headers: { Warning: `399 watrunk "${why}"` } });
    };
    const businessDigits = e164Digits(uriUser(req.uri));
    const number = businessDigits ? this.byDigits.get(businessDigits) : undefined;
    const domain = number?.sip.domain ?? [...this.domains][0] ?? 'wa.meta.vc';
    const fromHost = uriHost(req.getParsedHeader('from').uri);
    if (!carriesMetaDomainHeader((n) => req.get(n), domain) || fromHost !== domain) {
      return refuse(403, 'Forbidden', `not Meta's: needs both X-FB-External-Domain: ${domain} and a From host of ${domain}`);
    }
    if (!number) return refuse(404, 'Not Found', `no business number in mode sip for ${uriUser(req.uri) ?? req.uri}`);
    if (number.sip.require_tls && req.protocol?.toLowerCase() !== 'tls') return refuse(403, 'Forbidden', 'Meta\'s INVITEs come over TLS (meta_sip.require_tls)');
    if (!this.sourceAllowed(number, req.source_address)) return refuse(403, 'Forbidden', `source ${req.source_address} is not in meta_sip.allowed_sources`);
    if (!(await this.authenticated(number, req, res, ctx))) return;
    const waCallId = waCallIdOf((n) => req.get(n), req.callId);
    this.log.debug({ ...ctx, number: number.name, waCallId }, 'Meta INVITE accepted');
    this.d.offer(number.calls.offerFromMeta(req, res, waCallId));
  }

  /** Meta's OPTIONS: 200 for a number's edge, so its keep-alive sees watrunk alive. */
  handleOptions(_req: SrfRequest, res: SrfResponse): void {
    res.send(200, { headers: { Allow: 'INVITE, ACK, BYE, CANCEL, OPTIONS' } });
  }

  private sourceAllowed(number: MetaSipEdgeNumber, address: string): boolean {
    if (number.sip.allowed_sources.length === 0) return true;
    const list = new BlockList();
    for (const entry of number.sip.allowed_sources) {
      const [addr, bits] = entry.split('/');
      const type = isIPv6(addr!) ? 'ipv6' : 'ipv4';
      if (bits === undefined) list.addAddress(addr!, type);
      else list.addSubnet(addr!, Number(bits), type);
    }
    return list.check(address, isIPv6(address) ? 'ipv6' : 'ipv4');
  }

  /**
   * True with valid credentials; otherwise answered: 401 with a fresh challenge when there are
   * none or their nonce is not one of ours (any more), 403 when they are wrong.
   */
  private async authenticated(number: MetaSipEdgeNumber, req: SrfRequest, res: SrfResponse, ctx: Record<string, unknown>): Promise<boolean> {
    let challenges = this.digest.get(number.name);
    if (!challenges) {
      challenges = new DigestChallenges({ realm: number.sip.realm });
      this.digest.set(number.name, challenges);
    }
    let password: string | undefined;
    try {
      password = await number.password.get();
    } catch (err) {
      this.log.error({ number: number.name, err: (err as Error).message }, 'cannot check Meta\'s digest: no SIP password');
    }
    // Meta answers with username = the business number's digits (docs/sip-mode.md#password).
    const verdict = challenges.verify(req.get('Authorization'), req.method, { username: number.displayNumber, password });
    if (verdict === 'ok') return true;
    if (verdict === 'missing' || verdict === 'stale') {
      // Every call from Meta starts with this round trip: debug, not info.
      this.log.debug({ ...ctx, number: number.name, verdict }, 'Meta INVITE challenged (401)');
      res.send(401, 'Unauthorized', { headers: { 'WWW-Authenticate': challenges.challenge() } });
      return false;
    }
    this.log.warn({ ...ctx, number: number.name }, 'Meta INVITE refused (403): its digest does not match the number\'s SIP password (fetching it again for the next call)');
    res.send(403, 'Forbidden', { headers: { Warning: '399 watrunk "digest credentials do not match the number\'s SIP password"' } });
    // Meta may have a new password: fetch it (rate-limited) for the next call.
    if (password !== undefined) void number.password.refresh();
    return false;
  }
}
