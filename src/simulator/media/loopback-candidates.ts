/**
 * Keeps only ICE candidates on 127.0.0.1 in an SDP. libwebrtc gathers host candidates on every
 * interface and none on loopback; tests run on 127.0.0.1 only, and rtpengine warns about priority
 * collisions with several host candidates (docs/media.md#test-peers).
 * With all candidates stripped, rtpengine learns the peer as peer-reflexive from its checks.
 */
export function keepLoopbackCandidates(sdp: string): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  return sdp
    .split(/\r?\n/)
    .filter((line) => {
      if (!line.startsWith('a=candidate:')) return true;
      // a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...
      const address = line.split(' ')[4];
      return address === '127.0.0.1';
    })
    .join(eol);
}
