/**
 * Stream identity in SDP (RFC 5576 `a=ssrc`/`a=ssrc-group`, RFC 8830 `a=msid`/`a=msid-semantic`)
 * names the RTP stream a party will SEND. rtpengine 10.5 copies these lines from one side's SDP
 * into the SDP it writes for the other side, although the stream that side receives comes from
 * rtpengine: transcoded audio carries an SSRC of rtpengine's own, and after a PBX re-INVITE
 * (transfer, direct media) even passed-through audio comes from a new source. A libwebrtc receiver
 * (WhatsApp's clients) that was told `a=ssrc:X` routes packets of any other SSRC nowhere and plays
 * silence; with no `a=ssrc` at all it accepts the one unsignalled stream of the m-line
 * (https://www.rfc-editor.org/rfc/rfc8843#section-9.2, and docs/media.md#stream-identity).
 * rtpengine 10.5 cannot announce its own SSRC (it has no `sdp-attr` editing either), so watrunk
 * removes the other side's stream identity from every SDP it hands on, in both directions.
 */

/** Attributes that describe the sender's stream, removed from SDP that rtpengine passes on. */
export const STREAM_IDENTITY_ATTRIBUTES = ['ssrc', 'ssrc-group', 'msid', 'msid-semantic'] as const;

const PATTERN = new RegExp(`^a=(${STREAM_IDENTITY_ATTRIBUTES.join('|')})(:|$)`, 'i');

/** The SDP without stream-identity lines; every other line is kept byte for byte. */
export function withoutStreamIdentity(sdp: string): string {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const lines = sdp.split(/\r?\n/);
  const kept = lines.filter((l) => !PATTERN.test(l));
  return kept.length === lines.length ? sdp : kept.join(eol);
}
