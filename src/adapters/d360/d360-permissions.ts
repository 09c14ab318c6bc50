import type { CallPermission, WhatsAppPermissions } from '../../calls/ports/whatsapp-provider.js';
import { parseCallPermission, parseMessageId } from '../meta/graph-responses.js';
import { permissionRequestMessageBody } from '../meta/meta-permissions.js';
import { isBsuid, phoneDigits } from '../meta/meta-recipient.js';
import type { D360Client } from './d360-client.js';
import { D360_PATHS, type D360Target } from './d360-types.js';

/**
 * Business-initiated calling permissions through 360dialog
 * (https://docs.360dialog.com/partner/messaging/calling-api/business-initiated-whatsapp-calls).
 */
export class D360Permissions implements WhatsAppPermissions {
  constructor(private readonly client: D360Client, private readonly target: D360Target) {}

  /**
   * GET /calling/permissions/{consumer_wa_id}: the user is a path segment. 360dialog documents a
   * phone number there; a BSUID is sent the same way, URL-encoded (unverified, docs/providers.md#360dialog).
   * The answer is Meta's call_permissions document.
   */
  async getCallPermission(user: string): Promise<CallPermission> {
    const id = isBsuid(user) ? user : phoneDigits(user);
    return this.client.send(this.target, {
      operation: 'get_call_permissions', method: 'GET', path: D360_PATHS.permissions(id), parse: parseCallPermission,
    });
  }

  /**
   * The interactive call_permission_request message, Meta's body on 360dialog's POST /messages
   * (https://docs.360dialog.com/docs/guides). Only valid inside the 24 h customer-service window;
   * billed; never retried.
   */
  async sendPermissionRequest(user: string, bodyText?: string): Promise<{ messageId: string }> {
    const body = permissionRequestMessageBody(user, bodyText);
    return this.client.send(this.target, {
      operation: 'send_permission_request', method: 'POST', path: D360_PATHS.messages, body, parse: parseMessageId,
    });
  }
}
