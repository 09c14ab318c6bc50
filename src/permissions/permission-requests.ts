import type { GraphClient } from '../adapters/meta/graph-client.js';
import { parseMessageId } from '../adapters/meta/graph-responses.js';
import type { GraphTarget } from '../adapters/meta/graph-types.js';
import { isBsuid, phoneDigits } from '../adapters/meta/meta-recipient.js';
import type { WhatsAppPermissions } from '../calls/ports/whatsapp-provider.js';
import type { PermissionTemplate } from '../config/permission-policy.js';

/**
 * Sending a call permission request to a user (docs/whatsapp-calling.md#permission-requests): the free-form interactive
 * `call_permission_request` (only inside the 24-hour customer service window), or an approved
 * template with a call_permission_request component (works outside it). Both are billed messages
 * and count toward the 1-per-24 h / 2-per-7-days request limit (docs/whatsapp-calling.md#limits); neither is ever retried.
 */
export interface PermissionRequestSender {
  sendInteractive(user: string, bodyText?: string): Promise<{ messageId: string }>;
  sendTemplate(user: string, template: PermissionTemplate): Promise<{ messageId: string }>;
}

/** Meta's error when a free-form message falls outside the 24-hour customer service window. */
export const OUTSIDE_WINDOW_CODE = 131047;

/**
 * An approved template sent as a normal template message (docs/whatsapp-calling.md#permission-requests),
 * to digits (`to`) or a BSUID (`recipient`). Shared by every provider that passes Meta's message
 * body through (360dialog).
 */
export function permissionTemplateMessageBody(user: string, template: PermissionTemplate): Record<string, unknown> {
  return {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    ...(isBsuid(user) ? { recipient: user } : { to: phoneDigits(user) }),
    type: 'template',
    template: { name: template.name, language: { code: template.language } },
  };
}

/** The Meta Cloud API implementation: the interactive request through the port, templates directly. */
export class MetaPermissionRequestSender implements PermissionRequestSender {
  constructor(
    private readonly permissions: WhatsAppPermissions,
    private readonly graph: GraphClient,
    private readonly target: GraphTarget,
  ) {}

  sendInteractive(user: string, bodyText?: string): Promise<{ messageId: string }> {
    return this.permissions.sendPermissionRequest(user, bodyText);
  }

  /** POST /{PNID}/messages type "template": sent as a normal template message. */
  sendTemplate(user: string, template: PermissionTemplate): Promise<{ messageId: string }> {
    const body = permissionTemplateMessageBody(user, template);
    // 'send_permission_request' is never retried (graph-retry.ts), as a billed message must not be.
    return this.graph.send(this.target, {
      operation: 'send_permission_request', method: 'POST', edge: 'messages', body, parse: parseMessageId,
    });
  }
}
