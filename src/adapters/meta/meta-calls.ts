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

/*
 * The bodies of the call actions (docs/whatsapp-calling.md#call-actions), shared by every provider
 * that passes Meta's body through (360dialog). Every body carries messaging_product and action,
 * even where Meta's table marks action optional. The builders throw RangeError on tracking data
 * over MAX_TRACKING_DATA_CHARS, before anything is sent.
 */

export function connectCallBody(req: ConnectRequest): CallsRequestBody {
  checkTrackingData('connect', req.trackingData);
  // `to` takes digits or a BSUID (docs/whatsapp-calling.md#user-identities).
  return {
    messaging_product: 'whatsapp',
    to: isBsuid(req.to) ? req.to : phoneDigits(req.to),
    action: 'connect',
    session: { sdp_type: 'offer', sdp: req.sdpOffer },
    ...(req.trackingData !== undefined && { biz_opaque_callback_data: req.trackingData }),
  };
}

/** The SDP answer must be the same one later sent with accept (docs/whatsapp-calling.md#call-actions). */
export function preAcceptCallBody(callId: string, sdpAnswer: string): CallsRequestBody {
  return {
    messaging_product: 'whatsapp', call_id: callId, action: 'pre_accept',
    session: { sdp_type: 'answer', sdp: sdpAnswer },
  };
}

export function acceptCallBody(callId: string, sdpAnswer: string, trackingData?: string): CallsRequestBody {
  checkTrackingData('accept', trackingData);
  return {
    messaging_product: 'whatsapp', call_id: callId, action: 'accept',
    session: { sdp_type: 'answer', sdp: sdpAnswer },
    ...(trackingData !== undefined && { biz_opaque_callback_data: trackingData }),
  };
}

/** reject (a call not yet accepted) or terminate (an accepted one). */
export function endCallBody(callId: string, action: 'reject' | 'terminate'): CallsRequestBody {
  return { messaging_product: 'whatsapp', call_id: callId, action };
}

/** Sends one call action with Meta's body; the provider adds its path, authentication and retries. */
export type CallActionSend = <T>(operation: CallAction, body: CallsRequestBody, parse: (doc: unknown) => T) => Promise<T>;

/**
 * WhatsAppCalls over Meta's call-action bodies, for Meta and for every provider that passes them
 * through unchanged (360dialog). Bodies are built (and tracking data checked) before anything is sent.
 */
export class MetaBodyCalls implements WhatsAppCalls {
  constructor(
    private readonly send: CallActionSend,
    private readonly parseConnect: (doc: unknown) => { callId: string },
  ) {}

  async connect(req: ConnectRequest): Promise<{ callId: string }> {
    return this.send('connect', connectCallBody(req), this.parseConnect);
  }

  async preAccept(callId: string, sdpAnswer: string): Promise<void> {
    await this.send('pre_accept', preAcceptCallBody(callId, sdpAnswer), parseSuccess);
  }

  async accept(callId: string, sdpAnswer: string, trackingData?: string): Promise<void> {
    await this.send('accept', acceptCallBody(callId, sdpAnswer, trackingData), parseSuccess);
  }

  async reject(callId: string): Promise<void> {
    await this.send('reject', endCallBody(callId, 'reject'), parseSuccess);
  }

  async terminate(callId: string): Promise<void> {
    await this.send('terminate', endCallBody(callId, 'terminate'), parseSuccess);
  }
}

/**
 * Call signalling over POST /{PHONE_NUMBER_ID}/calls (docs/whatsapp-calling.md#call-actions).
 * Retries follow graph-retry.ts: connect is never retried.
 */
export class MetaCalls extends MetaBodyCalls {
  constructor(graph: GraphClient, target: GraphTarget) {
    super((operation, body, parse) => graph.send(target, { operation, method: 'POST', edge: 'calls', body, parse }), parseConnectResponse);
  }
}
