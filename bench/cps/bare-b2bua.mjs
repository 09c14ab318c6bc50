// The baseline of `npm run bench:cps`: the least a drachtio-srf B2BUA with rtpengine does per call.
// INVITE → rtpengine offer → INVITE to the PBX → 200 → rtpengine answer → 200 upstream; BYE on
// either side → BYE on the other + rtpengine delete. Plain RTP on both legs. It uses watrunk's own
// ng client (same UDP transport, same retransmission) so the comparison is about the call logic.
// Configured by the environment: BARE_DRACHTIO_PORT, BARE_DRACHTIO_SECRET, BARE_RTPENGINE_PORT,
// BARE_UAS (sip:host:port of the called PBX), BARE_MEDIA (`rtp`, the default: plain RTP on both legs;
// `webrtc`: watrunk's own business-initiated option sets, so the called leg is WebRTC (ICE,
// DTLS-SRTP, Opus transcoded from the caller's G.711) exactly as watrunk's WhatsApp leg is, and
// the comparison isolates what watrunk's call logic costs from what WebRTC media costs rtpengine).
import Srf from 'drachtio-srf';
import { DEFAULT_FLAG_SETS } from '../../dist/adapters/rtpengine/flag-sets.js';
import { NgClient } from '../../dist/adapters/rtpengine/ng-client.js';

const env = (name) => { const v = process.env[name]; if (!v) throw new Error(`${name} is not set`); return v; };
const engine = { host: '127.0.0.1', port: Number(env('BARE_RTPENGINE_PORT')) };
const ng = new NgClient({ timeoutMs: 3000, localAddress: '127.0.0.1' });
const uas = env('BARE_UAS');
const webrtc = process.env.BARE_MEDIA === 'webrtc';
const PLAIN = { replace: ['origin', 'session-connection'] };
const offerFlags = webrtc ? DEFAULT_FLAG_SETS.bicOfferToWhatsApp : PLAIN;
const answerFlags = webrtc ? DEFAULT_FLAG_SETS.bicAnswerToPbx : PLAIN;
const srf = new Srf();
srf.connect({ host: '127.0.0.1', port: Number(env('BARE_DRACHTIO_PORT')), secret: env('BARE_DRACHTIO_SECRET') });
srf.on('connect', () => process.stdout.write('connected\n'));
srf.on('error', () => undefined);

srf.invite(async (req, res) => {
  const callId = req.get('Call-ID');
  const fromTag = req.getParsedHeader('From').params.tag;
  const common = { 'call-id': callId, 'from-tag': fromTag };
  try {
    const offer = await ng.send(engine, 'offer', { ...offerFlags, ...common, sdp: req.body });
    const { uas: a, uac: b } = await srf.createB2BUA(req, res, uas, {
      localSdpB: offer.sdp,
      localSdpA: async (sdp, answer) => (await ng.send(engine, 'answer', {
        ...answerFlags, ...common, 'to-tag': answer.getParsedHeader('To').params.tag, sdp,
      })).sdp,
    });
    const end = (other) => { other.destroy().catch(() => undefined); ng.send(engine, 'delete', { 'call-id': callId }).catch(() => undefined); };
    a.on('destroy', () => end(b));
    b.on('destroy', () => end(a));
  } catch (err) {
    ng.send(engine, 'delete', { 'call-id': callId }).catch(() => undefined);
    if (!res.finalResponseSent) res.send(err?.status ?? 503);
  }
});
