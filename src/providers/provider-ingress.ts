import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { parseCamsDelivery } from '../adapters/cams/cams-event-parser.js';
import { parseConceptoMovilEvent } from '../adapters/conceptomovil/conceptomovil-event-parser.js';
import { parseD360Webhook } from '../adapters/d360/d360-webhook-parser.js';
import { D360WebhookVerifier } from '../adapters/d360/d360-webhook-verifier.js';
import { numberKey } from '../calls/number-directory.js';
import type { WhatsAppEvent } from '../calls/ports/whatsapp-events.js';
import { StartupError } from '../config/load.js';
import { d360WebhookPath, eventsPathPrefix } from '../config/provider-schemas.js';
import type { ProviderSecrets } from '../config/provider-secrets.js';
import type { ConfigFile, NumberConfig } from '../config/schema.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import { registerWebhookIngress } from '../webhooks/ingress.js';
import { registerProviderEventsIngress, type EventsPathEntry, type ParsedEvents } from '../webhooks/provider-events-ingress.js';
import { attributeEvents } from './event-attribution.js';
import type { ProviderNumber } from './provider-number.js';

/**
 * The public routes where the other providers' events arrive (README "Providers"), next to Meta's
 * webhook, all feeding the same dispatcher:
 *   POST <prefix>/360dialog/<number> (or d360.webhook.path)   Meta's body, checked by D360WebhookVerifier
 *   POST <prefix>/cams/<token>                                 CAMS events (CAMS-style items or Meta's body)
 *   POST <prefix>/conceptomovil/<token>                        Concepto Móvil events (flat or Meta's body)
 * Numbers sharing a token share its URL; their events are told apart by business number.
 */
export interface ProviderIngressDeps {
  config: Pick<ConfigFile, 'numbers' | 'webhook'>;
  numbers: ReadonlyMap<string, ProviderNumber>;
  secrets: ReadonlyMap<string, ProviderSecrets>;
  /** The dispatcher (dedupe, stale events, routing by number); `receivedAt` is performance.now() at arrival. */
  dispatch: (events: WhatsAppEvent[], receivedAt: number) => Promise<unknown>;
  logger: Logger;
  metrics: Metrics;
}

const businessNumberOf = (n: NumberConfig): string => n.cams?.business_number ?? n.conceptomovil?.business_number ?? n.display_number;

export async function registerProviderIngress(app: FastifyInstance, d: ProviderIngressDeps): Promise<void> {
  const log = d.logger.child({ component: 'webhook' });
  const deliver = async (events: readonly WhatsAppEvent[], served: readonly NumberConfig[], provider: string, receivedAt: number): Promise<void> => {
    const { events: ours, foreign } = attributeEvents(events, served);
    if (foreign > 0) log.warn({ provider, dropped: foreign, numbers: served.map((n) => n.name) }, 'events for numbers this path does not serve: dropped');
    for (const n of served) d.numbers.get(n.name)?.noteEvents(ours.filter((e) => e.phoneNumberId === numberKey(n)));
    await d.dispatch(ours, receivedAt);
  };
  const { webhook } = d.config;

  for (const [i, n] of d.config.numbers.entries()) {
    if (n.provider !== '360dialog' || n.mode !== 'api' || !n.d360) continue;
    const s = d.secrets.get(n.name);
    if (s?.provider !== '360dialog') throw new StartupError(`numbers[${i}].d360`, 'no 360dialog secrets resolved');
    let verifier: D360WebhookVerifier;
    try {
      verifier = new D360WebhookVerifier({
        ...(s.signatureSecrets.length > 0 && { signatureSecret: s.signatureSecrets }),
        signatureHeader: n.d360.webhook.signature_header,
        ...(s.headerTokens.length > 0 && { headerToken: s.headerTokens }),
        allowHeaderTokenOnly: n.d360.webhook.allow_header_token_only,
      });
    } catch (err) {
      throw new StartupError(`numbers[${i}].d360.webhook`, (err as Error).message);
    }
    await registerWebhookIngress(app, {
      path: d360WebhookPath(webhook.provider_events_prefix, n),
      // 360dialog does not verify the URL with Meta's hub.challenge: no GET ever succeeds.
      verifyToken: randomBytes(32).toString('hex'),
      verifier: { verify: (raw, _one, headers) => verifier.verifyRequest(raw, headers ?? {}).ok },
      signatureHeader: verifier.signatureHeader,
      maxBodyBytes: webhook.max_body_bytes,
      logger: d.logger,
      metrics: d.metrics,
      onDelivery: async (body, receivedAt) => {
        const parsed = parseD360Webhook(body);
        for (const ig of parsed.ignored) log.debug({ provider: '360dialog', where: ig.where, reason: ig.reason }, 'webhook content ignored or noted');
        await deliver(parsed.events, [n], '360dialog', receivedAt);
      },
    });
  }

  for (const provider of ['cams', 'conceptomovil'] as const) {
    const byToken = new Map<string, NumberConfig[]>();
    for (const n of d.config.numbers) {
      const s = d.secrets.get(n.name);
      if (n.provider !== provider || (s?.provider !== 'cams' && s?.provider !== 'conceptomovil')) continue;
      byToken.set(s.eventsToken, [...(byToken.get(s.eventsToken) ?? []), n]);
    }
    if (byToken.size === 0) continue;
    const entries: Array<EventsPathEntry<NumberConfig[]>> = [...byToken].map(([token, served]) => {
      const lists = served.map((n) => (n.cams ?? n.conceptomovil)?.events_allow_from ?? []);
      // A number that accepts any source opens the common URL to any source.
      return { token, group: served, allowFrom: lists.some((l) => l.length === 0) ? [] : lists.flat() };
    });
    await registerProviderEventsIngress<NumberConfig[], WhatsAppEvent>(app, {
      provider,
      basePath: eventsPathPrefix(webhook.provider_events_prefix, provider),
      entries,
      maxBodyBytes: webhook.max_body_bytes,
      parse: (body, served) => (provider === 'cams' ? parseCams(body, served) : parseConceptoMovil(body, served)),
      onEvents: (events, served, receivedAt) => deliver(events, served, provider, receivedAt),
      logger: d.logger,
      metrics: d.metrics,
    });
  }
}

function parseCams(body: unknown, served: readonly NumberConfig[]): ParsedEvents<WhatsAppEvent> {
  const parsed = parseCamsDelivery(body, {
    phoneNumberIdFor: (business, custSpaceId) => {
      const n = served.find((x) => businessNumberOf(x) === business && (custSpaceId === undefined || x.cams?.cust_space_id === custSpaceId));
      return n ? numberKey(n) : undefined;
    },
  });
  return { events: parsed.events, ignored: parsed.ignored, ...(parsed.shape === 'unknown' && { unknownShapeKeys: parsed.keys ?? [] }) };
}

function parseConceptoMovil(body: unknown, served: readonly NumberConfig[]): ParsedEvents<WhatsAppEvent> {
  const parsed = parseConceptoMovilEvent(body, {
    businessNumbers: served.map(businessNumberOf),
    phoneNumberIdFor: (business) => {
      const n = served.find((x) => businessNumberOf(x) === business);
      return n ? numberKey(n) : undefined;
    },
  });
  return { events: parsed.events, ignored: parsed.ignored, ...(parsed.unknownKeys !== undefined && { unknownShapeKeys: parsed.unknownKeys }) };
}
