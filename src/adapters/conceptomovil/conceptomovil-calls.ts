import type { ConnectRequest, WhatsAppCalls } from '../../calls/ports/whatsapp-provider.js';
import { asNonEmptyString, asRecord } from '../meta/coerce.js';
import { MAX_TRACKING_DATA_CHARS } from '../meta/meta-calls.js';
import { isBsuid, phoneDigits } from '../meta/meta-recipient.js';
import type { ConceptoMovilCallUsers } from './conceptomovil-call-users.js';
import type { ConceptoMovilClient } from './conceptomovil-client.js';
import type { ConceptoMovilAction, ConceptoMovilCallBody } from './conceptomovil-types.js';

export interface ConceptoMovilCallsOptions {
  /** The business number as Concepto Móvil wants it in `from`: digits with country code, no '+'. */
  businessNumber: string;
  /** Path of the call endpoint under the tenant base URL. */
  path: string;
}

/** The user as the API wants it: digits for a phone number, a BSUID unchanged (unverified). */
function userParam(user: string): string {
  return isBsuid(user) ? user : phoneDigits(user);
}

/**
 * The new call's id. The connect answer is not documented (docs/providers.md#concepto-movil): Meta's
 * calls[0].id, a flat call_id / callId / id, or the same under `data` are accepted. Without one the
 * call may still ring, but watrunk cannot follow it: a protocol error.
 */
export function parseConceptoMovilConnectResponse(doc: unknown): { callId: string } {
  for (const body of [asRecord(doc), asRecord(asRecord(doc)?.['data'])]) {
    if (!body) continue;
    const calls = body['calls'];
    const first = Array.isArray(calls) ? asRecord(calls[0]) : undefined;
    const callId = asNonEmptyString(first?.['id']) ?? asNonEmptyString(body['call_id'])
      ?? asNonEmptyString(body['callId']) ?? asNonEmptyString(body['id']);
    if (callId) return { callId: callId.trim() };
  }
  throw new Error('no call id in the connect answer (looked for calls[0].id, call_id, callId, id)');
}

/** Any 2xx answer without an error in it counts as success: the success body is not documented. */
function acceptAnything(): void {}

/**
 * Call signalling over POST …/whatsapp-bsp-api-endpoint/services/v1/call with Concepto Móvil's flat
 * body (https://developers.conceptomovil.com/es/whatsapp/calling_api/examples): `from` is the
 * business number, `to` the user, for every action; `sdp` is a plain string without a type.
 * biz_opaque_callback_data is sent on connect only, as documented (watrunk matches the other
 * events by call id). The user of an inbound call comes from ConceptoMovilCallUsers, that of a call
 * left open by a crash from the call journal (noteCallUser); if it is not known, `to` is left out
 * and the provider decides.
 */
export class ConceptoMovilCalls implements WhatsAppCalls {
  constructor(
    private readonly client: ConceptoMovilClient,
    private readonly opts: ConceptoMovilCallsOptions,
    private readonly users: ConceptoMovilCallUsers,
  ) {}

  async connect(req: ConnectRequest): Promise<{ callId: string }> {
    if (req.trackingData !== undefined && req.trackingData.length > MAX_TRACKING_DATA_CHARS) {
      throw new RangeError(`connect: trackingData (biz_opaque_callback_data) is ${req.trackingData.length} characters; at most ${MAX_TRACKING_DATA_CHARS}`);
    }
    const to = userParam(req.to);
    const body: ConceptoMovilCallBody = {
      from: this.opts.businessNumber, to, action: 'connect', sdp: req.sdpOffer,
      ...(req.trackingData !== undefined && { biz_opaque_callback_data: req.trackingData }),
    };
    const result = await this.client.send({
      operation: 'connect', method: 'POST', path: this.opts.path, body, parse: parseConceptoMovilConnectResponse,
    });
    this.users.remember(result.callId, to);
    return result;
  }

  async preAccept(callId: string, sdpAnswer: string): Promise<void> {
    await this.post('pre_accept', callId, sdpAnswer);
  }

  async accept(callId: string, sdpAnswer: string): Promise<void> {
    await this.post('accept', callId, sdpAnswer);
  }

  async reject(callId: string): Promise<void> {
    await this.post('reject', callId);
  }

  async terminate(callId: string): Promise<void> {
    await this.post('terminate', callId);
  }

  /** A call another run set up (crash recovery, from the call journal): its user, for `to`. */
  noteCallUser(callId: string, user: string): void {
    this.users.remember(callId, userParam(user));
  }

  private async post(action: Exclude<ConceptoMovilAction, 'connect'>, callId: string, sdp?: string): Promise<void> {
    const to = this.users.userOf(callId);
    // Key order as in the documented examples: from, to, action, call_id, sdp.
    const body: ConceptoMovilCallBody = {
      from: this.opts.businessNumber,
      ...(to !== undefined && { to }),
      action, call_id: callId,
      ...(sdp !== undefined && { sdp }),
    };
    await this.client.send({ operation: action, method: 'POST', path: this.opts.path, body, parse: acceptAnything });
  }
}
