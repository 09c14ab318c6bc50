/**
 * Flag sets for tests that replace the WebRTC (WhatsApp) leg with plain RTP so that RTP packets,
 * including RFC 4733 events, can be inspected on that leg: the production flag sets with only the
 * transport keys overridden (RTP/AVP, no ICE, no DTLS). Codec handling in rtpengine does not depend
 * on the transport (SRTP is applied after the codec handlers), so DTMF/codec findings carry over.
 */
import { DEFAULT_FLAG_SETS, type FlagSets } from '../../../src/adapters/rtpengine/index.js';

const PLAIN = { ICE: 'remove', DTLS: 'off', 'transport-protocol': 'RTP/AVP' };

export function plainWhatsAppLegFlagSets(base: FlagSets = DEFAULT_FLAG_SETS): FlagSets {
  return {
    ...base,
    bicOfferToWhatsApp: { ...base.bicOfferToWhatsApp, ...PLAIN },
    bicOfferToWhatsAppOpusPassthrough: { ...base.bicOfferToWhatsAppOpusPassthrough, ...PLAIN },
    uicAnswerToWhatsApp: { ...base.uicAnswerToWhatsApp, ...PLAIN },
  };
}
