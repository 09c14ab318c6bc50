/**
 * SIP-mode media calls for the media tier: a plain-RTP PBX endpoint ⇄ watrunk's RtpengineSession
 * (created with the WhatsApp media profile of the number) ⇄ the simulator's SIP-edge relay
 * (SipEdgeMediaRelay, its own rtpengine, standing in for Meta's wa.meta.vc) ⇄ a libwebrtc user.
 * No SIP signalling: the SDP is handed along as the SIP legs would carry it. Every SDP on the way
 * is kept for the shape assertions (docs/media.md#sdes).
 */
import type { RtpengineMedia } from '../../../src/adapters/rtpengine/index.js';
import type { RtpengineSession } from '../../../src/adapters/rtpengine/rtpengine-session.js';
import type { NgClient } from '../../../src/adapters/rtpengine/ng-client.js';
import { audioPayloads } from '../../../src/adapters/rtpengine/sdp-codecs.js';
import { SipEdgeMediaRelay, type SipEdgeMediaProfile } from '../../../src/simulator/media/sip-edge-relay.js';
import type { WrtcMediaFactory, WrtcUserMedia } from '../../../src/simulator/media/wrtc-peer.js';
import { fractionSince } from './media-fixture.js';
import type { PlainCodec } from './plain-sdp.js';
import { RtpEndpoint } from './rtp-endpoint.js';
import type { RtpengineInstance } from './rtpengine-process.js';
import { sleep, waitFor } from './wait.js';

/** The user plays this; the PBX endpoint plays PBX_HZ. */
export const USER_HZ = 440;
export const PBX_HZ = 1000;

export interface EdgeCallOptions {
  /** Meta's SIP media for the number: 'sdes' → watrunk's 'sdes' profile; 'dtls' → 'webrtc'. */
  profile: SipEdgeMediaProfile;
  /** The PBX's codec (offered alone in business-initiated calls, the one accepted in user-initiated ones). */
  pbxCodec: PlainCodec;
  sdesRtcpMux?: boolean;
  dtlsAnswerSetup?: 'active' | 'passive';
}

export interface EdgeCallSdp {
  /** watrunk → Meta: the business-initiated offer or the user-initiated answer. */
  towardMeta: string;
  /** Meta → watrunk: the edge's answer or offer. */
  fromMeta: string;
  /** watrunk → PBX: the answer (business-initiated) or the offer (user-initiated). */
  towardPbx: string;
  /** edge → user (WebRTC). */
  towardUser: string;
}

export interface EdgeCall {
  pbx: RtpEndpoint;
  session: RtpengineSession;
  relay: SipEdgeMediaRelay;
  user: WrtcUserMedia;
  sdp: EdgeCallSdp;
  /** ms from the user applying the last SDP to its ICE+DTLS being connected. */
  connectMs: number;
  close(): Promise<void>;
}

export interface EdgeDeps {
  media: RtpengineMedia;
  edge: RtpengineInstance;
  client: NgClient;
  factory: WrtcMediaFactory;
}

let seq = 0;

function parts(deps: EdgeDeps, o: EdgeCallOptions, kind: string) {
  const id = `${kind}-${o.profile}-${o.pbxCodec}-${Date.now()}-${seq++}`;
  const session = deps.media.createSession(`wt-${id}`, { whatsappMedia: o.profile === 'sdes' ? 'sdes' : 'webrtc' });
  const relay = new SipEdgeMediaRelay({
    client: deps.client, engine: { host: deps.edge.host, port: deps.edge.ngPort }, callId: `edge-${id}`, profile: o.profile,
    ...(o.sdesRtcpMux !== undefined ? { sdesRtcpMux: o.sdesRtcpMux } : {}),
    ...(o.dtlsAnswerSetup !== undefined ? { dtlsAnswerSetup: o.dtlsAnswerSetup } : {}),
  });
  const user = deps.factory.create({ toneHz: USER_HZ, listenHz: [PBX_HZ] });
  return { session, relay, user };
}

function closer(pbx: RtpEndpoint, session: RtpengineSession, relay: SipEdgeMediaRelay, user: WrtcUserMedia) {
  return async () => {
    await user.close();
    await Promise.all([session.close(), relay.close()]);
    await pbx.close();
  };
}

/**
 * Business-initiated: the PBX offers `pbxCodec`, watrunk offers to Meta, the edge offers to the
 * user, who answers; the answers travel back. The PBX starts its tone once it has the answer; the
 * user stays silent (no RTP at all) until the caller calls `user.startTalking()`.
 */
export async function placeBicThroughEdge(deps: EdgeDeps, o: EdgeCallOptions): Promise<EdgeCall> {
  const pbx = await RtpEndpoint.create();
  const { session, relay, user } = parts(deps, o, 'bic');
  const close = closer(pbx, session, relay, user);
  try {
    const towardMeta = await session.offerToWhatsApp(pbx.offer([o.pbxCodec]));
    const towardUser = await relay.offerFromBusiness(towardMeta);
    const answeredAt = Date.now();
    const fromMeta = await relay.answerFromUser(await user.answer(towardUser));
    const towardPbx = await session.answerFromWhatsApp(fromMeta);
    pbx.applyAnswer(towardPbx);
    pbx.startTone(PBX_HZ);
    await waitFor('user ICE+DTLS connected', () => user.connectionState === 'connected', { timeoutMs: 10_000, intervalMs: 5 });
    return { pbx, session, relay, user, sdp: { towardMeta, fromMeta, towardPbx, towardUser }, connectMs: Date.now() - answeredAt, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * User-initiated: the user offers (Opus 111, telephone-event/8000 126), the edge offers to
 * watrunk, watrunk offers to the PBX, which answers with `pbxCodec`; the answers travel back.
 * As in placeBicThroughEdge the user is silent until `user.startTalking()`.
 */
export async function placeUicThroughEdge(deps: EdgeDeps, o: EdgeCallOptions): Promise<EdgeCall> {
  const pbx = await RtpEndpoint.create();
  const { session, relay, user } = parts(deps, o, 'uic');
  const close = closer(pbx, session, relay, user);
  try {
    const fromMeta = await relay.offerToBusiness(await user.createOffer());
    const towardPbx = await session.offerToPbx(fromMeta);
    const towardMeta = await session.answerFromPbx(pbx.answer(towardPbx, [o.pbxCodec]));
    const towardUser = await relay.answerFromBusiness(towardMeta);
    pbx.startTone(PBX_HZ);
    const appliedAt = Date.now();
    await user.applyAnswer(towardUser);
    await waitFor('user ICE+DTLS connected', () => user.connectionState === 'connected', { timeoutMs: 10_000, intervalMs: 5 });
    return { pbx, session, relay, user, sdp: { towardMeta, fromMeta, towardPbx, towardUser }, connectMs: Date.now() - appliedAt, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Both rtpengine calls in a few lines, for a failed window: per participant (watrunk's PBX/WhatsApp
 * tags, the edge's business/user tags) and stream, the local port, the learned endpoint, packets
 * and errors received, SSRC and flags.
 */
export async function describeEdgeCall(deps: Pick<EdgeDeps, 'client' | 'edge'>, call: EdgeCall): Promise<string> {
  const names: Record<string, string> = {
    [call.session.pbxTag]: 'watrunk/pbx', [call.session.whatsappTag]: 'watrunk/meta',
    [call.relay.businessTag]: 'edge/business', [call.relay.userTag]: 'edge/user',
  };
  const out: string[] = [];
  const targets: [string, { host: string; port: number } | undefined][] = [
    [call.session.id, call.session.engine], [call.relay.callId, { host: deps.edge.host, port: deps.edge.ngPort }],
  ];
  for (const [callId, engine] of targets) {
    if (!engine) continue;
    try {
      const r = await deps.client.send(engine, 'query', { 'call-id': callId });
      for (const [tag, t] of Object.entries((r.tags ?? {}) as Record<string, { medias?: { protocol?: string; streams?: Record<string, unknown>[] }[] }>)) {
        for (const m of t.medias ?? []) {
          for (const st of m.streams ?? []) {
            const ep = st.endpoint as { address?: string; port?: number } | undefined;
            const stats = st.stats as { packets?: number; errors?: number } | undefined;
            out.push(`${names[tag] ?? tag} ${m.protocol} :${String(st['local port'])} <- ${ep?.address}:${ep?.port} packets=${stats?.packets} errors=${stats?.errors} `
              + `ssrc=${String(st.SSRC ?? '-')} flags=${((st.flags as string[] | undefined) ?? []).join(',')}`);
          }
        }
      }
    } catch (err) {
      out.push(`${callId}: ${(err as Error).message}`);
    }
  }
  return out.join('\n');
}

export interface Heard {
  atUser: number;
  atPbx: number;
  windows: number;
}

/**
 * Tone fractions in windows of `ms`, one after another, after `settleMs`, until the wanted
 * directions pass 0.8 or `timeoutMs` is over (audio can start late on a loaded machine: a DTLS
 * retransmission costs a second). `atPbx: false` checks only the user side (the user is silent).
 * Returns the last window's fractions for the caller to assert.
 */
export async function hearsThroughEdge(
  call: Pick<EdgeCall, 'pbx' | 'user'>,
  { settleMs = 600, ms = 1_500, timeoutMs = 8_000, atPbx = true, describe }: {
    settleMs?: number; ms?: number; timeoutMs?: number; atPbx?: boolean;
    /** Says what the engines saw, printed when the last window fails. */
    describe?: () => Promise<string>;
  } = {},
): Promise<Heard> {
  await sleep(settleMs);
  const deadline = Date.now() + timeoutMs;
  for (let windows = 1; ; windows++) {
    const userMark = call.user.audioMark();
    const pbxMark = call.pbx.recorder.position;
    await sleep(ms);
    const heard = { atUser: call.user.toneFractionSince(userMark, PBX_HZ), atPbx: fractionSince(call.pbx.recorder, pbxMark, USER_HZ), windows };
    if (heard.atUser > 0.8 && (!atPbx || heard.atPbx > 0.8)) return heard;
    console.log(`[sip-edge-media] window ${windows} failed ${JSON.stringify(heard)}`);
    if (Date.now() + ms > deadline) {
      if (describe) console.log(`[sip-edge-media] engines:\n${await describe()}`);
      return heard;
    }
  }
}

/** The audio m-line's transport profile. */
export function transportOf(sdp: string): string | undefined {
  return /^m=audio \d+ (\S+)/m.exec(sdp)?.[1];
}

/** `codec/rate` of every payload type on the audio m-line, in order. */
export function codecsOf(sdp: string): string[] {
  return audioPayloads(sdp).map((p) => `${p.codec.toLowerCase()}/${p.rate}${p.encoding ? `/${p.encoding}` : ''}`);
}

/** Lines of `sdp` whose attribute name is one of `names` (`a=<name>:…` or `a=<name>`). */
export function attrLines(sdp: string, ...names: string[]): string[] {
  const re = new RegExp(`^a=(${names.join('|')})(:|$)`);
  return sdp.split(/\r?\n/).filter((l) => re.test(l));
}

/** Distinct SSRCs announced with a=ssrc. */
export function announcedSsrcs(sdp: string): string[] {
  return [...new Set(attrLines(sdp, 'ssrc').map((l) => /^a=ssrc:(\d+)/.exec(l)?.[1]).filter((x): x is string => x !== undefined))];
}
