import type { GraphOperation } from '../meta/graph-types.js';

/**
 * Wire-level vocabulary of Concepto Móvil's WhatsApp calling API (platform "Broadcaster",
 * docs/providers.md#concepto-movil). The host is per tenant and has no default: the public page
 * (https://developers.conceptomovil.com/es/whatsapp/calling_api/examples) writes it as `{url}`.
 * Every path is configurable because the services sit on different roots (with and without `-ws`).
 */

export interface ConceptoMovilPaths {
  /**
   * GET with Api-Key / Api-Token headers → {"token": "..."}. Not on the calling page; this path is
   * the one Concepto Móvil's messaging API uses (unverified for calling).
   */
  token: string;
  /** POST, flat body {from, to, action, call_id, sdp}: all five call actions. */
  calls: string;
  /** POST, Meta's `calling` fields without the wrapper. `{waba}` and `{phone_number}` are filled in. */
  callSettings: string;
}

export const CONCEPTOMOVIL_DEFAULT_PATHS: Readonly<ConceptoMovilPaths> = {
  token: '/whatsapp-bsp-api-endpoint-ws/services/v1/auth/token',
  calls: '/whatsapp-bsp-api-endpoint/services/v1/call',
  callSettings: '/whatsapp-bsp-admin-ext-endpoint-ws/services/v1/phone-number/{waba}/{phone_number}/call-settings',
};

/** Meta's request kinds plus the token exchange; used as the `operation` metric label and in errors. */
export type ConceptoMovilOperation = GraphOperation | 'get_token';

/** The call actions, named as in Meta's API. */
export type ConceptoMovilAction = 'connect' | 'pre_accept' | 'accept' | 'reject' | 'terminate';

/**
 * Body of POST …/services/v1/call. Flat: no messaging_product, no `session`, no sdp_type (the action
 * implies it: connect carries the offer, pre_accept and accept the answer). `from` is always the
 * business number and `to` the user, inbound calls included.
 */
export interface ConceptoMovilCallBody {
  from: string;
  to?: string;
  action: ConceptoMovilAction;
  call_id?: string;
  sdp?: string;
  /** connect only, as documented. */
  biz_opaque_callback_data?: string;
}

export interface ConceptoMovilRequest<T> {
  operation: GraphOperation;
  method: 'GET' | 'POST';
  /** Absolute path under the tenant base URL, already encoded. */
  path: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Maps a 2xx answer (parsed JSON, or undefined for an empty / non-JSON body); throws when unusable. */
  parse: (doc: unknown) => T;
}
