/**
 * rtpengine ng option sets per call direction, as data. In an `offer` the options describe the
 * side that RECEIVES the rewritten SDP; in an `answer`, the side that receives the answer.
 * Proven on Debian rtpengine-daemon 10.5.3.5 by the media tests in test/media; why each option is
 * there: docs/media.md#flag-sets. The `WebRTC` alias does not exist in 10.5, so everything is
 * spelled out.
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

export const DEFAULT_FLAG_SETS: FlagSets = {
  bicOfferToWhatsApp: BIC_OFFER_TO_WHATSAPP,
  bicOfferToWhatsAppOpusPassthrough: BIC_OFFER_TO_WHATSAPP_OPUS_PASSTHROUGH,
  bicAnswerToPbx: BIC_ANSWER_TO_PBX,
  uicOfferToPbx: UIC_OFFER_TO_PBX,
  uicAnswerToWhatsApp: UIC_ANSWER_TO_WHATSAPP,
  uicReofferToWhatsApp: UIC_REOFFER_TO_WHATSAPP,
  uicReanswerToPbx: UIC_REANSWER_TO_PBX,
};
