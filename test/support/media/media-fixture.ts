/**
 * Shared set-up for the media tests: a private rtpengine, the RtpengineMedia adapter pointed at
 * it, the real-media (wrtc) factory, and a skip reason when either is missing.
 */
import { RtpengineMedia, type RtpengineConfig } from '../../../src/adapters/rtpengine/index.js';
import { realMediaAvailability } from '../../../src/simulator/media/wrtc-loader.js';
import { createWrtcMediaFactory, type WrtcMediaFactory } from '../../../src/simulator/media/wrtc-peer.js';
import { rtpengineSkipReason, startRtpengine, type RtpengineInstance, type StartOptions } from './rtpengine-process.js';
import { PcmRecorder, toneFraction } from './tone.js';
import { waitFor } from './wait.js';

/** Why real-media tests cannot run here (rtpengine or wrtc missing), or undefined. */
export async function realMediaSkipReason(): Promise<string | undefined> {
  const r = rtpengineSkipReason();
  if (r) return r;
  const w = await realMediaAvailability();
  return w.available ? undefined : w.reason;
}

export interface MediaFixture {
  rtpengine: RtpengineInstance;
  media: RtpengineMedia;
  stop(): Promise<void>;
}

export async function startMediaFixture(
  config: Partial<RtpengineConfig> = {}, rtpengineOptions: StartOptions = {},
): Promise<MediaFixture> {
  const rtpengine = await startRtpengine(rtpengineOptions);
  const media = new RtpengineMedia({ engines: [{ host: rtpengine.host, port: rtpengine.ngPort }], timeoutMs: 3_000, ...config });
  await waitFor('rtpengine ping', () => media.ping(), { timeoutMs: 5_000, intervalMs: 100 });
  return {
    rtpengine,
    media,
    async stop() {
      await media.shutdown();
      await rtpengine.stop();
    },
  };
}

export function wrtcFactory(): Promise<WrtcMediaFactory> {
  return createWrtcMediaFactory({ maxDurationMs: 60_000 });
}

/** Tone fraction of what a recorder got since `mark`, skipping the first `skipMs`. */
export function fractionSince(rec: PcmRecorder, mark: number, hz: number, skipMs = 0): number {
  return toneFraction(rec.since(mark + Math.round((skipMs * rec.sampleRate) / 1000)), rec.sampleRate, hz);
}
