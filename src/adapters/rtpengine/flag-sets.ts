/**
 * rtpengine ng option sets per call direction, as data. In an `offer` the options describe the
 * side that RECEIVES the rewritten SDP; in an `answer`, the side that receives the answer.
 * Proven on Debian rtpengine-daemon 10.5.3.5 by the media tests in test/media; why each option is
 * there: docs/media.md#flag-sets. The `WebRTC` alias does not exist in 10.5, so everything is
 * spelled out.
 *
 * Two families, chosen per call by the WhatsApp side's media profile (WhatsAppMediaProfile in
 * src/calls/ports/media-engine.ts): DEFAULT_FLAG_SETS for WebRTC (API mode, and SIP mode with DTLS)
 * and SDES_FLAG_SETS for SIP mode with SDES (RTP/SAVP + a=crypto, no ICE; docs/media.md#sdes).
 * The PBX side is the same plain RTP in both.
 *
 * Stream identity: rtpengine announces NO SSRC of its own toward either side. 10.5 cannot (it never
 * writes a=ssrc and has no `sdp-attr` editing) and copies the other side's a=ssrc/a=msid instead,
 * which makes a libwebrtc receiver mute rtpengine's transcoded stream; so every SDP these sets
 * produce goes through withoutStreamIdentity() (STREAM_IDENTITY_ATTRIBUTES in stream-identity.ts,
 * docs/media.md#stream-identity), in passthrough too, since a PBX transfer changes the source.
 */
import type { NgParams } from './ng-client.js';

/** Rewrites o= and the session c= so the SDP names rtpengine, not the other party (docs/media.md#talking-to-rtpengine). */
const REPLACE = ['origin', 'session-connection'];

/** The WebRTC side (WhatsApp): ICE + DTLS-SRTP, SAVPF, rtcp-mux, no SDES (docs/media.md#flag-sets, docs/whatsapp-calling.md#sdp-rules). */
const TOWARD_WHATSAPP: NgParams = {
  ICE: 'force',
  'transport-protocol': 'UDP/TLS/RTP/SAVPF',
  // `require`: no separate RTCP port even in the offer (WebRTC and Meta expect a=rtcp-mux).
  // `offer` worked too; `require` is proven by test/media/rtpengine-business-initiated-session.test.ts with a libwebrtc peer.
  'rtcp-mux': ['require'],
  // Without SDES off the offer carries 12 a=crypto lines.
  SDES: ['off'],
  replace: REPLACE,
};

/** The same WebRTC side, for other rtpengine users of this shape (the simulator's SIP-edge relay toward its libwebrtc user). */
export const WEBRTC_SIDE: Readonly<NgParams> = TOWARD_WHATSAPP;

/** The plain-RTP side (the PBX): RTP/AVP, no ICE, no DTLS, RTCP on its own port (docs/media.md#flag-sets). */
const TOWARD_PBX: NgParams = {
  ICE: 'remove',
  DTLS: 'off',
  SDES: ['off'],
  'transport-protocol': 'RTP/AVP',
  'rtcp-mux': ['demux'],
  replace: REPLACE,
};

/**
 * BIC offer: the PBX's RTP offer becomes a WebRTC offer for WhatsApp, transcoded to Opus.
 * Deliberately NO `mask`/`strip`: any of them "touches" the 8 kHz clock rate and rtpengine 10.5
 * then drops telephone-event/8000, leaving only telephone-event/48000 next to Opus, which Meta
 * rejects (docs/media.md#telephone-event). Unmasked, rtpengine offers the PBX's codecs + opus/48000/2 + telephone-event at
 * 48000 and 8000; keepOpusAndTelephoneEvent8000() (telephone-event.ts) then removes everything but
 * Opus and telephone-event/8000 from the SDP text. Proven by test/media/dtmf-codec.test.ts (RFC 4733
 * both ways, durations in 8 kHz units, event timestamps on the Opus timeline, one SSRC) and
 * test/media/rtpengine-business-initiated-session.test.ts (tones both ways). The DTLS flag is ignored on offers: rtpengine
 * always offers a=setup:actpass (docs/media.md#dtls-roles).
 */
const BIC_OFFER_TO_WHATSAPP: NgParams = {
  ...TOWARD_WHATSAPP,
  flags: ['generate-mid'],
  codec: { transcode: ['opus/48000/2', 'telephone-event'] },
};

/**
 * BIC offer when the PBX itself offers opus/48000/2: no codec options at all, so nothing is
 * transcoded and the PBX's list goes through unmasked (telephone-event/8000 stays, untouched);
 * keepOpusAndTelephoneEvent8000() then shows WhatsApp only Opus + telephone-event/8000.
 * Proven by test/media/opus-passthrough.test.ts.
 */
const BIC_OFFER_TO_WHATSAPP_OPUS_PASSTHROUGH: NgParams = {
  ...TOWARD_WHATSAPP,
  flags: ['generate-mid'],
};

/** BIC answer: WhatsApp's answer becomes a plain-RTP answer for the PBX. */
const BIC_ANSWER_TO_PBX: NgParams = { ...TOWARD_PBX };

/**
 * UIC offer: WhatsApp's offer (ice-lite, actpass, Opus 111 + telephone-event/8000 126) becomes a
 * plain-RTP offer for the PBX with PCMU, PCMA and telephone-event/8000 (proven by
 * test/media/rtpengine-user-initiated-session.test.ts with a libwebrtc offerer).
 */
const UIC_OFFER_TO_PBX: NgParams = {
  ...TOWARD_PBX,
  codec: { mask: ['all'], transcode: ['PCMU', 'PCMA', 'telephone-event/8000'] },
};

/**
 * UIC answer: the PBX's answer becomes the WebRTC answer for WhatsApp. `DTLS: active` makes us
 * the DTLS client (a=setup:active), as Meta requires (docs/media.md#dtls-roles).
 * rtpengine 10.5 leaves telephone-event out of this answer whatever the options (docs/media.md#telephone-event; tried:
 * codec.transcode/accept on offer or answer, `always transcode`, unmasked offer), because the
 * WhatsApp side has no 8 kHz audio codec. restoreTelephoneEvent() (telephone-event.ts) adds
 * WhatsApp's own telephone-event/8000 back to the SDP text; rtpengine forwards WhatsApp's RFC 4733
 * events to the PBX regardless (digit and duration right; the event timestamp stays on WhatsApp's
 * 48 kHz timeline), and turns the PBX's RFC 4733 into in-band DTMF in the Opus stream
 * (test/media/dtmf-codec.test.ts, test/media/dtmf-webrtc.test.ts).
 */
const UIC_ANSWER_TO_WHATSAPP: NgParams = {
  ...TOWARD_WHATSAPP,
  DTLS: 'active',
  flags: ['generate-mid'],
};

/**
 * A PBX re-offer on a user-initiated call (hold, resume, new address): the PBX, which answered
 * first, now offers. rtpengine writes an offer toward WhatsApp (discarded: WhatsApp cannot
 * renegotiate) and must transcode the PBX's G.711 to Opus again for it.
 */
const UIC_REOFFER_TO_WHATSAPP: NgParams = {
  ...TOWARD_WHATSAPP,
  flags: ['generate-mid'],
  codec: { transcode: ['opus/48000/2'] },
};

/** The answer back to that PBX re-offer, built from WhatsApp's first offer (see reofferFromPbx). */
const UIC_REANSWER_TO_PBX: NgParams = { ...TOWARD_PBX };

export interface FlagSets {
  bicOfferToWhatsApp: NgParams;
  bicOfferToWhatsAppOpusPassthrough: NgParams;
  bicAnswerToPbx: NgParams;
  uicOfferToPbx: NgParams;
  uicAnswerToWhatsApp: NgParams;
  uicReofferToWhatsApp: NgParams;
  uicReanswerToPbx: NgParams;
}

/**
 * The SRTP crypto suites rtpengine 10.5 knows (daemon/crypto.c) other than AES_CM_128_HMAC_SHA1_80.
 * 10.5 has no `SDES: only-<suite>` (it arrived in 11.2), so an offer is narrowed to one suite by
 * excluding every other with `no-<suite>`: rtpengine neither adds an excluded suite to its offers
 * nor accepts it from an offer it receives (docs/media.md#sdes).
 */
export const SDES_SUITES_EXCEPT_AES_CM_128_HMAC_SHA1_80 = [
  'AEAD_AES_256_GCM', 'AEAD_AES_128_GCM',
  'AES_256_CM_HMAC_SHA1_80', 'AES_256_CM_HMAC_SHA1_32',
  'AES_192_CM_HMAC_SHA1_80', 'AES_192_CM_HMAC_SHA1_32',
  'AES_CM_128_HMAC_SHA1_32',
  'F8_128_HMAC_SHA1_80', 'F8_128_HMAC_SHA1_32',
  'NULL_HMAC_SHA1_80', 'NULL_HMAC_SHA1_32',
] as const;

/** `SDES` list items that leave AES_CM_128_HMAC_SHA1_80 as the only suite offered (RFC 4568 §6.2.1, RFC 3711's default transform). */
export const SDES_ONLY_AES_CM_128_HMAC_SHA1_80: string[] = SDES_SUITES_EXCEPT_AES_CM_128_HMAC_SHA1_80.map((suite) => `no-${suite}`);

/**
 * The SDES side (WhatsApp in SIP mode with `srtp_key_exchange_protocol: SDES`): RTP/SAVP with
 * a=crypto, no ICE, no DTLS (docs/media.md#sdes). rtcp-mux is left to each set: offered (not
 * required) in our offers, and whatever Meta chose in our answers.
 */
const TOWARD_WHATSAPP_SDES: NgParams = {
  // Meta's SDES media has no ICE: media goes to the c=/m= address (docs/media.md#sdes). `remove`
  // also keeps any ICE lines of the other side out of the SDP.
  ICE: 'remove',
  // Without it rtpengine offers DTLS-SRTP (a=fingerprint, a=setup) next to SDES, and a WebRTC-style
  // answerer could pick DTLS.
  DTLS: 'off',
  // RFC 4568 SDES runs over the secure AVP profile (RFC 3711); no feedback profile, as Meta's SIP samples.
  'transport-protocol': 'RTP/SAVP',
  // One suite, the one every SDES peer implements: without this rtpengine 10.5 offers a dozen
  // a=crypto lines (GCM, 192/256-bit, F8, NULL). In answers it is harmless (no suites are offered
  // to us there). See SDES_SUITES_EXCEPT_AES_CM_128_HMAC_SHA1_80.
  SDES: SDES_ONLY_AES_CM_128_HMAC_SHA1_80,
  replace: REPLACE,
};

/**
 * rtcp-mux in our SDES offers: whether Meta multiplexes RTCP with SDES is not documented, so we
 * offer a=rtcp-mux AND a separate RTCP port (a=rtcp) and follow Meta's answer either way. Not
 * `require`: that would advertise no RTCP port at all (RFC 5761 §5.1.1 wants the fallback).
 */
const SDES_OFFER_RTCP_MUX: NgParams = { 'rtcp-mux': ['offer'] };

/**
 * BIC offer, SDES: the PBX's RTP offer becomes RTP/SAVP + one a=crypto, transcoded to Opus. Same
 * codec options as BIC_OFFER_TO_WHATSAPP and for the same reason (no mask/strip, or
 * telephone-event/8000 is lost; keepOpusAndTelephoneEvent8000() trims the text afterwards).
 * No `generate-mid`: a=mid belongs to WebRTC's BUNDLE, Meta's SDES SDP is plain SIP.
 * Proven by test/media/sip-mode-media.test.ts.
 */
const BIC_OFFER_TO_WHATSAPP_SDES: NgParams = {
  ...TOWARD_WHATSAPP_SDES,
  ...SDES_OFFER_RTCP_MUX,
  codec: { transcode: ['opus/48000/2', 'telephone-event'] },
};

/** BIC offer, SDES, when the PBX itself offers opus/48000/2: nothing transcoded (as BIC_OFFER_TO_WHATSAPP_OPUS_PASSTHROUGH). */
const BIC_OFFER_TO_WHATSAPP_SDES_OPUS_PASSTHROUGH: NgParams = {
  ...TOWARD_WHATSAPP_SDES,
  ...SDES_OFFER_RTCP_MUX,
};

/**
 * UIC offer, SDES: Meta's RTP/SAVP offer becomes the same plain-RTP offer for the PBX as in
 * UIC_OFFER_TO_PBX. Its `rtcp-mux: demux` (from TOWARD_PBX) also makes our answer to Meta accept
 * a=rtcp-mux if Meta offered it, and leave it out if not.
 */
const UIC_OFFER_TO_PBX_SDES: NgParams = { ...UIC_OFFER_TO_PBX };

/**
 * UIC answer, SDES: the PBX's answer becomes RTP/SAVP with one a=crypto: the first suite of Meta's
 * offer, with a key of our own (RFC 4568 §6.1: each direction has its own key). No DTLS role: SDES
 * needs none. rtpengine leaves telephone-event out as in UIC_ANSWER_TO_WHATSAPP;
 * restoreTelephoneEvent() puts Meta's telephone-event/8000 back.
 */
const UIC_ANSWER_TO_WHATSAPP_SDES: NgParams = { ...TOWARD_WHATSAPP_SDES };

/**
 * A PBX re-offer on an SDES user-initiated call: rtpengine's offer toward WhatsApp is discarded as
 * with WebRTC. rtpengine 10.5 re-offers the crypto suite (and key) it already answered with
 * (daemon/call.c __generate_crypto keeps the suites it had), and the "answer" is Meta's first
 * offer with its original keys, so SRTP keeps its keys.
 */
const UIC_REOFFER_TO_WHATSAPP_SDES: NgParams = {
  ...TOWARD_WHATSAPP_SDES,
  codec: { transcode: ['opus/48000/2'] },
};

export const DEFAULT_FLAG_SETS: FlagSets = {
  bicOfferToWhatsApp: BIC_OFFER_TO_WHATSAPP,
  bicOfferToWhatsAppOpusPassthrough: BIC_OFFER_TO_WHATSAPP_OPUS_PASSTHROUGH,
  bicAnswerToPbx: BIC_ANSWER_TO_PBX,
  uicOfferToPbx: UIC_OFFER_TO_PBX,
  uicAnswerToWhatsApp: UIC_ANSWER_TO_WHATSAPP,
  uicReofferToWhatsApp: UIC_REOFFER_TO_WHATSAPP,
  uicReanswerToPbx: UIC_REANSWER_TO_PBX,
};

/** The sets for SIP mode with SDES (WhatsAppMediaProfile 'sdes'; docs/media.md#sdes). The PBX side is as in DEFAULT_FLAG_SETS. */
export const SDES_FLAG_SETS: FlagSets = {
  bicOfferToWhatsApp: BIC_OFFER_TO_WHATSAPP_SDES,
  bicOfferToWhatsAppOpusPassthrough: BIC_OFFER_TO_WHATSAPP_SDES_OPUS_PASSTHROUGH,
  bicAnswerToPbx: BIC_ANSWER_TO_PBX,
  uicOfferToPbx: UIC_OFFER_TO_PBX_SDES,
  uicAnswerToWhatsApp: UIC_ANSWER_TO_WHATSAPP_SDES,
  uicReofferToWhatsApp: UIC_REOFFER_TO_WHATSAPP_SDES,
  uicReanswerToPbx: UIC_REANSWER_TO_PBX,
};
