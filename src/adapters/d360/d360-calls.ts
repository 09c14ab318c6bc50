import type { ConnectRequest, WhatsAppCalls } from '../../calls/ports/whatsapp-provider.js';
import { asNonEmptyString, asRecord } from '../meta/coerce.js';
import { parseSuccess } from '../meta/graph-responses.js';
import type { CallAction, CallsRequestBody } from '../meta/graph-types.js';
import { MAX_TRACKING_DATA_CHARS } from '../meta/meta-calls.js';
import { isBsuid, phoneDigits } from '../meta/meta-recipient.js';
import type { D360Client } from './d360-client.js';
import { D360_PATHS, type D360Target } from './d360-types.js';

function checkTrackingData(action: CallAction, trackingData: string | undefined): void {
  if (trackingData !== undefined && trackingData.length > MAX_TRACKING_DATA_CHARS) {
    throw new RangeError(
      `${action}: trackingData (biz_opaque_callback_data) is ${trackingData.length} characters; Meta allows at most ${MAX_TRACKING_DATA_CHARS}`,
    );
  }
}

/**
 * The new call's id. 360dialog relays Meta's answer, {"messaging_product":"whatsapp","calls":[{"id":"wacid..."}]};
 * its public schema only promises {messaging_product, success}, so a flat call_id or id is accepted too.
 */
export function parseD360ConnectResponse(doc: unknown): { callId: string } {
  const body = asRecord(doc);
  if (!body) throw new Error('body: not a JSON object');
  const calls = body['calls'];
  const first = Array.isArray(calls) ? asRecord(calls[0]) : undefined;
  const callId = asNonEmptyString(first?.['id']) ?? asNonEmptyString(body['call_id']) ?? asNonEmptyString(body['id']);
  if (!callId) throw new Error('calls[0].id: missing (no call id in the connect answer)');
  return { callId };
}

/**
 * Call signalling over 360dialog's POST /calling/calls with Meta's body, unchanged
 * (https://docs.360dialog.com/docs/waba-messaging/making-and-receiving-calls/inbound-calls/how-to-handle-inbound-calls).
 * The public endpoint description lists pre_accept, accept, reject and connect; `terminate` is not
 * listed, but 360dialog passes Meta's body through, so it is sent the same way (unverified:
 * docs/providers.md#360dialog). Retries follow Meta's policy: connect is never retried.
 */
export class D360Calls implements WhatsAppCalls {
  constructor(private readonly client: D360Client, private readonly target: D360Target) {}

  async connect(req: ConnectRequest): Promise<{ callId: string }> {
    checkTrackingData('connect', req.trackingData);
    const body: CallsRequestBody = {
      messaging_product: 'whatsapp',
      to: isBsuid(req.to) ? req.to : phoneDigits(req.to),
      action: 'connect',
      session: { sdp_type: 'offer', sdp: req.sdpOffer },
      ...(req.trackingData !== undefined && { biz_opaque_callback_data: req.trackingData }),
    };
    return this.client.send(this.target, {
      operation: 'connect', method: 'POST', path: D360_PATHS.calls, body, parse: parseD360ConnectResponse,
    });
  }

  async preAccept(callId: string, sdpAnswer: string): Promise<void> {
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

  /** Not in 360dialog's published action list; Meta's body is passed through (docs/providers.md#360dialog). */
  async terminate(callId: string): Promise<void> {
    await this.post('terminate', { messaging_product: 'whatsapp', call_id: callId, action: 'terminate' });
  }

  private async post(action: Exclude<CallAction, 'connect'>, body: CallsRequestBody): Promise<void> {
    await this.client.send(this.target, { operation: action, method: 'POST', path: D360_PATHS.calls, body, parse: parseSuccess });
  }
}
