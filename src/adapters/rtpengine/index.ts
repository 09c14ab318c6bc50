export { RtpengineMedia, type RtpengineConfig } from './rtpengine-media.js';
export { SessionClosedError } from './rtpengine-session.js';
export { NgClient, NgError } from './ng-client.js';
export { DEFAULT_FLAG_SETS, type FlagSets } from './flag-sets.js';
