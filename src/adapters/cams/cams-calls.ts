import type { ConnectRequest, WhatsAppCalls } from '../../calls/ports/whatsapp-provider.js';
import { isBsuid, phoneDigits } from '../meta/meta-recipient.js';
import type { CamsClient } from './cams-client.js';
import { parseAcknowledgement, parseCallIdResponse } from './cams-responses.js';
import { sessionParam, type CamsCallAction, type CamsTarget, type WhatsappCallParams } from './cams-types.js';

/**
 * Call signalling over the CAMS RPC action WhatsappCall (docs/providers.md#alibaba-cloud-cams):
 * CustSpaceId + BusinessNumber name the number, CallAction the action, and the SDP travels as
 * Session, a JSON string {"Sdp","SdpType"}.
 *
 * CAMS has no tracking-data field (Meta's biz_opaque_callback_data): trackingData is accepted for
 * the port's sake and not sent. Correlation is by the CallId that connect returns. Retries follow
 * cams-retry.ts: connect is never retried.
 */
export class CamsCalls implements WhatsAppCalls {
  constructor(private readonly client: CamsClient, private readonly target: CamsTarget) {}

  async connect(req: ConnectRequest): Promise<{ callId: string }> {
    // UserNumber: digits with country code. Whether CAMS takes a BSUID here is undocumented: passed through as-is.
    const params = this.params('connect', {
      UserNumber: isBsuid(req.to) ? req.to : phoneDigits(req.to),
      Session: sessionParam('offer', req.sdpOffer),
    });
    return this.client.send(this.target, {
      operation: 'connect', action: 'WhatsappCall', params, parse: parseCallIdResponse,
    });
  }

  async preAccept(callId: string, sdpAnswer: string): Promise<void> {
    await this.act('pre_accept', { CallId: callId, Session: sessionParam('answer', sdpAnswer) });
  }

  async accept(callId: string, sdpAnswer: string, _trackingData?: string): Promise<void> {
    await this.act('accept', { CallId: callId, Session: sessionParam('answer', sdpAnswer) });
  }

  async reject(callId: string): Promise<void> {
    await this.act('reject', { CallId: callId });
  }

  async terminate(callId: string): Promise<void> {
    await this.act('terminate', { CallId: callId });
  }

  private params(action: CamsCallAction, rest: Pick<WhatsappCallParams, 'CallId' | 'UserNumber' | 'Session'>): WhatsappCallParams {
    return {
      CustSpaceId: this.target.custSpaceId,
      BusinessNumber: phoneDigits(this.target.businessNumber),
      CallAction: action,
      ...rest,
    };
  }

  private async act(action: Exclude<CamsCallAction, 'connect'>, rest: Pick<WhatsappCallParams, 'CallId' | 'Session'>): Promise<void> {
    const params = this.params(action, rest);
    await this.client.send(this.target, {
      operation: action, action: 'WhatsappCall', params, parse: parseAcknowledgement,
    });
  }
}
