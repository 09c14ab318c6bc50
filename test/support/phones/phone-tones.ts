/**
 * Tone checks between a real softphone and the simulator's WhatsApp user, shared by the e2e phone
 * tests. The start of audio after an answer varies, so the user's side is measured over 1.5 s
 * windows one after another until one passes 0.8 or 8 s are over.
 */
import { inboundAudioStats, type RecordedPeer } from '../media/recording-sim-media.js';
import { sleep, waitFor } from '../media/wait.js';
import { toneReport } from './audio.js';
import type { SoftPhone } from './softphone.js';

/** Fraction of the last window's frames in which the WhatsApp user heard `phoneHz`. */
export async function userHearsPhone(peer: RecordedPeer, phoneHz: number): Promise<number> {
  await sleep(700);
  let heard = 0;
  for (const until = Date.now() + 8_000; heard <= 0.8 && Date.now() < until;) {
    const mark = peer.peer.audioMark();
    await sleep(1_500);
    heard = peer.peer.toneFractionSince(mark, phoneHz);
    if (heard <= 0.8) {
      // What the user did hear instead: packets arriving and decoded but no tone means the phone sent
      // something else (another codec than announced, its own silence), not a transport failure.
      const rep = peer.peer.report();
      console.log(`[phone-tones] window failed: the user heard ${heard.toFixed(2)} of ${phoneHz} Hz; rms ${peer.peer.rmsSince(mark).toFixed(0)}, dominant ${rep.dominantFrequencyHz ?? '-'} Hz, sink rates ${rep.sinkRates.join('/')}; user receiver ${JSON.stringify(await inboundAudioStats(peer))}`);
    }
  }
  return heard;
}

/** The phone's tone at the WhatsApp user, and the user's tone in the last 1.5 s of the phone's recording. */
export async function hearsBothWays(p: SoftPhone, peer: RecordedPeer, tones: { phoneHz: number; userHz: number }) {
  const atUser = await userHearsPhone(peer, tones.phoneHz);
  const audio = await waitFor(`phone recorded 1.8 s (the user heard the phone's tone in ${atUser.toFixed(2)} of frames)`, async () => {
    const a = await p.receivedAudio();
    return a.samples.length >= 1.8 * a.sampleRate ? a : undefined;
  }, { timeoutMs: 10_000, intervalMs: 100 });
  // The recording holds decoded frames only; judge its last 1.5 s.
  const skipMs = Math.max(300, (audio.samples.length / audio.sampleRate - 1.5) * 1_000);
  return { atUser, atPhone: toneReport(audio, tones.userHz, { skipMs }).fraction };
}
