import type { WhatsAppSettings } from '../../calls/ports/whatsapp-provider.js';
import type { CamsClient } from './cams-client.js';
import { configError } from './cams-errors.js';
import { findPhoneNumber, phoneNumbersOf, settingsFromPhoneNumber } from './cams-responses.js';
import type { CamsTarget } from './cams-types.js';

/**
 * The number's calling settings on CAMS (docs/providers.md#alibaba-cloud-cams): readable through
 * QueryChatappPhoneNumbers (PhoneNumbers[].CallingConfigure), not writable by any API.
 */
export class CamsSettings implements WhatsAppSettings {
  constructor(private readonly client: CamsClient, private readonly target: CamsTarget) {}

  /**
   * Meta-shaped: {calling: {...}, cams: {phone_number, calling_configured, calling_callback_url?,
   * max_talk_time?}}. CAMS has no SIP mode, so includeSipCredentials changes nothing.
   * A business number missing from the CustSpaceId's numbers is a configuration error.
   */
  async getSettings(_opts?: { includeSipCredentials?: boolean }): Promise<Record<string, unknown>> {
    const entry = await this.client.send(this.target, {
      operation: 'get_settings',
      action: 'QueryChatappPhoneNumbers',
      params: { CustSpaceId: this.target.custSpaceId },
      parse: (body) => ({ found: findPhoneNumber(phoneNumbersOf(body), this.target.businessNumber) }),
    });
    if (!entry.found) {
      throw configError(
        'get_settings',
        `CAMS get_settings: business number ${this.target.businessNumber} is not among the numbers of CustSpaceId ${this.target.custSpaceId}`,
      );
    }
    return settingsFromPhoneNumber(entry.found);
  }

  /** Always rejects: CAMS offers no API to change calling settings. */
  async updateSettings(_calling: Record<string, unknown>): Promise<void> {
    throw configError(
      'update_settings',
      'CAMS update_settings: Alibaba Cloud CAMS has no API to change calling settings; change them in the CAMS console (or through Alibaba Cloud support)',
    );
  }
}
