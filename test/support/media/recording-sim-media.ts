/**
 * Wraps the simulator's real-media factory so a test can reach each simulated WhatsApp user's
 * WebRTC peer (to measure audio in a time window) and see the SDP that watrunk gave it.
 */
import type { SimulatedMediaFactory, SimulatedUserMedia } from '../../../src/simulator/media/types.js';
import type { WrtcMediaFactory, WrtcUserMedia } from '../../../src/simulator/media/wrtc-peer.js';

export interface RecordedPeer {
  peer: WrtcUserMedia;
  /** The business's SDP as the user got it: the offer (business-initiated) or the answer (user-initiated). */
  sdpFromBusiness?: string;
}

export function recordingSimMedia(factory: WrtcMediaFactory): { media: SimulatedMediaFactory; peers: RecordedPeer[] } {
  const peers: RecordedPeer[] = [];
  const media: SimulatedMediaFactory = {
    mode: factory.mode,
    create(opts) {
      const peer = factory.create(opts) as WrtcUserMedia;
      const entry: RecordedPeer = { peer };
      peers.push(entry);
      const wrapped: SimulatedUserMedia = {
        answer: (sdp) => { entry.sdpFromBusiness = sdp; return peer.answer(sdp); },
        createOffer: () => peer.createOffer(),
        applyAnswer: (sdp) => { entry.sdpFromBusiness = sdp; return peer.applyAnswer(sdp); },
        startTalking: () => peer.startTalking(),
        sendDtmf: (d) => peer.sendDtmf(d),
        report: () => peer.report(),
        close: () => peer.close(),
      };
      return wrapped;
    },
  };
  return { media, peers };
}

/**
 * The user's inbound-rtp counters (libwebrtc getStats: packets, losses, concealment, decoder
 * output), printed when a listening window fails, so that a rare silence in CI says whether
 * packets arrived at all (SRTP, ICE) or arrived and were not played (decoder, jitter buffer).
 */
export async function inboundAudioStats(wa: RecordedPeer): Promise<Record<string, unknown>> {
  const all = await wa.peer.rawStats();
  const inbound = all.find((s) => s.type === 'inbound-rtp');
  const pick = ['packetsReceived', 'packetsLost', 'bytesReceived', 'concealedSamples', 'totalSamplesReceived', 'jitterBufferEmittedCount', 'ssrc', 'codecId', 'audioLevel'];
  const transport = all.find((s) => s.type === 'transport');
  return {
    ...Object.fromEntries(pick.filter((k) => inbound?.[k] !== undefined).map((k) => [k, inbound![k]])),
    ...(inbound === undefined && { inbound: 'none' }),
    ...(transport && { dtlsState: transport['dtlsState'], srtpCipher: transport['srtpCipher'] }),
  };
}
