import type { WhatsAppSettings } from '../../calls/ports/whatsapp-provider.js';

/**
 * The `calling` object of GET /{PNID}/settings (docs/whatsapp-calling.md#settings: the answer holds other, non-calling
 * settings too). Without credentials; SIP passwords are stripped all the same, so what this returns
 * can be printed, logged at debug or served by the admin API.
 */
export async function liveCalling(settings: WhatsAppSettings): Promise<Record<string, unknown>> {
  const doc = await settings.getSettings();
  const calling = doc['calling'];
  return isObject(calling) ? withoutSipPasswords(calling) : {};
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A copy with every sip.servers[].sip_user_password removed. */
function withoutSipPasswords(calling: Record<string, unknown>): Record<string, unknown> {
  const sip = calling['sip'];
  if (!isObject(sip) || !Array.isArray(sip['servers'])) return calling;
  const servers = sip['servers'].map((s: unknown) => {
    if (!isObject(s)) return s;
    const { sip_user_password: _secret, ...rest } = s;
    return rest;
  });
  return { ...calling, sip: { ...sip, servers } };
}
