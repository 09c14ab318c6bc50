export type { MediaReport, SimulatedMediaFactory, SimulatedUserMedia, ToneReport } from './types.js';
export { SignallingOnlyMediaFactory, SignallingOnlyUserMedia } from './signalling-only.js';
export { realMediaAvailability, type WrtcAvailability } from './wrtc-loader.js';
export { createWrtcMediaFactory, WrtcMediaFactory, WrtcUserMedia, type WrtcMediaReport } from './wrtc-peer.js';
export { SineTone, DualTone, sineSamples } from './sine-tone.js';
export { goertzelPower, toneRatio, toneFraction, dominantFrequency } from './goertzel.js';
export { DtmfToneDetector, detectDtmfDigits, dtmfFrequencies } from './dtmf-detector.js';
export { PcmRecorder } from './pcm-recorder.js';
