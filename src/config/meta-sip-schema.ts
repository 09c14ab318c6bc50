import { isIP } from 'node:net';
import { z } from 'zod';
import { envName, ipOrCidr, text } from './primitives.js';

/**
 * `numbers[].meta_sip`: how a number in `mode: sip` talks SIP to Meta's edge (docs/sip-mode.md).
 * Meta's own facts are defaults (domain wa.meta.vc, TLS, port 5061); everything a deployment decides
 * (its SIP host name, which media flavour, where Meta's INVITEs may come from) is named here.
 */

/** RFC 1123 host name (no IP literal: Meta matches the From host against the configured hostname). */
const hostName = z.string().regex(
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/,
  'a DNS host name such as "sip.example.com" (Meta refuses IP addresses)',
).refine((v) => isIP(v) === 0, 'a DNS host name such as "sip.example.com", not an IP address (Meta refuses IP addresses)');

export const metaSipSchema = z.object({
  /**
   * watrunk's SIP host name: the From host of its INVITEs to Meta and the realm of its digest
   * challenges. Must be the number's `calling.sip.servers[].hostname` or a parent domain of it
   * (docs/sip-mode.md#from-domain). Default: calling.sip.servers[0].hostname.
   */
  hostname: hostName.optional(),
  /** Meta's SIP domain: the Request-URI host of calls to users, and what Meta's INVITEs carry. */
  domain: hostName.default('wa.meta.vc'),
  /**
   * Where INVITEs toward Meta are sent (an outbound proxy; the Request-URI stays
   * sip:+<user>@<domain>;transport=tls). Default: Meta's edge itself over TLS.
   */
  edge_uri: z.string().regex(/^sips?:[^\s]+$/, 'a SIP URI such as "sip:wa.meta.vc;transport=tls"').default('sip:wa.meta.vc:5061;transport=tls'),
  /**
   * Media toward Meta: `dtls` (ICE + DTLS-SRTP, WebRTC style) or `sdes` (RTP/SAVP + a=crypto, no ICE).
   * Must agree with the number's srtp_key_exchange_protocol at Meta (docs/media.md#sdes).
   * Default: calling.srtp_key_exchange_protocol when the config sets it, else dtls.
   */
  srtp: z.enum(['dtls', 'sdes']).optional(),
  /** Realm of watrunk's digest challenge to Meta's INVITEs. Default: hostname. */
  realm: text.optional(),
  /**
   * Sources Meta's INVITEs may come from (Meta's published IP ranges, docs/sip-mode.md#identifying-meta).
   * Empty: any source that carries Meta's marks and passes digest (a warning at start-up).
   */
  allowed_sources: z.array(ipOrCidr).default([]),
  /** Refuse Meta-marked INVITEs that did not arrive over TLS (Meta only uses TLS). */
  require_tls: z.boolean().default(true),
  /** OPTIONS toward the edge this often, to keep the TLS connection open and know Meta answers; 0: off. */
  keepalive_s: z.number().int().min(0).max(3600).default(30),
  /**
   * The SIP password from an environment variable instead of Meta's settings API
   * (GET /settings?include_sip_credentials=true, the default; docs/sip-mode.md#password).
   */
  password_env: envName.optional(),
  /** How long a password fetched from Meta is used before it is fetched again. */
  password_ttl_s: z.number().int().min(60).default(3600),
  /** After a refused digest the password is fetched again, at most this often (a burst of failing calls costs one request). */
  password_refetch_min_interval_s: z.number().int().min(0).max(3600).default(10),
}).strict();

export type MetaSipConfig = z.infer<typeof metaSipSchema>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The number's configured SIP server entry (calling.sip.servers[0]), if any. */
export function configuredSipServer(calling: Record<string, unknown> | undefined): { hostname?: string; port?: number } {
  const sip = isObject(calling?.['sip']) ? calling['sip'] : undefined;
  const servers = Array.isArray(sip?.['servers']) ? sip['servers'] : [];
  const first = servers.find(isObject);
  return {
    ...(typeof first?.['hostname'] === 'string' && { hostname: first['hostname'] }),
    ...(typeof first?.['port'] === 'number' && { port: first['port'] }),
  };
}

/** The settings a SIP-mode number runs with, defaults resolved from its `calling` block. */
export interface ResolvedMetaSip extends Omit<MetaSipConfig, 'hostname' | 'srtp' | 'realm'> {
  hostname: string;
  srtp: 'dtls' | 'sdes';
  realm: string;
}

/** Resolves the defaults; undefined hostname means a config error (reported by the schema). */
export function resolveMetaSip(n: { meta_sip?: MetaSipConfig | undefined; calling?: Record<string, unknown> | undefined }): ResolvedMetaSip | undefined {
  const m = n.meta_sip ?? metaSipSchema.parse({});
  const hostname = m.hostname ?? configuredSipServer(n.calling).hostname;
  if (!hostname) return undefined;
  const fromCalling = n.calling?.['srtp_key_exchange_protocol'];
  const srtp = m.srtp ?? (fromCalling === 'SDES' ? 'sdes' : 'dtls');
  return { ...m, hostname, srtp, realm: m.realm ?? hostname };
}

/** Problems of a number's SIP-mode settings that the schema alone cannot see. */
export function metaSipIssues(n: { mode: 'api' | 'sip'; meta_sip?: MetaSipConfig | undefined; calling?: Record<string, unknown> | undefined }): { path: (string | number)[]; message: string }[] {
  if (n.mode !== 'sip') {
    return n.meta_sip ? [{ path: ['meta_sip'], message: 'only used with mode: sip (this number is in mode api)' }] : [];
  }
  const out: { path: (string | number)[]; message: string }[] = [];
  const resolved = resolveMetaSip(n);
  if (!resolved) return out; // no hostname: `watrunk start` refuses (metaSipStartProblems); control commands work

  const server = configuredSipServer(n.calling).hostname;
  // Meta accepts a From domain equal to the configured hostname or a parent of it (docs/sip-mode.md#from-domain).
  if (server && server !== resolved.hostname && !server.endsWith(`.${resolved.hostname}`)) {
    out.push({ path: ['meta_sip', 'hostname'], message: `must be calling.sip.servers[0].hostname (${server}) or a parent domain of it: Meta answers 403 to any other From domain` });
  }
  const fromCalling = n.calling?.['srtp_key_exchange_protocol'];
  if (n.meta_sip?.srtp && typeof fromCalling === 'string' && fromCalling.toLowerCase() !== n.meta_sip.srtp) {
    out.push({ path: ['meta_sip', 'srtp'], message: `contradicts calling.srtp_key_exchange_protocol (${fromCalling}): Meta would expect the other media flavour` });
  }
  return out;
}

/** The media toward WhatsApp for a number: WebRTC (API mode, SIP mode with DTLS) or SDES (docs/media.md#sdes). */
export function whatsappMediaOf(n: { mode: 'api' | 'sip'; meta_sip?: MetaSipConfig | undefined; calling?: Record<string, unknown> | undefined }): 'webrtc' | 'sdes' {
  return n.mode === 'sip' && resolveMetaSip(n)?.srtp === 'sdes' ? 'sdes' : 'webrtc';
}

/**
 * What `watrunk start` needs for numbers in mode sip, beyond the schema (control commands such as
 * `watrunk sip enable` work without it): a SIP host name, drachtio-server and rtpengine.
 */
export function metaSipStartProblems(cfg: { numbers: readonly { name: string; mode: 'api' | 'sip'; meta_sip?: MetaSipConfig | undefined; calling?: Record<string, unknown> | undefined }[]; drachtio?: unknown; rtpengine?: unknown }): string[] {
  const out: string[] = [];
  cfg.numbers.forEach((n, i) => {
    if (n.mode !== 'sip') return;
    if (!resolveMetaSip(n)) out.push(`numbers[${i}].meta_sip.hostname: required in mode sip (or calling.sip.servers[0].hostname): the SIP host name Meta knows watrunk by`);
    if (!cfg.drachtio) out.push(`drachtio: required by numbers[${i}] (${n.name}) in mode sip: watrunk speaks SIP to Meta`);
    if (!cfg.rtpengine) out.push(`rtpengine: required by numbers[${i}] (${n.name}) in mode sip: watrunk relays the media`);
  });
  return out;
}
