/**
 * What every watrunk benchmark runs on: a private rtpengine with room for thousands of calls, a
 * drachtio-server, and watrunk + its simulator as processes (watrunk-processes.ts). Skips loudly
 * (exit 2) when drachtio-server, SIPp, rtpengine or the build is missing.
 */
import { existsSync } from 'node:fs';
import { drachtioSkipReason, startDrachtioServer, type DrachtioServer } from '../../test/support/drachtio-server.js';
import { rtpengineSkipReason, startRtpengine, type RtpengineInstance } from '../../test/support/media/rtpengine-process.js';
import { sippAvailable } from '../../test/support/sipp.js';
import { startWatrunkStack, type WatrunkStack, type WatrunkStackOptions } from './watrunk-processes.js';

export function exitIfCannotRun(bench: string): void {
  const skip = drachtioSkipReason() ?? rtpengineSkipReason() ?? (sippAvailable() ? undefined : "'sipp' not found (apt-get install sip-tester)")
    ?? (existsSync('dist/cli.js') ? undefined : 'dist/cli.js missing (npm run build)');
  if (!skip) return;
  process.stderr.write(`\n*** ${bench} SKIPPED: ${skip} ***\n\n`);
  process.exit(2);
}

export interface WatrunkBench {
  rtpengine: RtpengineInstance;
  drachtio: DrachtioServer;
  stack: WatrunkStack;
  /** 127.0.0.1:<port> where SIPp sends the PBX's INVITEs. */
  sipTarget: string;
}

/** Things to stop at the end, last started first stopped; also on Ctrl-C. */
export class Teardown {
  private readonly steps: (() => Promise<unknown>)[] = [];
  constructor() {
    process.once('SIGINT', () => { void this.run().then(() => process.exit(130)); });
  }
  add(step: () => Promise<unknown>): void { this.steps.push(step); }
  async run(): Promise<void> {
    while (this.steps.length) await this.steps.pop()!().catch(() => undefined);
  }
}

export async function startWatrunkBench(
  teardown: Teardown, opts: Omit<WatrunkStackOptions, 'drachtio' | 'rtpenginePort'> & { rtpengine?: RtpengineInstance },
): Promise<WatrunkBench> {
  const rtpengine = opts.rtpengine ?? await startRtpengine({ ports: 8_000 });
  if (!opts.rtpengine) teardown.add(() => rtpengine.stop());
  const drachtio = await startDrachtioServer({ loglevel: 'notice', sofiaLoglevel: 0 });
  teardown.add(() => drachtio.stop());
  const stack = await startWatrunkStack({ ...opts, drachtio: { port: drachtio.adminPort, secret: drachtio.secret }, rtpenginePort: rtpengine.ngPort });
  teardown.add(() => stack.stop());
  return { rtpengine, drachtio, stack, sipTarget: `127.0.0.1:${drachtio.sipPort}` };
}
