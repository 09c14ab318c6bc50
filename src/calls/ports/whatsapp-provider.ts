/**
 * The ports the call logic uses to talk to WhatsApp. One instance is bound to one business number;
 * adapters (src/adapters/meta, d360, cams, conceptomovil; chosen per number in src/providers) implement them.
 * Every method rejects with ProviderError on failure.
 */

export interface ConnectRequest {
  /** Callee: digits only, or a BSUID. */
  to: string;
  sdpOffer: string;
  /** Echoed in status and terminate webhooks; at most 512 characters. */
  trackingData?: string;
}

export interface WhatsAppCalls {
  /** Starts a business-initiated call. Never retried: a retry could ring the user twice. */
  connect(req: ConnectRequest): Promise<{ callId: string }>;
  /** User-initiated call: set up media before answering (same SDP as the later accept). */
  preAccept(callId: string, sdpAnswer: string): Promise<void>;
  accept(callId: string, sdpAnswer: string, trackingData?: string): Promise<void>;
  reject(callId: string): Promise<void>;
  /** Ends an active call in either direction. Mandatory for accurate billing. */
  terminate(callId: string): Promise<void>;
  /**
   * Optional: the WhatsApp user (digits or a BSUID) of a call this instance did not set up, for a
   * provider whose call API names the user on every action (Concepto Móvil's `to`,
   * docs/providers.md#concepto-movil). Crash recovery tells it the journaled user before ending a
   * call the previous run left open. Providers that address a call by its id alone leave it out.
   */
  noteCallUser?(callId: string, user: string): void;
}

export type PermissionStatus = 'no_permission' | 'temporary' | 'permanent';

export interface PermissionLimit {
  timePeriod: string;
  maxAllowed: number;
  currentUsage: number;
  limitExpiresAt?: number;
}

export interface CallPermission {
  status: PermissionStatus | string;
  /** Unix seconds; absent for permanent permissions. Meta spells it expiration_time or expiration. */
  expiresAt?: number;
  actions: { name: string; canPerform: boolean; limits: PermissionLimit[] }[];
}

export interface WhatsAppPermissions {
  /** `user` is digits (user_wa_id) or a BSUID (recipient). */
  getCallPermission(user: string): Promise<CallPermission>;
  /** Sends the interactive call_permission_request message; resolves the message id (wamid). */
  sendPermissionRequest(user: string, bodyText?: string): Promise<{ messageId: string }>;
}

export interface WhatsAppSettings {
  getSettings(opts?: { includeSipCredentials?: boolean }): Promise<Record<string, unknown>>;
  updateSettings(calling: Record<string, unknown>): Promise<void>;
}
