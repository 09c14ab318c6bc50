export { RtpengineMedia, type RtpengineConfig } from './rtpengine-media.js';
export { RtpengineSession, SessionClosedError } from './rtpengine-session.js';
export { NgClient, NgError, type EngineAddress, type NgResponse } from './ng-client.js';
export { DEFAULT_FLAG_SETS, BIC_OFFER_TO_WHATSAPP_MASKED, type FlagSets } from './flag-sets.js';
export { keepOpusAndTelephoneEvent8000, restoreTelephoneEvent } from './telephone-event.js';
export { offersOpus, audioPayloads, type AudioPayload } from './sdp-codecs.js';
