import { DEFAULT_FLAG_SETS } from '../../../src/adapters/rtpengine/index.js';
import type { NgParams } from '../../../src/adapters/rtpengine/ng-client.js';

/**
 * The first BIC offer flag set tried (mask all + transcode), kept for the DTMF tests as their control
 * case (test/media/dtmf-codec.test.ts, test/media/dtmf-webrtc.test.ts); watrunk does not use it. It
 * works for audio, but the offer can then only carry telephone-event/48000, and relabelling that to
 * 8000 in the SDP makes rtpengine scale RFC 4733 durations by 6 (docs/media.md#telephone-event).
 * It is the production set (src/adapters/rtpengine/flag-sets.ts) with `mask: [all]` added.
 */
export const BIC_OFFER_TO_WHATSAPP_MASKED: NgParams = {
  ...DEFAULT_FLAG_SETS.bicOfferToWhatsApp,
  codec: { mask: ['all'], transcode: ['opus/48000/2', 'telephone-event'] },
};
