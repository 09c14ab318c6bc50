import { parse } from 'sdp-transform';
import { describe, expect, it } from 'vitest';
import { readRemote, SignallingOnlyUserMedia } from '../../src/simulator/media/signalling-only.js';
import { buildWebrtcSdp, randomWebrtcIdentity } from '../../src/simulator/media/webrtc-sdp-shapes.js';

/** The same facts read with a full SDP parser, as the simulator did before its line scan. */
function withParser(sdp: string) {
  const s = parse(sdp);
  const m = s.media.find((x) => x.type === 'audio')!;
  const rtp = m.rtp ?? [];
  return {
    opusPt: rtp.find((r) => r.codec.toLowerCase() === 'opus' && r.rate === 48000)?.payload,
    telephoneEventPt: rtp.find((r) => r.codec.toLowerCase() === 'telephone-event' && r.rate === 8000)?.payload,
    mid: m.mid !== undefined ? String(m.mid) : undefined,
    setup: m.setup ?? s.setup,
    fingerprint: Boolean(m.fingerprint ?? s.fingerprint),
    ice: Boolean((m.iceUfrag ?? s.iceUfrag) && (m.icePwd ?? s.icePwd)),
  };
}

// rtpengine 10.5's business-initiated offer toward WhatsApp (ICE, DTLS, PCMU + Opus + two telephone-events).
const RTPENGINE_OFFER = [
  'v=0', 'o=pbx 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
  'm=audio 15800 UDP/TLS/RTP/SAVPF 0 96 97 101', 'a=mid:1', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:96 opus/48000/2',
  'a=rtpmap:97 telephone-event/48000', 'a=fmtp:97 0-15', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16',
  'a=sendrecv', 'a=rtcp:15800', 'a=rtcp-mux', 'a=setup:actpass',
  'a=fingerprint:sha-256 54:6D:C6:9C:94:28:89:E5:C8:2F:99:17:C6:4C:F9:4B:37:09:35:89:03:AC:E0:3A:C9:35:B1:D5:D9:CA:B7:41',
  'a=ice-ufrag:nXf0KEiE', 'a=ice-pwd:ah11HsM9aiBIFri9WNBADs5NfI', 'a=candidate:xShHlz3wOUezp8dO 1 UDP 2130706431 127.0.0.1 15800 typ host', '',
].join('\r\n');

// Session-level DTLS/ICE, a video section first, LF line ends, an audio section without Opus.
const SESSION_LEVEL = [
  'v=0', 'o=- 2 2 IN IP4 10.0.0.1', 's=-', 't=0 0', 'a=setup:active', 'a=fingerprint:sha-256 AA:BB',
  'a=ice-ufrag:abcd', 'a=ice-pwd:0123456789012345678901',
  'm=video 9 UDP/TLS/RTP/SAVPF 100', 'a=mid:v', 'a=rtpmap:100 VP8/90000', 'a=setup:passive',
  'm=audio 5000 RTP/AVP 8 126', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:126 telephone-event/8000',
  'm=audio 5002 RTP/AVP 111', 'a=rtpmap:111 opus/48000/2', '',
].join('\n');

const NO_DTLS = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0', 'm=audio 4000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');

describe('simulator: reading the business SDP without a full parser', () => {
  it.each([
    ['rtpengine offer', RTPENGINE_OFFER],
    ['session-level attributes, video first, LF only', SESSION_LEVEL],
    ['no DTLS/ICE', NO_DTLS],
    ['our own WebRTC SDP', buildWebrtcSdp({ setup: 'actpass', address: '127.0.0.1', port: 9, mid: 'audio', opusPt: 111, telephoneEventPt: 126, iceLite: true })],
  ])('reads what sdp-transform reads: %s', (_name, sdp) => {
    expect(readRemote(sdp)).toEqual(withParser(sdp));
  });

  it('refuses an SDP without an audio m-line', () => {
    expect(() => readRemote('v=0\r\ns=-\r\nt=0 0\r\nm=video 9 RTP/AVP 100\r\n')).toThrow(/no audio m-line/);
  });

  it('answers rtpengine\'s offer with its Opus payload type and mid, and refuses an offer without a fingerprint', async () => {
    const user = new SignallingOnlyUserMedia([], 9);
    const answer = parse(await user.answer(RTPENGINE_OFFER));
    expect(answer.media[0]!.rtp.map((r) => `${r.payload} ${r.codec}`)).toEqual(['96 opus', '101 telephone-event']);
    expect(String(answer.media[0]!.mid)).toBe('1');
    expect(answer.media[0]!.setup).toBe('active');
    await expect(user.answer(RTPENGINE_OFFER.replace(/a=fingerprint:.*\r\n/, ''))).rejects.toThrow('No fingerprint found in SDP');
  });

  it('makes a fresh, well-formed identity per call', () => {
    const a = randomWebrtcIdentity();
    const b = randomWebrtcIdentity();
    expect(a.ufrag).toMatch(/^[A-Za-z0-9+/]{16}$/);
    expect(a.pwd).toMatch(/^[A-Za-z0-9+/]{24}$/);
    expect(a.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(a.cname).toMatch(/^[A-Za-z0-9x]{16}$/);
    expect(a.ssrc).toBeGreaterThan(0);
    expect(a.ssrc).toBeLessThan(2 ** 32);
    expect(Number(a.sessionId)).toBeGreaterThan(0);
    expect(b.ufrag).not.toBe(a.ufrag);
    expect(b.fingerprint).not.toBe(a.fingerprint);
  });
});
