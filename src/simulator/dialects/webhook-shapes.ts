import { signD360Webhook, D360_SIGNATURE_HEADER } from '../../adapters/d360/d360-webhook-verifier.js';
import type { SimNumberConfig } from '../config.js';
import type { WebhookShape } from '../webhook-delivery.js';
import type { DialectSecrets } from './dialect-config.js';

/**
 * What each dialect posts where Meta would post a webhook (webhook-payloads.ts builds Meta's body;
 * these reshape it, after any "late" fault has backdated it):
 *  360dialog      Meta's body unchanged (360dialog forwards it), x-360dialog-signature when a secret
 *                 is set, plus the static headers configured with the webhook URL;
 *  cams           a JSON array of PascalCase items {CallId, From, To, Event | Status, Direction,
 *                 Session {SdpType, Sdp}, Timestamp (ms), …}, or Meta's body (event_format: meta);
 *  conceptomovil  one flat object {call_id, from, to, event | status, direction, sdp, sdp_type,
 *                 timestamp, …}, or Meta's body (event_format: meta).
 * CAMS and Concepto Móvil have no permissions API: permission replies (field `messages`) are not sent.
 * Both native formats are the adapters' guesses (docs/providers.md): the simulator speaks what the
 * adapters read, so every test tier runs offline.
 */

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);
const ms = (seconds: unknown): number | undefined => (seconds === undefined ? undefined : Number(seconds) * 1000);

/** The first change's value of Meta's envelope, and its field. */
function valueOf(payload: unknown): { field: string; value: Json } | undefined {
  const change = isObject(payload) ? list(payload['entry'])[0] : undefined;
  const first = change ? list(change['changes'])[0] : undefined;
  return first && isObject(first['value']) ? { field: String(first['field']), value: first['value'] } : undefined;
}

function metaErrors(value: Json): Json[] {
  return list(value['errors']);
}

/** Meta's calls/statuses items as CAMS-style PascalCase items. */
export function camsItems(payload: unknown, custSpaceId: string): Json[] | undefined {
  const v = valueOf(payload);
  if (!v || v.field !== 'calls') return undefined;
  const display = String((v.value['metadata'] as Json | undefined)?.['display_phone_number'] ?? '');
  const errors = metaErrors(v.value).map((e) => ({ Code: e['code'], Message: e['message'], Details: (e['error_data'] as Json | undefined)?.['details'] }));
  const calls = list(v.value['calls']).map((c) => {
    const session = isObject(c['session']) ? { SdpType: c['session']['sdp_type'], Sdp: c['session']['sdp'] } : undefined;
    return dropUndefined({
      CallId: c['id'], From: c['from'], FromUserId: c['from_user_id'], To: c['to'], ToUserId: c['to_user_id'],
      Event: c['event'], Direction: c['direction'], Status: c['status'], Session: session,
      Timestamp: ms(c['timestamp']), StartTime: ms(c['start_time']), EndTime: ms(c['end_time']), Duration: c['duration'],
      CustSpaceId: custSpaceId, ...(c['event'] === 'terminate' && errors.length > 0 && { Errors: errors }),
    });
  });
  const statuses = list(v.value['statuses']).map((st) => dropUndefined({
    CallId: st['id'], From: display, To: st['recipient_id'], ToUserId: st['recipient_user_id'], Status: st['status'],
    Direction: 'BUSINESS_INITIATED', Timestamp: ms(st['timestamp']), CustSpaceId: custSpaceId,
  }));
  return [...calls, ...statuses];
}

/** Meta's calls/statuses item as Concepto Móvil's flat event (the adapter's reading of its format). */
export function conceptoMovilEvent(payload: unknown): Json | undefined {
  const v = valueOf(payload);
  if (!v || v.field !== 'calls') return undefined;
  const display = String((v.value['metadata'] as Json | undefined)?.['display_phone_number'] ?? '');
  const c = list(v.value['calls'])[0];
  if (c) {
    const session = isObject(c['session']) ? c['session'] : undefined;
    const errors = metaErrors(v.value);
    return dropUndefined({
      call_id: c['id'],
      // A hidden number travels as the BSUID.
      from: c['from'] || c['from_user_id'], to: c['to'] || c['to_user_id'],
      event: c['event'], status: c['status'], direction: c['direction'], timestamp: Number(c['timestamp']),
      sdp: session?.['sdp'], sdp_type: session?.['sdp_type'],
      start_time: c['start_time'], end_time: c['end_time'], duration: c['duration'],
      biz_opaque_callback_data: c['biz_opaque_callback_data'],
      ...(c['event'] === 'terminate' && errors.length > 0 && { errors }),
    });
  }
  const st = list(v.value['statuses'])[0];
  if (!st) return undefined;
  return dropUndefined({
    call_id: st['id'], from: display, to: st['recipient_id'] || st['recipient_user_id'], status: st['status'],
    direction: 'BUSINESS_INITIATED', timestamp: Number(st['timestamp']), biz_opaque_callback_data: st['biz_opaque_callback_data'],
  });
}

function dropUndefined(o: Json): Json {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** The number's webhook shape, or nothing for Meta's own (webhook-delivery.ts signs it like Meta). */
export function webhookShapeFor(n: SimNumberConfig, secrets: DialectSecrets): { shape?: WebhookShape } {
  const staticHeaders = n.webhook_headers ?? {};
  switch (n.dialect) {
    case 'meta':
      return {};
    case '360dialog':
      return {
        shape: {
          body: (payload) => payload,
          headers: (raw) => ({
            'user-agent': 'watrunk-simulator (360dialog dialect)', ...staticHeaders,
            ...(secrets.webhookSecret && { [D360_SIGNATURE_HEADER]: signD360Webhook(raw, secrets.webhookSecret) }),
          }),
        },
      };
    case 'cams': {
      const custSpaceId = n.cust_space_id ?? '';
      return {
        shape: {
          body: (payload) => (n.event_format === 'meta' ? (valueOf(payload)?.field === 'calls' ? payload : undefined) : camsItems(payload, custSpaceId)),
          headers: () => ({ 'user-agent': 'watrunk-simulator (cams dialect)', ...staticHeaders }),
        },
      };
    }
    case 'conceptomovil':
      return {
        shape: {
          body: (payload) => (n.event_format === 'meta' ? (valueOf(payload)?.field === 'calls' ? payload : undefined) : conceptoMovilEvent(payload)),
          headers: () => ({ 'user-agent': 'watrunk-simulator (conceptomovil dialect)', ...staticHeaders }),
        },
      };
  }
}
