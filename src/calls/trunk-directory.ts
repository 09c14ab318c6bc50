import { BlockList, isIP } from 'node:net';
import type { TrunkConfig } from '../config/schema.js';

export type TrunkIdentity =
  | { kind: 'trunk'; trunk: TrunkConfig }
  /** Digest-only trunks exist but the request carries no credentials yet: challenge it. */
  | { kind: 'challenge'; realm: string }
  | { kind: 'unknown' };

interface Entry { trunk: TrunkConfig; sources?: BlockList }

function blockListFor(sources: readonly string[]): BlockList {
  const list = new BlockList();
  for (const s of sources) {
    const [addr = '', bits] = s.split('/');
    const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(bits), family);
  }
  return list;
}

/**
 * Who is calling: the trunk an INVITE belongs to, by source address first, then (for trunks that
 * accept any source) by the digest username. Whether the digest itself is right is checked by the
 * SIP adapter with the trunk's password.
 */
export class TrunkDirectory {
  private readonly entries: Entry[];

  constructor(trunks: readonly TrunkConfig[]) {
    this.entries = trunks.map((t) => (t.sources.length ? { trunk: t, sources: blockListFor(t.sources) } : { trunk: t }));
  }

  identify(sourceAddress: string, digestUsername?: string): TrunkIdentity {
    const family = isIP(sourceAddress) === 6 ? 'ipv6' : 'ipv4';
    const bySource = this.entries.find((e) => e.sources?.check(sourceAddress, family));
    if (bySource) return { kind: 'trunk', trunk: bySource.trunk };
    const anySource = this.entries.filter((e) => !e.sources && e.trunk.auth);
    if (anySource.length === 0) return { kind: 'unknown' };
    if (digestUsername === undefined) return { kind: 'challenge', realm: anySource[0]!.trunk.auth!.realm };
    const byUser = anySource.find((e) => e.trunk.auth!.username === digestUsername);
    return byUser ? { kind: 'trunk', trunk: byUser.trunk } : { kind: 'unknown' };
  }

  get size(): number {
    return this.entries.length;
  }

  /** Whether OPTIONS from this address should be answered as a trunk keep-alive. */
  knowsSource(sourceAddress: string): boolean {
    const family = isIP(sourceAddress) === 6 ? 'ipv6' : 'ipv4';
    return this.entries.some((e) => !e.sources || e.sources.check(sourceAddress, family));
  }
}
