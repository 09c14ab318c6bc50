/** The signalling-only simulated user: Meta-shaped SDP, random credentials, Meta's checks (pure). */
import { describe, expect, it } from 'vitest';
import { parse } from 'sdp-transform';
import { SignallingOnlyMediaFactory } from '../../src/simulator/media/signalling-only.js';

const factory = new SignallingOnlyMediaFactory();
const user = () => factory.create({ toneHz: 440, listenHz: [1000, 440] });

/** Shape of the business offer rtpengine produces (after keepOpusAndTelephoneEvent8000). */
const BUSINESS_OFFER = [
  'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0', 'm=audio 30000 UDP/TLS/RTP/SAVPF 96 101', 'c=IN IP4 127.0.0.1',
  'a=mid:1', 'a=rtpmap:96 opus/48000/2', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=sendrecv', 'a=rtcp-mux',
  'a=setup:actpass', 'a=fingerprint:sha-256 AB:CD', 'a=ice-ufrag:abcd', 'a=ice-pwd:0123456789012345678901', '',
].join('\r\n');

describe('signalling-only simulated user media', () => {
  it("offers like Meta's UIC offer: ice-lite, actpass, Opus 111 + telephone-event/8000 126, one SSRC, nothing listening", async () => {
    const sdp = await user().createOffer();
    const s = parse(sdp);
    const m = s.media[0]!;
    expect(s.icelite).toBe('ice-lite');
    expect(m.protocol).toBe('UDP/TLS/RTP/SAVPF');
    expect(m.payloads).toBe('111 126');
    expect(m.rtp).toEqual([{ payload: 111, codec: 'opus', rate: 48000, encoding: 2 }, { payload: 126, codec: 'telephone-event', rate: 8000 }]);
    expect(m.setup).toBe('actpass');
    expect(m.rtcpMux).toBe('rtcp-mux');
    expect(m.connection?.ip).toBe('127.0.0.1');
    expect(m.port).toBe(9);
    expect(m.fingerprint?.type).toBe('sha-256');
    expect(m.fingerprint?.hash).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(m.iceUfrag!.length).toBeGreaterThanOrEqual(4);
    expect(m.icePwd!.length).toBeGreaterThanOrEqual(22);
    expect(new Set((m.ssrcs ?? []).map((x) => x.id)).size).toBe(1);
    expect(sdp.endsWith('\r\n')).toBe(true);
  });

  it('uses fresh ICE credentials and fingerprint for every call', async () => {
    const a = parse(await user().createOffer()).media[0]!;
    const b = parse(await user().createOffer()).media[0]!;
    expect(a.iceUfrag).not.toBe(b.iceUfrag);
    expect(a.icePwd).not.toBe(b.icePwd);
    expect(a.fingerprint?.hash).not.toBe(b.fingerprint?.hash);
  });

  it("answers a business offer with a=setup:active on the offer's payload types and mid", async () => {
    const m = parse(await user().answer(BUSINESS_OFFER)).media[0]!;
    expect(m.setup).toBe('active');
    expect(m.payloads).toBe('96 101');
    expect(String(m.mid)).toBe('1');
    expect(m.rtp.map((r) => `${r.payload} ${r.codec}/${r.rate}`)).toEqual(['96 opus/48000', '101 telephone-event/8000']);
  });

  it("rejects SDP the way Meta does", async () => {
    await expect(user().answer(BUSINESS_OFFER.replace(/a=fingerprint:.*\r\n/, ''))).rejects.toThrow('No fingerprint found in SDP');
    await expect(user().answer(BUSINESS_OFFER.replace('a=rtpmap:96 opus/48000/2', 'a=rtpmap:96 PCMU/8000'))).rejects.toThrow(/opus/);
    const u = user();
    await u.createOffer();
    const passive = (await user().answer(BUSINESS_OFFER)).replace('a=setup:active', 'a=setup:passive');
    await expect(u.applyAnswer(passive)).rejects.toThrow(/a=setup:passive; Meta requires a=setup:active/);
  });

  it('reports no media', async () => {
    const u = user();
    await u.sendDtmf('123');
    expect(u.report()).toEqual({
      mode: 'signalling-only', receivedPackets: 0, dtmfReceived: '',
      tones: [{ frequencyHz: 1000, fraction: 0 }, { frequencyHz: 440, fraction: 0 }],
    });
    await u.close();
    await expect(u.createOffer()).rejects.toThrow(/closed/);
  });
});
