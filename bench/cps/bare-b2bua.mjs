// The baseline of `npm run bench:cps`: the least a drachtio-srf B2BUA with rtpengine does per call.
// INVITE → rtpengine offer → INVITE to the PBX → 200 → rtpengine answer → 200 upstream; BYE on
// either side → BYE on the other + rtpengine delete. Plain RTP on both legs. It uses watrunk's own
// ng client (same UDP transport, same retransmission) so the comparison is about the call logic.
// Configured by the environment: BARE_DRACHTIO_PORT, BARE_DRACHTIO_SECRET, BARE_RTPENGINE_PORT,
// BARE_UAS (sip:host:port of the called PBX).
import Srf from 'drachtio-srf';
import { NgClient } from '../../dist/adapters/rtpengine/ng-client.js';

const env = (name) => { const v = process.env[name]; if (!v) throw new Error(`${name} is not set`); return v; };
const engine = { host: '127.0.0.1', port: Number(env('BARE_RTPENGINE_PORT')) };
const ng = new NgClient({ timeoutMs: 3000, localAddress: '127.0.0.1' });
const uas = env('BARE_UAS');
const srf = new Srf();
srf.connect({ host: '127.0.0.1', port: Number(env('BARE_DRACHTIO_PORT')), secret: env('BARE_DRACHTIO_SECRET') });
srf.on('connect', () => process.stdout.write('connected\n'));
srf.on('error', () => undefined);

srf.invite(async (req, res) => {
  const callId = req.get('Call-ID');
  const fromTag = req.getParsedHeader('From').params.tag;
  const common = { 'call-id': callId, 'from-tag': fromTag, replace: ['origin', 'session-connection'] };
  try {
    const offer = await ng.send(engine, 'offer', { ...common, sdp: req.body });
    const { uas: a, uac: b } = await srf.createB2BUA(req, res, uas, {
      localSdpB: offer.sdp,
      localSdpA: async (sdp, answer) => (await ng.send(engine, 'answer', {
        ...common, 'to-tag': answer.getParsedHeader('To').params.tag, sdp,
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
