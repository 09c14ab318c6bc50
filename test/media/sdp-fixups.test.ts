/** Pure SDP post-processing used toward WhatsApp and by the simulated user (no processes needed). */
import { describe, expect, it } from 'vitest';
import { keepOpusAndTelephoneEvent8000, restoreTelephoneEvent } from '../../src/adapters/rtpengine/telephone-event.js';
import { audioPayloads, offersOpus } from '../../src/adapters/rtpengine/sdp-codecs.js';
import { keepLoopbackCandidates } from '../../src/simulator/media/loopback-candidates.js';
import { onlyOpusAndTelephoneEvent8000 } from '../../src/simulator/media/wrtc-peer.js';

const crlf = (lines: string[]): string => [...lines, ''].join('\r\n');

/** Shape of rtpengine 10.5's unmasked BIC offer (see flag-sets.ts). */
const RTPENGINE_BIC_OFFER = crlf([
  'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0',
  'm=audio 30000 UDP/TLS/RTP/SAVPF 0 8 96 97 101',
  'c=IN IP4 127.0.0.1',
  'a=mid:1',
  'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:96 opus/48000/2',
  'a=rtpmap:97 telephone-event/48000', 'a=fmtp:97 0-15', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16',
  'a=sendrecv', 'a=rtcp-mux', 'a=setup:actpass', 'a=fingerprint:sha-256 AA:BB', 'a=ptime:20',
  'a=ice-ufrag:abcd', 'a=ice-pwd:0123456789012345678901',
  'a=candidate:x 1 UDP 2130706431 127.0.0.1 30000 typ host',
]);

const META_UIC_OFFER = crlf([
  'v=0', 'o=- 2 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=ice-lite',
  'm=audio 40012 UDP/TLS/RTP/SAVPF 111 126', 'c=IN IP4 31.13.65.60',
  'a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=1', 'a=rtpmap:126 telephone-event/8000',
]);

const RTPENGINE_UIC_ANSWER = crlf([
  'v=0', 'o=- 3 1 IN IP4 127.0.0.1', 's=-', 't=0 0',
  'm=audio 30010 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 127.0.0.1', 'a=mid:audio',
  'a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=1', 'a=sendrecv', 'a=rtcp-mux', 'a=setup:active',
]);

describe('keepOpusAndTelephoneEvent8000', () => {
  it('leaves only Opus and telephone-event/8000 in the audio m-line, other lines untouched', () => {
    const out = keepOpusAndTelephoneEvent8000(RTPENGINE_BIC_OFFER);
    expect(out).toMatch(/^m=audio 30000 UDP\/TLS\/RTP\/SAVPF 96 101\r$/m);
    expect(audioPayloads(out).map((p) => `${p.pt} ${p.codec}/${p.rate}`)).toEqual(['96 opus/48000', '101 telephone-event/8000']);
    expect(out).not.toMatch(/^a=(rtpmap|fmtp):(0|8|97) /m);
    for (const keep of ['a=fingerprint:sha-256 AA:BB', 'a=setup:actpass', 'a=rtcp-mux', 'a=fmtp:101 0-16', 'a=candidate:x 1 UDP']) {
      expect(out).toContain(keep);
    }
    expect(out.endsWith('\r\n')).toBe(true);
  });

  it('never relabels a telephone-event at another rate, and leaves SDP without Opus alone', () => {
    const only48k = RTPENGINE_BIC_OFFER.replace('a=rtpmap:101 telephone-event/8000', 'a=rtpmap:101 CN/8000');
    expect(audioPayloads(keepOpusAndTelephoneEvent8000(only48k)).map((p) => p.codec)).toEqual(['opus']);
    const noOpus = RTPENGINE_BIC_OFFER.replace('a=rtpmap:96 opus/48000/2', 'a=rtpmap:96 G7221/16000');
    expect(keepOpusAndTelephoneEvent8000(noOpus)).toBe(noOpus);
  });
});

describe('restoreTelephoneEvent', () => {
  it("adds WhatsApp's own telephone-event/8000 payload type to an answer that lost it", () => {
    const out = restoreTelephoneEvent(RTPENGINE_UIC_ANSWER, META_UIC_OFFER);
    expect(out).toMatch(/^m=audio 30010 UDP\/TLS\/RTP\/SAVPF 111 126\r$/m);
    expect(out).toMatch(/^a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:126 telephone-event\/8000\r\na=fmtp:126 0-15\r$/m);
  });

  it('is a no-op when the offer had none or the answer already has one', () => {
    expect(restoreTelephoneEvent(RTPENGINE_UIC_ANSWER, META_UIC_OFFER.replace('a=rtpmap:126 telephone-event/8000', ''))).toBe(RTPENGINE_UIC_ANSWER);
    const withTe = restoreTelephoneEvent(RTPENGINE_UIC_ANSWER, META_UIC_OFFER);
    expect(restoreTelephoneEvent(withTe, META_UIC_OFFER)).toBe(withTe);
  });
});

describe('SDP helpers', () => {
  it('detects an Opus offer', () => {
    expect(offersOpus(META_UIC_OFFER)).toBe(true);
    expect(offersOpus(crlf(['v=0', 'o=- 1 1 IN IP4 1.2.3.4', 's=-', 't=0 0', 'm=audio 4000 RTP/AVP 0 101', 'c=IN IP4 1.2.3.4', 'a=rtpmap:101 telephone-event/8000']))).toBe(false);
  });

  it('keeps only 127.0.0.1 candidates', () => {
    const sdp = crlf(['v=0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111',
      'a=candidate:1 1 udp 2122260223 192.0.2.2 50000 typ host generation 0',
      'a=candidate:2 1 udp 2122260223 127.0.0.1 50001 typ host generation 0',
      'a=candidate:3 1 udp 2122262783 2001:db8::1 50002 typ host generation 0', 'a=rtcp-mux']);
    expect(keepLoopbackCandidates(sdp).match(/^a=candidate:.*$/gm)).toEqual(['a=candidate:2 1 udp 2122260223 127.0.0.1 50001 typ host generation 0']);
  });

  it('reduces a libwebrtc offer to Meta\'s codec shape', () => {
    const libwebrtc = crlf(['v=0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
      'a=rtpmap:111 opus/48000/2', 'a=rtcp-fb:111 transport-cc', 'a=fmtp:111 minptime=10;useinbandfec=1',
      'a=rtpmap:63 red/48000/2', 'a=fmtp:63 111/111', 'a=rtpmap:9 G722/8000', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000',
      'a=rtpmap:13 CN/8000', 'a=rtpmap:110 telephone-event/48000', 'a=rtpmap:126 telephone-event/8000', 'a=ssrc:1 cname:x']);
    const out = onlyOpusAndTelephoneEvent8000(libwebrtc);
    expect(out).toMatch(/^m=audio 9 UDP\/TLS\/RTP\/SAVPF 111 126\r$/m);
    expect(out.match(/^a=(rtpmap|fmtp|rtcp-fb):\d+/gm)).toEqual(['a=rtpmap:111', 'a=rtcp-fb:111', 'a=fmtp:111', 'a=rtpmap:126']);
    expect(out).toContain('a=ssrc:1 cname:x');
  });
});
