import type { CallPermission, WhatsAppPermissions } from '../../calls/ports/whatsapp-provider.js';
import type { GraphClient } from './graph-client.js';
import { parseCallPermission, parseMessageId } from './graph-responses.js';
import type { GraphTarget, PermissionRequestMessageBody } from './graph-types.js';
import { isBsuid, phoneDigits } from './meta-recipient.js';

/**
 * The interactive call_permission_request message (docs/whatsapp-calling.md#permission-requests),
 * to digits (`to`) or a BSUID (`recipient`); an empty bodyText sends no body. Shared by every
 * provider that passes Meta's message body through (360dialog).
 */
export function permissionRequestMessageBody(user: string, bodyText?: string): PermissionRequestMessageBody {
  return {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    ...(isBsuid(user) ? { recipient: user } : { to: phoneDigits(user) }),
    type: 'interactive',
    interactive: {
      type: 'call_permission_request',
      action: { name: 'call_permission_request' },
      ...(bodyText !== undefined && bodyText !== '' && { body: { text: bodyText } }),
    },
  };
}

/**
 * Business-initiated calling permissions (docs/whatsapp-calling.md#permissions). A user is digits
 * (user_wa_id / to) or a BSUID (recipient).
 */
export class MetaPermissions implements WhatsAppPermissions {
  constructor(private readonly graph: GraphClient, private readonly target: GraphTarget) {}

  /** GET /{PNID}/call_permissions?user_wa_id=<digits> | ?recipient=<BSUID> (docs/whatsapp-calling.md#permissions). */
  async getCallPermission(user: string): Promise<CallPermission> {
    const query: Record<string, string> = isBsuid(user) ? { recipient: user } : { user_wa_id: phoneDigits(user) };
    return this.graph.send(this.target, {
      operation: 'get_call_permissions', method: 'GET', edge: 'call_permissions', query, parse: parseCallPermission,
    });
  }

  /**
   * POST /{PNID}/messages with an interactive call_permission_request (docs/whatsapp-calling.md#permission-requests). Only
   * valid inside the 24 h customer-service window; billed; never retried.
   */
  async sendPermissionRequest(user: string, bodyText?: string): Promise<{ messageId: string }> {
    const body = permissionRequestMessageBody(user, bodyText);
    return this.graph.send(this.target, {
      operation: 'send_permission_request', method: 'POST', edge: 'messages', body, parse: parseMessageId,
    });
  }
}
