/**
 * Loads the optional dependency @roamhq/wrtc (prebuilt libwebrtc for Node) with a dynamic
 * import(), so this module and everything importing it still load when it is not installed.
 * Only the parts watrunk's simulator uses are typed here (structurally).
 */

export interface WrtcSessionDescription { type: 'offer' | 'answer'; sdp: string }

export interface WrtcStatsReport { forEach(fn: (stat: Record<string, unknown>) => void): void }

export interface WrtcTrack { kind: string; stop(): void }

export interface WrtcSender { track: WrtcTrack | null; dtmf?: { insertDTMF(tones: string, duration?: number, gap?: number): void } | null }

export interface WrtcPeerConnection {
  readonly connectionState: string;
  readonly iceConnectionState: string;
  readonly iceGatheringState: string;
  readonly localDescription: WrtcSessionDescription | null;
  onconnectionstatechange: (() => void) | null;
  oniceconnectionstatechange: (() => void) | null;
  onicegatheringstatechange: (() => void) | null;
  ontrack: ((ev: { track: WrtcTrack }) => void) | null;
  addTrack(track: WrtcTrack, stream: unknown): WrtcSender;
  createOffer(): Promise<WrtcSessionDescription>;
  createAnswer(): Promise<WrtcSessionDescription>;
  setLocalDescription(d: WrtcSessionDescription): Promise<void>;
  setRemoteDescription(d: WrtcSessionDescription): Promise<void>;
  getStats(): Promise<WrtcStatsReport>;
  close(): void;
}

export interface WrtcAudioData {
  samples: Int16Array;
  sampleRate: number;
  bitsPerSample?: number;
  channelCount?: number;
  numberOfFrames?: number;
}

export interface WrtcAudioSource { createTrack(): WrtcTrack; onData(data: WrtcAudioData): void }

export interface WrtcAudioSink { ondata: ((data: WrtcAudioData) => void) | null; stop(): void }

export interface Wrtc {
  RTCPeerConnection: new (config?: Record<string, unknown>) => WrtcPeerConnection;
  MediaStream: new (tracks?: WrtcTrack[]) => unknown;
  nonstandard: {
    RTCAudioSource: new () => WrtcAudioSource;
    RTCAudioSink: new (track: WrtcTrack) => WrtcAudioSink;
  };
}

export type WrtcAvailability = { available: true; wrtc: Wrtc } | { available: false; reason: string };

const MODULE = '@roamhq/wrtc';
let loading: Promise<WrtcAvailability> | undefined;

async function load(): Promise<WrtcAvailability> {
  try {
    const mod = (await import(MODULE)) as { default?: unknown };
    const wrtc = (mod.default ?? mod) as Partial<Wrtc>;
    if (typeof wrtc.RTCPeerConnection !== 'function' || !wrtc.nonstandard?.RTCAudioSource || !wrtc.nonstandard.RTCAudioSink) {
      return { available: false, reason: `${MODULE} loaded but lacks RTCPeerConnection/nonstandard audio APIs` };
    }
    return { available: true, wrtc: wrtc as Wrtc };
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return { available: false, reason: `optional dependency ${MODULE} is not usable here: ${msg.split('\n')[0]}` };
  }
}

/** Whether real media (a libwebrtc peer) is available, and why not. Loads the module once. */
export function realMediaAvailability(): Promise<WrtcAvailability> {
  loading ??= load();
  return loading;
}
