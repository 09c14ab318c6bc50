/** Free UDP ports and port ranges on 127.0.0.1 for test processes (each test gets its own). */
import { reservePortBlock, type PortBlock } from '../port-blocks.js';
import { isUdpPortFree } from '../ports.js';

// One picker for single ports (it never hands out a port twice within a minute).
export { freeUdpPort } from '../ports.js';

export type UdpPortRange = PortBlock;

/**
 * A private range of `size` UDP ports (default 200) for one rtpengine (or phone), reserved for this
 * process below the kernel's ephemeral range (port-blocks.ts), with its first, middle and last
 * ports free. Released by release() or when the process exits.
 */
export function freeUdpPortRange(size = 200): Promise<UdpPortRange> {
  return reservePortBlock(size, async ({ min, max }) => {
    for (const p of [min, min + Math.floor((max - min) / 2), max]) if (!(await isUdpPortFree(p))) return false;
    return true;
  });
}
