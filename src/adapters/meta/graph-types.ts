/**
 * Wire-level vocabulary of the Graph API client: which operations exist, which number a request
 * is for, and the request bodies Meta expects (docs/whatsapp-calling.md#call-actions, #permission-requests). Response shapes live in
 * graph-responses.ts.
 */

/** One value per Graph request kind; used as the `operation` metric label and in errors. */
export type GraphOperation =
  | 'connect'
  | 'pre_accept'
  | 'accept'
  | 'reject'
  | 'terminate'
  | 'get_call_permissions'
  | 'send_permission_request'
  | 'get_settings'
  | 'update_settings';

/** The Graph edges under /{PHONE_NUMBER_ID} this client talks to. */
export type GraphEdge = 'calls' | 'call_permissions' | 'messages' | 'settings';

/** Everything needed to address one business number on Graph. */
export interface GraphTarget {
  phoneNumberId: string;
  /** e.g. "v24.0". */
  graphVersion: string;
  accessToken: string;
  /** Whole-request budget (connect + headers + body), per attempt. */
  timeoutMs: number;
}

export type CallAction = 'connect' | 'pre_accept' | 'accept' | 'reject' | 'terminate';

/** Body of POST /{PNID}/calls (docs/whatsapp-calling.md#call-actions). */
export interface CallsRequestBody {
  messaging_product: 'whatsapp';
  action: CallAction;
  /** connect only: digits or BSUID. */
  to?: string;
  /** Every action except connect. */
  call_id?: string;
  /** connect ("offer"), pre_accept and accept ("answer"). */
  session?: { sdp_type: 'offer' | 'answer'; sdp: string };
  /** connect and accept; at most 512 characters. */
  biz_opaque_callback_data?: string;
}

/** Body of POST /{PNID}/messages for a free-form call permission request (docs/whatsapp-calling.md#permission-requests). */
export interface PermissionRequestMessageBody {
  messaging_product: 'whatsapp';
  recipient_type: 'individual';
  to?: string;
  recipient?: string;
  type: 'interactive';
  interactive: {
    type: 'call_permission_request';
    action: { name: 'call_permission_request' };
    body?: { text: string };
  };
}
