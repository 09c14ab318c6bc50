import { asRecord, type JsonRecord } from '../meta/coerce.js';
import { parseMetaWebhook, type ParsedDelivery } from '../meta/webhook-parser.js';
import { isFlatCallEvent, parseFlatCallEvent, type FlatEventOptions } from './conceptomovil-flat-event.js';

export type { FlatEventOptions as ConceptoMovilEventOptions };

/** What a delivery looked like: Meta's webhook, flat call events, both (a batch), or neither. */
export type ConceptoMovilDeliveryShape = 'meta' | 'flat' | 'mixed' | 'unknown';

export interface ConceptoMovilParsedDelivery extends ParsedDelivery {
  shape: ConceptoMovilDeliveryShape;
  /**
   * When some item had no known shape: its top-level keys (never values: they may hold SDPs or
   * secrets), for the caller to log once at warn so the real format can be learnt.
   */
  unknownKeys?: string[];
}

const MAX_KEYS = 20;
const MAX_KEY_CHARS = 40;

/** A Meta `value` object ({metadata, calls|statuses}) sent without its envelope. */
function isMetaValue(rec: JsonRecord): boolean {
  return Array.isArray(rec['calls']) || Array.isArray(rec['statuses']);
}

/**
 * Turns one Concepto Móvil event delivery into watrunk's events (docs/providers.md#concepto-movil).
 * The event format is not published, so three shapes are read, alone or as a JSON array (batch):
 *  - Meta's webhook (object "whatsapp_business_account"), read by Meta's parser;
 *  - Meta's `value` object without the envelope (wrapped, then read by Meta's parser);
 *  - a flat call event, conceptomovil-flat-event.ts.
 * Never throws. Anything else yields no event, shape 'unknown' and its top-level keys.
 */
export function parseConceptoMovilEvent(body: unknown, opts: FlatEventOptions = {}): ConceptoMovilParsedDelivery {
  const out: ParsedDelivery = { events: [], ignored: [] };
  const shapes = new Set<'meta' | 'flat' | 'unknown'>();
  const keys = new Set<string>();
  const items = Array.isArray(body) ? body : [body];
  items.forEach((item, i) => {
    const where = Array.isArray(body) ? `[${i}]` : '$';
    const rec = asRecord(item);
    try {
      if (rec && (rec['object'] !== undefined || Array.isArray(rec['entry']))) {
        shapes.add('meta');
        merge(out, parseMetaWebhook(rec), where);
      } else if (rec && isMetaValue(rec)) {
        shapes.add('meta');
        const wrapped = { object: 'whatsapp_business_account', entry: [{ id: '', changes: [{ field: 'calls', value: rec }] }] };
        merge(out, parseMetaWebhook(wrapped), `${where}(value)`);
      } else if (rec && isFlatCallEvent(rec)) {
        shapes.add('flat');
        parseFlatCallEvent(rec, where, out, opts);
      } else {
        shapes.add('unknown');
        for (const k of rec ? Object.keys(rec) : []) keys.add(k.slice(0, MAX_KEY_CHARS));
        out.ignored.push({ where, reason: rec ? 'unknown event shape' : 'item is not a JSON object' });
      }
    } catch (err) {
      // A last guard for exotic objects (throwing getters); JSON.parse output never gets here.
      out.ignored.push({ where, reason: `parser error: ${err instanceof Error ? err.message : String(err)}` });
    }
  });
  if (items.length === 0) out.ignored.push({ where: '$', reason: 'empty batch' });
  const known = [...shapes].filter((s) => s !== 'unknown');
  const shape: ConceptoMovilDeliveryShape = known.length === 0 ? 'unknown' : known.length === 1 ? known[0]! : 'mixed';
  return {
    ...out, shape,
    ...(shapes.has('unknown') && { unknownKeys: [...keys].slice(0, MAX_KEYS) }),
  };
}

function merge(out: ParsedDelivery, part: ParsedDelivery, prefix: string): void {
  out.events.push(...part.events);
  for (const i of part.ignored) out.ignored.push({ where: `${prefix}.${i.where}`, reason: i.reason });
}
