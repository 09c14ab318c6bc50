import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkPbxOffer, pbxSendsAudio, restoreDeclined } from '../../src/calls/pbx-sdp.js';
import { withoutStreamIdentity } from '../../src/adapters/rtpengine/stream-identity.js';

function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/pbx-sdp/${name}.sdp`, import.meta.url), 'utf8')
    .replaceAll('{{ADDR}}', '127.0.0.1').replaceAll('{{PORT}}', '40000').replaceAll('{{RTCP}}', '40001')
    .replaceAll('{{VPORT}}', '40002').replaceAll('{{SSRC}}', '305419896').replaceAll('{{SESS}}', '1').replaceAll('{{VER}}', '1');
}

describe('checkPbxOffer: what watrunk accepts from a PBX', () => {
  it.each(['asterisk-pjsip', 'freeswitch-g722', 'freeswitch-opus', '3cx', 'yealink', 'polycom', 'cisco-spa', 'ssrc-announcing', 'rtcp-mux-pcma-only', 'pcmu-only-no-dtmf-no-direction', 'telephone-event-pt96', 'baresip', 'linphone'])(
    'passes %s through unchanged', (name) => {
      const sdp = fixture(name);
      const r = checkPbxOffer(sdp);
      expect(r).toMatchObject({ ok: true, declined: [], removedPayloads: [] });
      expect(r.ok && r.sdp).toBe(sdp);
    });

  it('refuses a WebRTC endpoint (UDP/TLS/RTP/SAVPF) with a Warning that says what to change', () => {
    const r = checkPbxOffer(fixture('webrtc-endpoint'));
    expect(r).toMatchObject({ ok: false, cause: 'unsupported_media' });
    expect(!r.ok && r.warning).toMatch(/UDP\/TLS\/RTP\/SAVPF.*plain RTP \(RTP\/AVP\)/);
  });

  it('refuses SDES SRTP (RTP/SAVP)', () => {
    const r = checkPbxOffer(fixture('sdes-srtp'));
    expect(!r.ok && r.warning).toMatch(/RTP\/SAVP/);
  });

  it('refuses PCMU at 16000 Hz when nothing else is usable, naming what was offered', () => {
    const r = checkPbxOffer(fixture('pcmu-16k-oddity'));
    expect(!r.ok && r.warning).toMatch(/no audio codec.*PCMU\/16000/);
  });

  it('removes an odd payload but keeps the call when a usable codec remains', () => {
    const sdp = fixture('pcmu-16k-oddity').replace('RTP/AVP 0 101', 'RTP/AVP 0 8 101').replace('a=rtpmap:101', 'a=rtpmap:8 PCMA/8000\r\na=rtpmap:101');
    const r = checkPbxOffer(sdp);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.removedPayloads).toEqual(['0 pcmu/16000']);
    expect(r.sdp).toMatch(/^m=audio 40000 RTP\/AVP 8 101\r$/m);
    expect(r.sdp).not.toMatch(/PCMU/);
  });

  it('declines the video stream of a video phone and puts it back with port 0 in the answer', () => {
    const r = checkPbxOffer(fixture('video-phone'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.sdp).not.toMatch(/m=video|H264/);
    expect(r.declined).toEqual([{ index: 1, line: 'm=video 0 RTP/AVP 99' }]);
    const answer = 'v=0\r\no=- 5 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n';
    const restored = restoreDeclined(answer, r.declined);
    expect(restored.split('\r\n').filter((l) => l.startsWith('m='))).toEqual(['m=audio 30000 RTP/AVP 0 101', 'm=video 0 RTP/AVP 99']);
    expect(restored.endsWith('\r\n')).toBe(true);
  });

  it('refuses an offer whose only audio stream is disabled', () => {
    expect(checkPbxOffer(fixture('asterisk-pjsip').replace('m=audio 40000', 'm=audio 0')).ok).toBe(false);
  });
});

describe('pbxSendsAudio: hold is not silence from a dead PBX', () => {
  const base = fixture('asterisk-pjsip');
  it.each([
    ['sendrecv', base, true],
    ['sendonly (music on hold)', base.replace('a=sendrecv', 'a=sendonly'), true],
    ['inactive', base.replace('a=sendrecv', 'a=inactive'), false],
    ['recvonly', base.replace('a=sendrecv', 'a=recvonly'), false],
    ['c=0.0.0.0 (RFC 2543 hold)', base.replace('c=IN IP4 127.0.0.1', 'c=IN IP4 0.0.0.0'), false],
    ['session-level inactive', fixture('polycom').replace('a=sendrecv', 'a=inactive'), false],
    ['no direction at all', fixture('pcmu-only-no-dtmf-no-direction'), true],
  ])('%s', (_name, sdp, sends) => {
    expect(pbxSendsAudio(sdp)).toBe(sends);
  });
});

describe('withoutStreamIdentity: no foreign a=ssrc toward a libwebrtc receiver', () => {
  it('removes ssrc, ssrc-group, msid and msid-semantic and nothing else', () => {
    const sdp = fixture('ssrc-announcing').replace('a=sendrecv', 'a=sendrecv\r\na=ssrc-group:FID 1 2');
    const out = withoutStreamIdentity(sdp);
    expect(out).not.toMatch(/^a=(ssrc|ssrc-group|msid|msid-semantic)[:\s]/m);
    expect(out.split('\r\n').length).toBe(sdp.split('\r\n').length - 5);
    expect(out).toMatch(/^a=rtcp:40001\r$/m);
    expect(withoutStreamIdentity(fixture('asterisk-pjsip'))).toBe(fixture('asterisk-pjsip'));
  });
});
