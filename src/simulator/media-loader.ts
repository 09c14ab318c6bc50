import { SignallingOnlyMediaFactory } from './media/signalling-only.js';
import type { SimulatedMediaFactory } from './media/types.js';

/**
 * The simulated users' media for `media.mode` when the caller passes none (src/simulator/media/).
 * Real media is imported lazily, so signalling-only runs never load @roamhq/wrtc; when wrtc is not
 * usable the error says why.
 */
export async function loadMediaFactory(mode: SimulatedMediaFactory['mode']): Promise<SimulatedMediaFactory> {
  if (mode === 'signalling-only') return new SignallingOnlyMediaFactory();
  const { createWrtcMediaFactory } = await import('./media/wrtc-peer.js');
  try {
    return await createWrtcMediaFactory();
  } catch (err) {
    throw new Error(`media.mode "real" needs @roamhq/wrtc: ${(err as Error).message}`);
  }
}
