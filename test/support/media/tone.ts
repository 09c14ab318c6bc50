/**
 * Tone tools for the media tests. The implementations live in src/simulator/media (the simulated
 * WhatsApp user needs them too); this module re-exports them so there is one copy.
 */
export { SineTone, DualTone, sineSamples } from '../../../src/simulator/media/sine-tone.js';
export { goertzelPower, toneRatio, toneFraction, dominantFrequency, frameEnergy } from '../../../src/simulator/media/goertzel.js';
export { detectDtmfDigits, dtmfFrequencies, DtmfToneDetector } from '../../../src/simulator/media/dtmf-detector.js';
export { PcmRecorder } from '../../../src/simulator/media/pcm-recorder.js';
