import type { Logger } from 'pino';
import { startBridge, type RunningBridge } from '../../src/bridge.js';
import type { PbxUacLeg, PbxDialer, PbxInviteRequest } from '../../src/calls/ports/sip.js';
import { validateConfig } from '../../src/config/load.js';
import { trunkSchema, type TrunkConfig } from '../../src/config/schema.js';
import type { CallJournal } from '../../src/journal/call-journal.js';
import { FakeMediaEngine, PBX_ANSWER } from './fakes/fake-media.js';
import { FakePbxDialer, type FakePbxUacLeg } from './fakes/fake-pbx-dialer.js';
import { freeTcpPort } from './ports.js';

/**
 * The bridge with fake SIP and media sides that WhatsApp (the simulator) cannot tell from real
 * ones: SDPs Meta would accept, and a PBX that answers every INVITE after `answerAfterMs`. Used by
 * the draining tests and, in a child process, by the crash-recovery test (bridge-child.ts).
 */

export const PNID = '105615555715855';
export const BUSINESS_NUMBER = '15551112222';
export const SECRETS = { token: 'fake-pbx-token', appSecret: 'fake-pbx-app-secret', verifyToken: 'fake-pbx-vt' };

/** What rtpengine would offer WhatsApp: fingerprint, ICE credentials, Opus. */
export const WEBRTC_OFFER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=rtpmap:111 opus/48000/2\r\n';
/** What rtpengine would answer WhatsApp's offer with: watrunk is the DTLS client. */
export const WEBRTC_ANSWER = 'v=0\r\no=- 4 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:efgh\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 CC:DD\r\na=setup:active\r\na=rtpmap:111 opus/48000/2\r\n';

/** A PBX that answers every INVITE from watrunk after a pause. */
export class AnsweringPbx implements PbxDialer {
  readonly inner = new FakePbxDialer();
  constructor(private readonly answerAfterMs = 20) {}
  get ready(): boolean { return this.inner.ready; }
  get legs(): FakePbxUacLeg[] { return this.inner.legs; }
  dial(req: PbxInviteRequest): PbxUacLeg {
    const leg = this.inner.dial(req) as FakePbxUacLeg;
    setTimeout(() => { if (!leg.cancelled) leg.answer(PBX_ANSWER); }, this.answerAfterMs);
    return leg;
  }
}

export interface FakePbxBridge {
  bridge: RunningBridge;
  media: FakeMediaEngine;
  pbx: AnsweringPbx;
  trunk: TrunkConfig;
}

export async function startFakePbxBridge(opts: {
  simUrl: string;
  /** http.port: the simulator's webhook_url points at it. */
  port: number;
  logger: Logger;
  /** More top-level config keys (shutdown, calls, ...). */
  config?: Record<string, unknown>;
  journal?: CallJournal;
}): Promise<FakePbxBridge> {
  const media = new FakeMediaEngine();
  media.configure = (s) => {
    s.offerToWhatsApp = async () => WEBRTC_OFFER;
    s.answerFromPbx = async () => WEBRTC_ANSWER;
  };
  const pbx = new AnsweringPbx();
  const config = validateConfig({
    http: { host: '127.0.0.1', port: opts.port },
    internal_http: { host: '127.0.0.1', port: await freeTcpPort() },
    numbers: [{
      name: 'demo', phone_number_id: PNID, display_number: BUSINESS_NUMBER, access_token_env: 'T', base_url: opts.simUrl,
      inbound: { target: 'sip:{to}@127.0.0.1:5080' },
    }],
    // Fake media has no packet counters: no dead-peer watch.
    calls: { pbx_media_timeout_s: 0, whatsapp_media_timeout_s: 0, media_poll_ms: 20, overload: { max_event_loop_lag_ms: 0 } },
    ...opts.config,
  });
  const bridge = await startBridge({
    file: 'test', config,
    secrets: { verifyToken: SECRETS.verifyToken, appSecret: SECRETS.appSecret, accessTokens: new Map([['demo', SECRETS.token]]), trunkPasswords: new Map() },
  }, { logger: opts.logger, media, dialer: pbx, ...(opts.journal ? { journal: opts.journal } : {}) });
  return { bridge, media, pbx, trunk: trunkSchema.parse({ name: 'pbx', sources: ['127.0.0.1'], numbers: ['demo'] }) };
}
