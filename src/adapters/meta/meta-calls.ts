import type { ConnectRequest, WhatsAppCalls } from '../../calls/ports/whatsapp-provider.js';
import type { GraphClient } from './graph-client.js';
import { parseConnectResponse, parseSuccess } from './graph-responses.js';
import type { CallAction, CallsRequestBody, GraphTarget } from './graph-types.js';
import { isBsuid, phoneDigits } from './meta-recipient.js';

/** biz_opaque_callback_data is at most 512 characters (docs/whatsapp-calling.md#tracking-data). */
export const MAX_TRACKING_DATA_CHARS = 512;

function checkTrackingData(action: CallAction, trackingData: string | undefined): void {
  if (trackingData !== undefined && trackingData.length > MAX_TRACKING_DATA_CHARS) {
    throw new RangeError(
      `${action}: trackingData (biz_opaque_callback_data) is ${trackingData.length} characters; Meta allows at most ${MAX_TRACKING_DATA_CHARS}`,
    );
  }
}

/**
 * Call signalling over POST /{PHONE_NUMBER_ID}/calls (docs/whatsapp-calling.md#call-actions). Every body carries
 * messaging_product and action, even where Meta's table marks action optional. Retries follow
 * graph-retry.ts: connect is never retried.
 */
export class MetaCalls implements WhatsAppCalls {
  constructor(private readonly graph: GraphClient, private readonly target: GraphTarget) {}

  async connect(req: ConnectRequest): Promise<{ callId: string }> {
    checkTrackingData('connect', req.trackingData);
    // `to` takes digits or a BSUID (docs/whatsapp-calling.md#user-identities).
    const body: CallsRequestBody = {
      messaging_product: 'whatsapp',
      to: isBsuid(req.to) ? req.to : phoneDigits(req.to),
      action: 'connect',
      session: { sdp_type: 'offer', sdp: req.sdpOffer },
      ...(req.trackingData !== undefined && { biz_opaque_callback_data: req.trackingData }),
    };
    return this.graph.send(this.target, {
      operation: 'connect', method: 'POST', edge: 'calls', body, parse: parseConnectResponse,
    });
  }

  async preAccept(callId: string, sdpAnswer: string): Promise<void> {
    // The SDP answer must be the same one later sent with accept (docs/whatsapp-calling.md#call-actions).
    await this.post('pre_accept', {
      messaging_product: 'whatsapp', call_id: callId, action: 'pre_accept',
      session: { sdp_type: 'answer', sdp: sdpAnswer },
    });
  }

  async accept(callId: string, sdpAnswer: string, trackingData?: string): Promise<void> {
    checkTrackingData('accept', trackingData);
    await this.post('accept', {
      messaging_product: 'whatsapp', call_id: callId, action: 'accept',
      session: { sdp_type: 'answer', sdp: sdpAnswer },
      ...(trackingData !== undefined && { biz_opaque_callback_data: trackingData }),
    });
  }

  async reject(callId: string): Promise<void> {
    await this.post('reject', { messaging_product: 'whatsapp', call_id: callId, action: 'reject' });
  }

  async terminate(callId: string): Promise<void> {
    await this.post('terminate', { messaging_product: 'whatsapp', call_id: callId, action: 'terminate' });
  }

  private async post(action: Exclude<CallAction, 'connect'>, body: CallsRequestBody): Promise<void> {
    await this.graph.send(this.target, { operation: action, method: 'POST', edge: 'calls', body, parse: parseSuccess });
  }
}
