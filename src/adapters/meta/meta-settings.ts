import type { WhatsAppSettings } from '../../calls/ports/whatsapp-provider.js';
import type { GraphClient } from './graph-client.js';
import { parseJsonObject, parseSuccess } from './graph-responses.js';
import type { GraphTarget } from './graph-types.js';

/** The number's calling settings: GET / POST /{PNID}/settings (docs/whatsapp-calling.md#settings). */
export class MetaSettings implements WhatsAppSettings {
  constructor(private readonly graph: GraphClient, private readonly target: GraphTarget) {}

  /**
   * The whole settings document. With includeSipCredentials the answer carries
   * sip.servers[].sip_user_password: it is a GET, despite one doc page saying POST (docs/whatsapp-calling.md#doc-conflicts).
   */
  async getSettings(opts?: { includeSipCredentials?: boolean }): Promise<Record<string, unknown>> {
    return this.graph.send(this.target, {
      operation: 'get_settings', method: 'GET', edge: 'settings',
      ...(opts?.includeSipCredentials && { query: { include_sip_credentials: 'true' } }),
      parse: parseJsonObject,
    });
  }

  /** POST {"calling": {...}} → {"success": true}. Note: call_hours is replaced as a whole (docs/whatsapp-calling.md#settings). */
  async updateSettings(calling: Record<string, unknown>): Promise<void> {
    await this.graph.send(this.target, {
      operation: 'update_settings', method: 'POST', edge: 'settings', body: { calling }, parse: parseSuccess,
    });
  }
}
