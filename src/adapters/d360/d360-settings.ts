import type { WhatsAppSettings } from '../../calls/ports/whatsapp-provider.js';
import { parseJsonObject, parseSuccess } from '../meta/graph-responses.js';
import type { D360Client } from './d360-client.js';
import { D360_PATHS, type D360Target } from './d360-types.js';

/**
 * The number's calling settings through 360dialog: GET / POST /calling/settings with Meta's
 * `calling` object, `sip` block included, so Meta's SIP mode is available
 * (https://docs.360dialog.com/docs/messaging/calling/how-to-configure-calling-api).
 */
export class D360Settings implements WhatsAppSettings {
  constructor(private readonly client: D360Client, private readonly target: D360Target) {}

  /**
   * The whole settings document (it may hold SIP passwords: never log it). 360dialog says the
   * answer includes the SIP credentials; whether it needs Meta's include_sip_credentials=true is
   * not documented, so the flag is passed through when asked for (harmless if ignored).
   */
  async getSettings(opts?: { includeSipCredentials?: boolean }): Promise<Record<string, unknown>> {
    return this.client.send(this.target, {
      operation: 'get_settings', method: 'GET', path: D360_PATHS.settings,
      ...(opts?.includeSipCredentials && { query: { include_sip_credentials: 'true' } }),
      parse: parseJsonObject,
    });
  }

  /** POST {"calling": {...}} → {"success": true}. As on Meta, call_hours is replaced as a whole. */
  async updateSettings(calling: Record<string, unknown>): Promise<void> {
    await this.client.send(this.target, {
      operation: 'update_settings', method: 'POST', path: D360_PATHS.settings, body: { calling }, parse: parseSuccess,
    });
  }
}
