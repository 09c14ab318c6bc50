/**
 * One benchmarked call: a business-initiated call as watrunk sets it up on the bridge engine, with
 * a second rtpengine (the peer engine) playing WhatsApp's side.
 *
 *   PBX leg socket ──RTP/AVP PCMU──▶ bridge engine ──DTLS-SRTP/ICE Opus──▶ peer engine ──RTP/AVP Opus──▶ WA leg socket
 *                  ◀───────────────               ◀──────────────────────             ◀──────────────
 *
 * Bridge engine: the production code path, RtpengineMedia/RtpengineSession with the default flag
 * sets (src/adapters/rtpengine/flag-sets.ts): `offerToWhatsApp(pbxOffer)` (bicOfferToWhatsApp, or
 * bicOfferToWhatsAppOpusPassthrough when the PBX offers Opus), then `answerFromWhatsApp(answer)`
 * (bicAnswerToPbx), and `close()` (ng `delete`). Its SDP toward "WhatsApp" goes through the same
 * fix-ups (Opus + telephone-event/8000 only, no stream identity; docs/media.md#flag-sets).
 *
 * Peer engine: takes the bridge's WebRTC offer and offers plain RTP/AVP to the WA leg socket with no
 * codec options, so Opus passes through untouched (only ICE, DTLS and SRTP are terminated); the WA
 * leg's plain answer becomes a WebRTC answer with `a=setup:active`, as Meta's answers are
 * (docs/media.md#dtls-roles). ng options: https://rtpengine.readthedocs.io/en/latest/ng_control_protocol.html
 */
import { randomBytes } from 'node:crypto';
import type { RtpengineMedia } from '../../src/adapters/rtpengine/rtpengine-media.js';
import type { RtpengineSession } from '../../src/adapters/rtpengine/rtpengine-session.js';
import type { EngineAddress, NgClient, NgParams } from '../../src/adapters/rtpengine/ng-client.js';
import { buildPlainOffer, parseRemoteMedia, type RemoteMedia } from '../../test/support/media/plain-sdp.js';
import type { Generator, Leg } from './generator.js';

const REPLACE = ['origin', 'session-connection'];

/** Peer engine `offer`: the bridge's WebRTC offer becomes a plain RTP/AVP offer for the WA leg socket. */
const PEER_OFFER_TO_SINK: NgParams = {
  ICE: 'remove', DTLS: 'off', SDES: ['off'], 'transport-protocol': 'RTP/AVP', 'rtcp-mux': ['demux'], replace: REPLACE,
};

/** Peer engine `answer`: the WA leg's plain answer becomes a WebRTC answer; DTLS client like Meta. */
const PEER_ANSWER_TO_BRIDGE: NgParams = {
  ICE: 'force', 'transport-protocol': 'UDP/TLS/RTP/SAVPF', 'rtcp-mux': ['require'], SDES: ['off'], DTLS: 'active', replace: REPLACE,
};

export type Mode = 'transcoded' | 'passthrough';

export interface Frames {
  /** What the PBX leg sends: PCMU (transcoded run) or Opus (passthrough run). */
  pbx: Buffer[];
  /** What the WhatsApp side sends: Opus. */
  wa: Buffer[];
}

export interface BenchCall {
  index: number;
  id: string;
  pbx: Leg;
  wa: Leg;
  session: RtpengineSession;
  peerCallId: string;
  peerFromTag: string;
  /** Codec the PBX leg sends and receives ('pcmu' or 'opus'), as the bridge's answer says. */
  pbxCodec: 'pcmu' | 'opus';
  /** performance.now() before the first ng command. */
  startedAt: number;
  /** ms from the first ng command to the bridge's answer for the PBX. */
  setupMs: number;
}

/** ms from the first ng command until audio had arrived both ways (ICE and DTLS between the engines included). */
export function mediaBothWaysMs(c: BenchCall): number | undefined {
  const a = c.pbx.recv?.firstAt;
  const b = c.wa.recv?.firstAt;
  return a === undefined || b === undefined ? undefined : Math.max(a, b) - c.startedAt;
}

export interface CallFactoryDeps {
  bridge: RtpengineMedia;
  peerClient: NgClient;
  peer: EngineAddress;
  generator: Generator;
  frames: Frames;
  mode: Mode;
}

/** Sets up call `index`: four ng commands (two per engine), then starts both streams. */
export async function startCall(index: number, d: CallFactoryDeps): Promise<BenchCall> {
  const t0 = performance.now();
  const id = `bench-media-${randomBytes(6).toString('hex')}-${index}`;
  const [pbx, wa] = [await d.generator.newLeg(), await d.generator.newLeg()];
  const session = d.bridge.createSession(id);
  const peerCallId = `peer-${id}`;
  const peerFromTag = randomBytes(8).toString('hex');
  const sinkTag = randomBytes(8).toString('hex');
  try {
    const pbxOffer = buildPlainOffer({ address: '127.0.0.1', port: pbx.port, codecs: d.mode === 'transcoded' ? ['PCMU', 'PCMA'] : ['opus'] });
    const waOffer = await session.offerToWhatsApp(pbxOffer);

    const peerOffer = await d.peerClient.send(d.peer, 'offer', { ...PEER_OFFER_TO_SINK, 'call-id': peerCallId, 'from-tag': peerFromTag, sdp: waOffer });
    const sinkSide = parseRemoteMedia(String(peerOffer.sdp));
    const sinkOpus = findPayload(sinkSide, 'opus', 48000, 'peer engine offer to the WA leg');
    const sinkTe = sinkSide.payloads.find((p) => p.name.toLowerCase() === 'telephone-event' && p.clockRate === 8000);
    wa.expect({ payloadType: sinkOpus.pt, clockRate: 48000 });
    const sinkAnswer = plainOpusAnswer(wa.port, sinkOpus.pt, sinkTe?.pt);
    const peerAnswer = await d.peerClient.send(d.peer, 'answer', {
      ...PEER_ANSWER_TO_BRIDGE, 'call-id': peerCallId, 'from-tag': peerFromTag, 'to-tag': sinkTag, sdp: sinkAnswer,
    });

    const pbxAnswer = parseRemoteMedia(await session.answerFromWhatsApp(String(peerAnswer.sdp)));
    const pbxCodec = d.mode === 'transcoded' ? 'pcmu' : 'opus';
    const pbxPayload = d.mode === 'transcoded'
      ? findPayload(pbxAnswer, 'PCMU', 8000, "bridge engine's answer to the PBX")
      : findPayload(pbxAnswer, 'opus', 48000, "bridge engine's answer to the PBX");
    pbx.expect({ payloadType: pbxPayload.pt, clockRate: pbxPayload.clockRate });
    const setupMs = performance.now() - t0;

    await pbx.startSending({
      address: pbxAnswer.address, port: pbxAnswer.port, payloadType: pbxPayload.pt, clockRate: pbxPayload.clockRate, frames: d.frames.pbx,
    }, d.generator.nextPhaseMs());
    await wa.startSending({
      address: sinkSide.address, port: sinkSide.port, payloadType: sinkOpus.pt, clockRate: 48000, frames: d.frames.wa,
    }, d.generator.nextPhaseMs());
    return { index, id, pbx, wa, session, peerCallId, peerFromTag, pbxCodec, startedAt: t0, setupMs };
  } catch (err) {
    await session.close();
    await d.peerClient.send(d.peer, 'delete', { 'call-id': peerCallId, 'from-tag': peerFromTag, 'delete delay': 0 }).catch(() => undefined);
    await d.generator.closeLegs([pbx, wa]);
    throw err;
  }
}

/** Stops both streams, deletes the call on both engines (delete delay 0) and closes its sockets. Never throws. */
export async function endCall(c: BenchCall, d: Pick<CallFactoryDeps, 'peerClient' | 'peer' | 'generator'>): Promise<void> {
  c.pbx.stopSending();
  c.wa.stopSending();
  await c.session.close();
  await d.peerClient.send(d.peer, 'delete', { 'call-id': c.peerCallId, 'from-tag': c.peerFromTag, 'delete delay': 0 }).catch(() => undefined);
  await d.generator.closeLegs([c.pbx, c.wa]);
}

/** The WA leg's answer: Opus (Graph samples' fmtp, docs/whatsapp-calling.md#sdp-rules) and telephone-event/8000. */
function plainOpusAnswer(port: number, opusPt: number, tePt: number | undefined): string {
  const pts = [opusPt, ...(tePt !== undefined ? [tePt] : [])];
  return [
    'v=0', `o=- ${Math.floor(Math.random() * 1e9)} 1 IN IP4 127.0.0.1`, 's=watrunk-bench-whatsapp', 'c=IN IP4 127.0.0.1', 't=0 0',
    `m=audio ${port} RTP/AVP ${pts.join(' ')}`,
    `a=rtpmap:${opusPt} opus/48000/2`, `a=fmtp:${opusPt} minptime=10;useinbandfec=1`,
    ...(tePt !== undefined ? [`a=rtpmap:${tePt} telephone-event/8000`, `a=fmtp:${tePt} 0-15`] : []),
    'a=ptime:20', 'a=sendrecv', '',
  ].join('\r\n');
}

function findPayload(m: RemoteMedia, name: string, clockRate: number, where: string): { pt: number; clockRate: number } {
  const p = m.payloads.find((x) => x.name.toLowerCase() === name.toLowerCase() && x.clockRate === clockRate);
  if (!p) throw new Error(`${where} has no ${name}/${clockRate} (offered: ${m.payloads.map((x) => `${x.name}/${x.clockRate}`).join(', ')})`);
  return { pt: p.pt, clockRate: p.clockRate };
}
