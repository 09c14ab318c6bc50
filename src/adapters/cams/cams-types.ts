import type { Acs3Credentials } from './acs3-signer.js';

/**
 * Wire vocabulary of Alibaba Cloud CAMS (Chat App Message Service), OpenAPI product "cams"
 * (docs/providers.md#alibaba-cloud-cams). RPC style: POST to "/", every parameter in the signed
 * query string, no body; PascalCase everywhere.
 */

/** Only region with a published endpoint (ap-southeast-1, Singapore). Configurable. */
export const CAMS_DEFAULT_ENDPOINT = 'https://cams.ap-southeast-1.aliyuncs.com';
export const CAMS_API_VERSION = '2020-06-06';

/** The RPC actions this adapter calls. */
export type CamsAction = 'WhatsappCall' | 'QueryChatappPhoneNumbers';

/** One value per request kind: the `operation` metric label and ProviderError field (same names as Meta's). */
export type CamsOperation = 'connect' | 'pre_accept' | 'accept' | 'reject' | 'terminate' | 'get_settings';

/** WhatsappCall's CallAction values (https://www.alibabacloud.com/help/en/chatapp/developer-reference/api-cams-2020-06-06-whatsappcall). */
export type CamsCallAction = 'connect' | 'pre_accept' | 'accept' | 'reject' | 'terminate';

/** Everything needed to address one business number on CAMS. */
export interface CamsTarget {
  /** Space ID of an ISV sub-customer, or the instance (channel) ID of a direct customer, e.g. "cams-…". */
  custSpaceId: string;
  /** The business number, digits with country code, no '+'. */
  businessNumber: string;
  credentials: Acs3Credentials;
  /** Whole-request budget (connect + headers + body), per attempt. */
  timeoutMs: number;
}

/** WhatsappCall query parameters, named as the API reference names them (a type alias, so it fits CamsRequest.params). */
export type WhatsappCallParams = {
  CustSpaceId: string;
  BusinessNumber: string;
  CallAction: CamsCallAction;
  /** Every action except connect. */
  CallId?: string;
  /** The WhatsApp user; connect only. */
  UserNumber?: string;
  /** JSON text of {"Sdp": "...", "SdpType": "offer" | "answer"} (see sessionParam). */
  Session?: string;
};

/**
 * The Session parameter: an object serialised to a JSON string with PascalCase keys. Key order as
 * Alibaba's own SDKs serialise the model (Sdp, then SdpType); JSON key order carries no meaning.
 */
export function sessionParam(sdpType: 'offer' | 'answer', sdp: string): string {
  return JSON.stringify({ Sdp: sdp, SdpType: sdpType });
}
