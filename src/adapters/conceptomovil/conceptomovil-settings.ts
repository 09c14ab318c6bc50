import type { WhatsAppSettings } from '../../calls/ports/whatsapp-provider.js';
import type { ConceptoMovilClient } from './conceptomovil-client.js';
import { conceptoMovilUnsupported } from './conceptomovil-errors.js';

export interface ConceptoMovilSettingsOptions {
  /** Path template with `{waba}` and `{phone_number}`. */
  pathTemplate: string;
  /** The WhatsApp Business Account id for `{waba}`; without it settings cannot be written. */
  wabaId?: string;
  /**
   * The value for `{phone_number}`. The public page only shows a placeholder: whether it is the
   * display number (digits) or Meta's phone_number_id is unverified, hence configurable.
   */
  phoneNumber: string;
}

/**
 * Calling settings through Concepto Móvil's admin endpoint
 * (https://developers.conceptomovil.com/es/whatsapp/calling_api/examples): POST with Meta's
 * `calling` fields one level up (no "calling" wrapper) and no `sip` block, so Meta's SIP mode is not
 * available. There is no documented read endpoint.
 */
export class ConceptoMovilSettings implements WhatsAppSettings {
  constructor(private readonly client: ConceptoMovilClient, private readonly opts: ConceptoMovilSettingsOptions) {}

  async getSettings(): Promise<Record<string, unknown>> {
    throw conceptoMovilUnsupported('get_settings', 'calling settings cannot be read: the provider documents no read endpoint (docs/providers.md#concepto-movil)');
  }

  /** `calling` is watrunk's Meta-shaped object; it is sent unwrapped. A `sip` block is refused before anything is sent. */
  async updateSettings(calling: Record<string, unknown>): Promise<void> {
    if (Object.hasOwn(calling, 'sip')) {
      throw conceptoMovilUnsupported('update_settings', 'the provider has no SIP mode: remove the `sip` block from this number\'s calling settings');
    }
    if (this.opts.wabaId === undefined || this.opts.wabaId === '') {
      throw conceptoMovilUnsupported('update_settings', 'no WhatsApp Business Account id is configured for this number, so the settings path cannot be built');
    }
    const path = this.opts.pathTemplate
      .replace('{waba}', encodeURIComponent(this.opts.wabaId))
      .replace('{phone_number}', encodeURIComponent(this.opts.phoneNumber));
    await this.client.send({ operation: 'update_settings', method: 'POST', path, body: { ...calling }, parse: () => undefined });
  }
}
