/**
 * Reads per-participant received-packet counts out of an ng `query` reply. rtpengine reports,
 * per tag (monologue) → medias → streams, `stats.packets` = packets received on that stream
 * (daemon/media_socket.c stream_packet, mr10.5.3.5). RTCP-only streams are left out.
 */
import type { NgResponse } from './ng-client.js';

interface QueryStream { stats?: { packets?: number }; flags?: string[] }
interface QueryMedia { streams?: QueryStream[] }
interface QueryTag { medias?: QueryMedia[] }

/** RTP packets received from the participant with `tag` (0 when unknown). */
export function packetsReceivedFrom(reply: NgResponse, tag: string): number {
  const tags = reply.tags as Record<string, QueryTag> | undefined;
  const t = tags?.[tag];
  if (!t) return 0;
  let sum = 0;
  for (const m of t.medias ?? []) {
    for (const s of m.streams ?? []) {
      const flags = s.flags ?? [];
      if (flags.includes('RTCP') && !flags.includes('RTP')) continue;
      sum += Number(s.stats?.packets ?? 0);
    }
  }
  return sum;
}
