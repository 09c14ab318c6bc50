import type { CallPermission, WhatsAppPermissions } from '../calls/ports/whatsapp-provider.js';
import { ProviderError } from '../calls/ports/whatsapp-errors.js';
import type { PermissionRequestSender } from '../permissions/permission-requests.js';
import { PROVIDER_CAPABILITIES, type ProviderName } from '../config/provider-capabilities.js';

/**
 * The permissions ports of a provider without a permissions API (CAMS, Concepto Móvil:
 * docs/providers.md). The config refuses a permission policy other than `off` for their numbers;
 * what remains (the CLI, the admin API) gets a clear refusal, and nothing is sent.
 */
export class UnsupportedPermissions implements WhatsAppPermissions, PermissionRequestSender {
  constructor(private readonly provider: ProviderName) {}

  private refuse(operation: string): ProviderError {
    const caps = PROVIDER_CAPABILITIES[this.provider];
    return new ProviderError(
      `${caps.label} offers no call permissions API (${caps.docs}): permissions cannot be checked or requested for this number`,
      'api',
      { operation, type: 'unsupported', category: 'unsupported' },
    );
  }

  async getCallPermission(): Promise<CallPermission> {
    throw this.refuse('get_call_permissions');
  }

  async sendPermissionRequest(): Promise<{ messageId: string }> {
    throw this.refuse('send_permission_request');
  }

  async sendInteractive(): Promise<{ messageId: string }> {
    throw this.refuse('send_permission_request');
  }

  async sendTemplate(): Promise<{ messageId: string }> {
    throw this.refuse('send_permission_request');
  }
}
