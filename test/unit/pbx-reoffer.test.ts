import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { PbxReoffers, ReofferRefused } from '../../src/calls/pbx-reoffer.js';
import type { MediaSession } from '../../src/calls/ports/media-engine.js';

/** baresip's first offer: its whole codec list (SDP as baresip 1.0 writes it, trimmed). */
const FIRST_OFFER = [
  'v=0', 'o=- 197919917 342264852 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
  'm=audio 25868 RTP/AVP 0 8 9 96 101',
  'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:9 G722/8000',
  'a=rtpmap:96 opus/48000/2', 'a=fmtp:96 stereo=1;sprop-stereo=1',
  'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15', 'a=sendrecv', 'a=ssrc:2907274604 cname:sip:phone@127.0.0.1', '',
].join('\r\n');

/** The answer it got: Opus passed through, telephone-event. */
const ANSWER = [
  'v=0', 'o=- 56072 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'm=audio 17816 RTP/AVP 96 101', 'c=IN IP4 127.0.0.1',
  'a=rtpmap:96 opus/48000/2', 'a=fmtp:96 minptime=10;useinbandfec=1', 'a=rtpmap:101 telephone-event/8000', 'a=sendrecv', 'a=rtcp:17817', '',
].join('\r\n');

/** baresip's hold re-offer: only the agreed codecs, a=sendonly, next o= version. */
const version = (sdp: string, v: number) => sdp.replace(/^(o=- 197919917 )\d+/m, `$1${v}`);
const narrowed = (v: number, dir: string) =>
  version(FIRST_OFFER, v).replace('RTP/AVP 0 8 9 96 101', 'RTP/AVP 96 101').replace(/a=rtpmap:(0|8|9) \S+\r\n/g, '').replace('a=sendrecv', `a=${dir}`);

class EngineSpy {
  readonly reoffers: string[] = [];
  reofferFromPbx(sdp: string): Promise<string> {
    this.reoffers.push(sdp);
    return Promise.resolve(ANSWER.replace('o=- 56072 2', 'o=- 56072 9').replace('m=audio 17816 RTP/AVP 96 101', 'm=audio 17816 RTP/AVP 8 101').replace(/a=rtpmap:96 .*\r\na=fmtp:96 .*\r\n/, 'a=rtpmap:8 PCMA/8000\r\n'));
  }
}

function reoffers() {
  const engine = new EngineSpy();
  const r = new PbxReoffers(engine as unknown as MediaSession, pino({ level: 'silent' }), FIRST_OFFER, ANSWER);
  return { r, engine };
}

const mline = (sdp: string) => /^m=audio .*$/m.exec(sdp)?.[0].trim();
const direction = (sdp: string) => /^a=(sendrecv|sendonly|recvonly|inactive)\r?$/m.exec(sdp)?.[1];

describe('PbxReoffers: which PBX re-offers reach the media engine', () => {
  it('a hold and resume that re-offer only the agreed codecs are answered locally, the engine untouched', async () => {
    const { r, engine } = reoffers();
    const held = await r.answer(narrowed(342264853, 'sendonly'));
    expect(direction(held)).toBe('recvonly');
    expect(mline(held)).toBe('m=audio 17816 RTP/AVP 96 101');
    expect(held).toMatch(/^o=- 56072 3 /m);
    expect(r.pbxSends).toBe(true); // sendonly: music on hold keeps coming
    const resumed = await r.answer(narrowed(342264854, 'sendrecv'));
    expect(direction(resumed)).toBe('sendrecv');
    expect(resumed).toMatch(/^o=- 56072 4 /m);
    expect(engine.reoffers).toEqual([]);
  });

  it('an inactive hold is noted as the PBX not sending', async () => {
    const { r, engine } = reoffers();
    await r.answer(narrowed(342264853, 'inactive'));
    expect(r.pbxSends).toBe(false);
    await r.answer(narrowed(342264854, 'sendrecv'));
    expect(r.pbxSends).toBe(true);
    expect(engine.reoffers).toEqual([]);
  });

  it('the local answer lists only payload types the re-offer still has (RFC 3264 §6.1)', async () => {
    const { r, engine } = reoffers();
    const reordered = version(FIRST_OFFER, 342264853).replace('RTP/AVP 0 8 9 96 101', 'RTP/AVP 101 96 8');
    expect(mline(await r.answer(reordered))).toBe('m=audio 17816 RTP/AVP 96 101');
    expect(engine.reoffers).toEqual([]);
  });

  it('a re-offer without an agreed payload type (here telephone-event) goes to the media engine', async () => {
    const { r, engine } = reoffers();
    await r.answer(version(FIRST_OFFER, 342264853).replace('RTP/AVP 0 8 9 96 101', 'RTP/AVP 0 96'));
    expect(engine.reoffers).toHaveLength(1);
  });

  it('a new codec, address or port goes to the media engine and becomes the new agreement', async () => {
    const { r, engine } = reoffers();
    const pcma = version(FIRST_OFFER, 342264853).replace('RTP/AVP 0 8 9 96 101', 'RTP/AVP 8 101');
    const answer = await r.answer(pcma);
    expect(engine.reoffers).toHaveLength(1);
    expect(mline(answer)).toBe('m=audio 17816 RTP/AVP 8 101');
    // Holding on the new codec is local again.
    await r.answer(version(pcma, 342264854).replace('a=sendrecv', 'a=sendonly'));
    expect(engine.reoffers).toHaveLength(1);
    await r.answer(version(FIRST_OFFER, 342264855).replace('m=audio 25868', 'm=audio 25870'));
    await r.answer(version(FIRST_OFFER, 342264856).replace(/c=IN IP4 127\.0\.0\.1/, 'c=IN IP4 127.0.0.2'));
    expect(engine.reoffers).toHaveLength(3);
  });

  it('a c=0.0.0.0 hold is local whatever it lists; an unchanged SDP (refresh) too', async () => {
    const { r, engine } = reoffers();
    await r.answer(FIRST_OFFER);
    await r.answer(version(FIRST_OFFER, 342264853).replace('c=IN IP4 127.0.0.1', 'c=IN IP4 0.0.0.0').replace('RTP/AVP 0 8 9 96 101', 'RTP/AVP 0'));
    expect(r.pbxSends).toBe(false);
    expect(engine.reoffers).toEqual([]);
  });

  it('secure media in a re-offer is refused and nothing changes', async () => {
    const { r, engine } = reoffers();
    await expect(r.answer(version(FIRST_OFFER, 342264853).replace('RTP/AVP', 'RTP/SAVP'))).rejects.toBeInstanceOf(ReofferRefused);
    expect(engine.reoffers).toEqual([]);
  });

  it('user-initiated: the PBX answered watrunk\'s offer; its hold re-offer with its answer\'s codecs is local, and the answer drops the codec it no longer lists', async () => {
    const ourOffer = ['v=0', 'o=- 77 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 17900 RTP/AVP 0 8 101',
      'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendrecv', ''].join('\r\n');
    const pbxAnswer = ['v=0', 'o=asterisk 5 5 IN IP4 127.0.0.1', 's=Asterisk', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 12000 RTP/AVP 0 101',
      'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendrecv', ''].join('\r\n');
    const engine = new EngineSpy();
    const r = new PbxReoffers(engine as unknown as MediaSession, pino({ level: 'silent' }), pbxAnswer, ourOffer);
    const held = await r.answer(pbxAnswer.replace('o=asterisk 5 5', 'o=asterisk 5 6').replace('a=sendrecv', 'a=sendonly'));
    expect(engine.reoffers).toEqual([]);
    expect(mline(held)).toBe('m=audio 17900 RTP/AVP 0 101');
    expect(held).not.toMatch(/^a=rtpmap:8 /m);
    expect(direction(held)).toBe('recvonly');
  });
});
