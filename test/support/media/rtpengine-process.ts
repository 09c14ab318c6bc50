/**
 * Starts a private rtpengine (Debian rtpengine-daemon 10.5) for one test file: userspace only,
 * loopback interface, its own ng port and RTP port range, no config file, calls freed at once on
 * delete. See docs/media.md#running-rtpengine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { freeUdpPort, freeUdpPortRange } from './free-port.js';
import { onProcessExit } from '../exit-guard.js';

export const RTPENGINE_BIN = process.env.RTPENGINE_BIN ?? '/usr/bin/rtpengine';

export interface RtpengineInstance {
  host: string;
  ngPort: number;
  portMin: number;
  portMax: number;
  pid: number;
  /** stderr/stdout collected so far (bounded to the last 2 MB). */
  logs(): string;
  /** SIGTERM, then SIGKILL after 3 s; resolves when the process has exited. Idempotent. */
  stop(): Promise<void>;
}

/** Why rtpengine tests must skip, or undefined when the binary is there. */
export function rtpengineSkipReason(): string | undefined {
  try {
    accessSync(RTPENGINE_BIN, constants.X_OK);
    return undefined;
  } catch {
    return `rtpengine not found at ${RTPENGINE_BIN} (apt-get install rtpengine-daemon, or set RTPENGINE_BIN)`;
  }
}

export interface StartOptions {
  /** Extra log detail (log-level 7 for ICE/DTLS/codec debugging). */
  logLevel?: number;
  extraArgs?: string[];
  /** How long to wait for "Startup complete" (default 5 s). */
  startTimeoutMs?: number;
  /** Size of the RTP port range (default 200: enough for a test file; benchmarks need thousands). */
  ports?: number;
}

export async function startRtpengine(opts: StartOptions = {}): Promise<RtpengineInstance> {
  const skip = rtpengineSkipReason();
  if (skip) throw new Error(skip);
  const host = '127.0.0.1';
  const ngPort = await freeUdpPort();
  const range = await freeUdpPortRange(opts.ports ?? 200);
  const args = [
    '--config-file=none', '--table=-1', `--interface=${host}`, `--listen-ng=${host}:${ngPort}`,
    `--port-min=${range.min}`, `--port-max=${range.max}`, '--foreground', '--log-stderr',
    `--log-level=${opts.logLevel ?? 6}`, '--delete-delay=0', ...(opts.extraArgs ?? []),
  ];
  const child = spawn(RTPENGINE_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // The last ~2 MB of output, kept as chunks. Re-slicing one 2 MB string per chunk copied 2 MB per
  // read once a benchmark had run for a while (rtpengine logs ~100 KB/s at info level at 150 calls/s),
  // and a pipe the reader falls behind on blocks rtpengine's log writes.
  const chunks: string[] = [];
  let kept = 0;
  const append = (b: Buffer): void => {
    const text = b.toString('utf8');
    chunks.push(text);
    kept += text.length;
    while (kept > 2_000_000 && chunks.length > 1) kept -= chunks.shift()!.length;
  };
  const logText = (): string => chunks.join('');
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // If the test process ends without stop() (crash, timeout), do not leave rtpengine behind.
  void exited.then(onProcessExit(() => child.kill('SIGKILL')));

  const timeoutMs = opts.startTimeoutMs ?? 5_000;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(`rtpengine did not start within ${timeoutMs} ms:\n${logText()}`));
    }, timeoutMs);
    const onData = (): void => {
      if (chunks.some((c) => c.includes('Startup complete')) || logText().includes('Startup complete')) { cleanup(); resolve(); }
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`rtpengine exited during startup (code ${code}):\n${logText()}`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    onData();
  });

  let stopping: Promise<void> | undefined;
  return {
    host,
    ngPort,
    portMin: range.min,
    portMax: range.max,
    pid: child.pid ?? -1,
    logs: logText,
    stop: () => (stopping ??= stopChild(child, exited).finally(() => range.release())),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}
