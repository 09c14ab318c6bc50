/**
 * A private drachtio-server that a fault test can kill and start again on the same admin and SIP
 * ports, as a supervisor would after a crash (docs/sip.md#drachtio-server). Like
 * test/support/drachtio-server.ts (loopback, temp config with an <admin> element), but the ports are
 * kept across restarts. Callers skip when drachtioSkipReason() says the binary is missing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findDrachtioBinary } from '../drachtio-server.js';
import { LOOPBACK, freeTcpPort, freeUdpTcpPort } from '../ports.js';
import { onProcessExit } from '../exit-guard.js';

export interface RestartableDrachtio {
  host: '127.0.0.1';
  adminPort: number;
  sipPort: number;
  secret: string;
  readonly running: boolean;
  logs(): string;
  /** Sends `signal` (default SIGKILL) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same ports; resolves once they accept connections. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = tcpConnect({ host: LOOPBACK, port });
    const done = (ok: boolean): void => { sock.removeAllListeners(); sock.on('error', () => undefined); sock.destroy(); resolve(ok); };
    sock.setTimeout(500, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export async function startRestartableDrachtio(): Promise<RestartableDrachtio> {
  const bin = findDrachtioBinary();
  if (!bin) throw new Error('no drachtio-server binary (DRACHTIO_BIN or drachtio on PATH)');
  const secret = `s${Math.random().toString(36).slice(2, 12)}`;
  const sipPort = await freeUdpTcpPort();
  let adminPort = await freeTcpPort();
  while (adminPort === sipPort) adminPort = await freeTcpPort();
  const dir = await mkdtemp(join(tmpdir(), 'watrunk-drachtio-fault-'));
  const configPath = join(dir, 'drachtio.conf.xml');
  await writeFile(configPath, `<drachtio>\n  <admin port="${adminPort}" secret="${secret}">${LOOPBACK}</admin>\n  <logging><console/></logging>\n</drachtio>\n`);
  const args = ['-f', configPath, '--contact', `sip:${LOOPBACK}:${sipPort};transport=udp,tcp`, '--loglevel', 'info', '--sofia-loglevel', '3'];
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DRACHTIO_')));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';
  const forget = onProcessExit(() => child?.kill('SIGKILL'));
  const isRunning = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;

  const spawnOnce = async (): Promise<void> => {
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: dir });
    child = proc;
    exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const append = (b: Buffer): void => { log = (log + b.toString('utf8')).slice(-2_000_000); };
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    // Right after a SIGKILL the old sockets may linger briefly: wait for both ports (bounded).
    const deadline = Date.now() + 10_000;
    while (!((await canConnect(adminPort)) && (await canConnect(sipPort)))) {
      if (!isRunning()) throw new Error(`drachtio-server exited during startup\n${log.slice(-4000)}`);
      if (Date.now() > deadline) throw new Error(`drachtio-server did not open its ports within 10 s\n${log.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (!isRunning()) return;
    child!.kill(signal);
    await exited;
  };
  await spawnOnce();
  let stopping: Promise<void> | undefined;
  return {
    host: LOOPBACK, adminPort, sipPort, secret,
    get running() { return isRunning(); },
    logs: () => log,
    kill,
    async restart() {
      if (isRunning()) throw new Error('drachtio-server is still running');
      await spawnOnce();
    },
    stop: () => (stopping ??= (async () => {
      if (isRunning()) {
        child!.kill('SIGTERM');
        const timer = setTimeout(() => child?.kill('SIGKILL'), 6_000);
        await exited;
        clearTimeout(timer);
      }
      forget();
      await rm(dir, { recursive: true, force: true });
    })()),
  };
}
