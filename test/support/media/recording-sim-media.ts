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
