/**
 * A private rtpengine (Debian rtpengine-daemon) that a fault test can kill and start again on the
 * same ng port and RTP port range, as a supervisor (systemd, Docker restart policy) would after a
 * crash: the bridge keeps its configured address and finds a fresh engine that knows no call.
 * Started like test/support/media/rtpengine-process.ts (userspace, loopback; docs/media.md#running-rtpengine).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { NgClient, NgError } from '../../../src/adapters/rtpengine/ng-client.js';
import { freeUdpPort, freeUdpPortRange } from '../media/free-port.js';
import { RTPENGINE_BIN, rtpengineSkipReason, type RtpengineInstance } from '../media/rtpengine-process.js';
import { onProcessExit } from '../exit-guard.js';

export interface RestartableRtpengine extends RtpengineInstance {
  readonly running: boolean;
  /** Sends `signal` (default SIGKILL) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same ports; resolves on "Startup complete". */
  restart(): Promise<void>;
  /** ng `query` for a call: 'unknown' when the engine has no such call, 'known' when it has. */
  queryCall(callId: string): Promise<'known' | 'unknown'>;
}

export async function startRestartableRtpengine(): Promise<RestartableRtpengine> {
  const skip = rtpengineSkipReason();
  if (skip) throw new Error(skip);
  const host = '127.0.0.1';
  const ngPort = await freeUdpPort();
  const range = await freeUdpPortRange(200);
  const args = [
    '--config-file=none', '--table=-1', `--interface=${host}`, `--listen-ng=${host}:${ngPort}`,
    `--port-min=${range.min}`, `--port-max=${range.max}`, '--foreground', '--log-stderr', '--log-level=6', '--delete-delay=0',
  ];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';
  const forget = onProcessExit(() => child?.kill('SIGKILL'));
  const ng = new NgClient({ timeoutMs: 1_000, localAddress: host });

  const spawnOnce = async (): Promise<void> => {
    const proc = spawn(RTPENGINE_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    let sinceStart = '';
    const append = (b: Buffer): void => {
      const text = b.toString('utf8');
      sinceStart += text;
      log = (log + text).slice(-2_000_000);
    };
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    const deadline = Date.now() + 5_000;
    while (!sinceStart.includes('Startup complete')) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`rtpengine exited during startup:\n${sinceStart}`);
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`rtpengine did not start within 5 s:\n${sinceStart}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const isRunning = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (!isRunning()) return;
    child!.kill(signal);
    await exited;
  };
  await spawnOnce();
  let stopping: Promise<void> | undefined;
  return {
    host, ngPort, portMin: range.min, portMax: range.max,
    get pid() { return child?.pid ?? -1; },
    get running() { return isRunning(); },
    logs: () => log,
    kill,
    async restart() {
      if (isRunning()) throw new Error('rtpengine is still running');
      await spawnOnce();
    },
    async queryCall(callId) {
      try {
        await ng.send({ host, port: ngPort }, 'query', { 'call-id': callId });
        return 'known';
      } catch (err) {
        if (err instanceof NgError && err.kind === 'error-result' && /unknown call/i.test(err.reason)) return 'unknown';
        throw err;
      }
    },
    stop: () => (stopping ??= (async () => {
      ng.close();
      if (isRunning()) {
        child!.kill('SIGTERM');
        const timer = setTimeout(() => child?.kill('SIGKILL'), 3_000);
        await exited;
        clearTimeout(timer);
      }
      forget();
      range.release();
    })()),
  };
}
