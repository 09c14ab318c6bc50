import { MetaSipCalls } from '../adapters/meta-sip/meta-sip-calls.js';
import { MetaSipIngress, type MetaSipEdgeNumber } from '../adapters/meta-sip/meta-sip-ingress.js';
import { MetaSipKeepalive } from '../adapters/meta-sip/meta-sip-keepalive.js';
import { MetaSipPassword } from '../adapters/meta-sip/meta-sip-password.js';
import { fromForBusiness } from '../adapters/meta-sip/meta-sip-identity.js';
import type { SrfLike } from '../adapters/drachtio/srf-types.js';
import type { CallEvent } from '../calls/ports/whatsapp-events.js';
import type { WhatsAppSettings } from '../calls/ports/whatsapp-provider.js';
import { numberKey } from '../calls/number-directory.js';
import { resolveMetaSip } from '../config/meta-sip-schema.js';
import type { NumberConfig } from '../config/schema.js';
import type { CheckResult } from '../http/readiness.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';

/**
 * The numbers in `mode: sip` (docs/sip-mode.md), composed: per number its SIP calls port
 * (MetaSipCalls, which replaces the Graph calls port), its password source and a keep-alive toward
 * Meta's edge; one ingress for Meta's INVITEs to any of them.
 */
export interface MetaSipEdge {
  /** The calls port of a number in mode sip, undefined for others. */
  callsFor(numberName: string): MetaSipCalls | undefined;
  ingress: MetaSipIngress;
  start(): void;
  stop(): void;
  readiness(): CheckResult;
}

export function createMetaSipEdge(d: {
  numbers: readonly NumberConfig[];
  srf: SrfLike;
  connected: () => boolean;
  /** The number's settings port (GET /settings?include_sip_credentials=true). */
  settingsFor: (numberName: string) => WhatsAppSettings | undefined;
  /** meta_sip.password_env values, by number name. */
  fixedPasswords: ReadonlyMap<string, string>;
  emit: (events: CallEvent[]) => void;
  logger: Logger;
  metrics: Metrics;
}): MetaSipEdge {
  const log = d.logger.child({ component: 'meta-sip' });
  const edgeNumbers: MetaSipEdgeNumber[] = [];
  const keepalives: MetaSipKeepalive[] = [];
  for (const n of d.numbers) {
    if (n.mode !== 'sip') continue;
    const sip = resolveMetaSip(n);
    if (!sip) continue; // the schema has refused such a config already
    const settings = d.settingsFor(n.name);
    const fixed = d.fixedPasswords.get(n.name);
    const password = new MetaSipPassword({
      ...(fixed !== undefined && { fixed }), ...(settings && { settings }),
      hostname: sip.hostname, ttlMs: sip.password_ttl_s * 1000, minRefreshMs: sip.password_refetch_min_interval_s * 1000, log: log.child({ number: n.name }),
    });
    const calls = new MetaSipCalls({
      srf: d.srf, connected: d.connected, sip, password, emit: d.emit, logger: d.logger,
      number: { name: n.name, displayNumber: n.display_number, eventKey: numberKey(n) },
      onDigestFailure: (refresh) => {
        d.metrics.metaSipEvents.inc({ event: 'digest_failed' });
        if (refresh.fetched) d.metrics.metaSipEvents.inc({ event: 'password_refetched' });
        if (refresh.changed) d.metrics.metaSipEvents.inc({ event: 'password_changed' });
      },
    });
    edgeNumbers.push({ name: n.name, displayNumber: n.display_number, sip, calls, password });
    keepalives.push(new MetaSipKeepalive({
      srf: d.srf, connected: d.connected, uri: `sip:${sip.domain};transport=tls`, proxy: sip.edge_uri,
      from: fromForBusiness(n.display_number, sip.hostname), intervalS: sip.keepalive_s, logger: d.logger,
    }));
    if (sip.allowed_sources.length === 0) {
      log.warn({ number: n.name }, 'meta_sip.allowed_sources is empty: Meta\'s INVITEs are recognised by their headers and digest only; allow-list Meta\'s IP ranges (docs/sip-mode.md#identifying-meta)');
    }
    log.info({ number: n.name, hostname: sip.hostname, edge: sip.edge_uri, srtp: sip.srtp, password: fixed !== undefined ? 'environment' : 'Meta settings' }, 'number in SIP mode');
  }
  const byName = new Map(edgeNumbers.map((n) => [n.name, n.calls]));
  const ingress = new MetaSipIngress(edgeNumbers, {
    logger: d.logger,
    offer: (event) => d.emit([event]),
    onRefused: () => d.metrics.metaSipEvents.inc({ event: 'refused' }),
  });
  return {
    callsFor: (name) => byName.get(name),
    ingress,
    start: () => keepalives.forEach((k) => k.start()),
    stop: () => keepalives.forEach((k) => k.stop()),
    readiness: () => {
      if (edgeNumbers.length === 0) return { ok: true, detail: 'no number in mode sip' };
      const down = keepalives.filter((k) => k.state().failures > 0).length;
      return { ok: true, detail: `${edgeNumbers.length} number(s) in mode sip${down ? `; Meta's edge did not answer the last OPTIONS for ${down}` : ''}` };
    },
  };
}
