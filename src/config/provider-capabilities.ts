/**
 * What each WhatsApp calling provider offers (docs/providers.md, "At a glance"), as data: the config
 * schema refuses what a provider cannot do, and the control plane says why an operation is refused.
 */

export const PROVIDERS = ['meta', '360dialog', 'cams', 'conceptomovil'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export interface ProviderCapabilities {
  /** For messages: "Alibaba Cloud CAMS". */
  label: string;
  /** docs/providers.md anchor, for messages. */
  docs: string;
  /** A call permissions API (trunks[].permission_policy check / request). */
  permissions: boolean;
  /** Meta's SIP mode (numbers[].mode: sip, calling.sip). */
  sipMode: boolean;
  /** Calling settings through the API. */
  settings: 'read-write' | 'read-only' | 'write-only';
  /** Meta's biz_opaque_callback_data echoed in events (crash recovery finds a lost connect by it). */
  trackingData: boolean;
}

export const PROVIDER_CAPABILITIES: Readonly<Record<ProviderName, ProviderCapabilities>> = {
  meta: { label: 'Meta', docs: 'docs/whatsapp-calling.md', permissions: true, sipMode: true, settings: 'read-write', trackingData: true },
  '360dialog': { label: '360dialog', docs: 'docs/providers.md#360dialog', permissions: true, sipMode: true, settings: 'read-write', trackingData: true },
  cams: { label: 'Alibaba Cloud CAMS', docs: 'docs/providers.md#alibaba-cloud-cams', permissions: false, sipMode: false, settings: 'read-only', trackingData: false },
  conceptomovil: { label: 'Concepto Móvil', docs: 'docs/providers.md#concepto-movil', permissions: false, sipMode: false, settings: 'write-only', trackingData: false },
};

/** Why a calling-settings operation cannot be done on this provider, or undefined when it can. */
export function settingsRefusal(provider: ProviderName, operation: 'read' | 'write'): string | undefined {
  const c = PROVIDER_CAPABILITIES[provider];
  if (operation === 'write' && c.settings === 'read-only') {
    return `${c.label} has no API to change calling settings: change them in the provider's console (${c.docs})`;
  }
  if (operation === 'read' && c.settings === 'write-only') {
    return `${c.label} offers no API to read calling settings: they can only be written (${c.docs})`;
  }
  return undefined;
}
