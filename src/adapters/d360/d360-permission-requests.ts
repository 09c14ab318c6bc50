import type { WhatsAppPermissions } from '../../calls/ports/whatsapp-provider.js';
import type { PermissionTemplate } from '../../config/permission-policy.js';
import { permissionTemplateMessageBody, type PermissionRequestSender } from '../../permissions/permission-requests.js';
import { parseMessageId } from '../meta/graph-responses.js';
import type { D360Client } from './d360-client.js';
import { D360_PATHS, type D360Target } from './d360-types.js';

/**
 * Call permission requests through 360dialog: the interactive request through the permissions
 * port, a template as Meta's template message on 360dialog's POST /messages
 * (https://docs.360dialog.com/docs/guides). Billed messages: never retried.
 */
export class D360PermissionRequestSender implements PermissionRequestSender {
  constructor(
    private readonly permissions: WhatsAppPermissions,
    private readonly client: D360Client,
    private readonly target: D360Target,
  ) {}

  sendInteractive(user: string, bodyText?: string): Promise<{ messageId: string }> {
    return this.permissions.sendPermissionRequest(user, bodyText);
  }

  sendTemplate(user: string, template: PermissionTemplate): Promise<{ messageId: string }> {
    const body = permissionTemplateMessageBody(user, template);
    return this.client.send(this.target, {
      operation: 'send_permission_request', method: 'POST', path: D360_PATHS.messages, body, parse: parseMessageId,
    });
  }
}
