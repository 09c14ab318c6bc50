/**
 * Process plumbing shared by the real-phone launchers and the Kamailio launcher: binary lookup,
 * spawn with bounded in-memory logs, a kill-on-exit guard (a crashed test run must not leave
 * phones or proxies behind), and a TERM-then-KILL stop.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { onProcessExit } from '../exit-guard.js';

/** `name` from env `envVar` (path), else PATH, else the sbin dirs a non-root PATH may lack. */
export function findBinary(name: string, envVar: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const isExe = (p: string): boolean => {
    try { accessSync(p, constants.X_OK); return statSync(p).isFile(); } catch { return false; }
  };
  const explicit = env[envVar];
  if (explicit) {
    const p = isAbsolute(explicit) ? explicit : resolvePath(explicit);
    return isExe(p) ? p : undefined;
  }
  const dirs = [...(env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    if (dir && isExe(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

export interface LoggedProcess {
  child: ChildProcess;
  pid: number;
  /** stdout+stderr so far (last 2 MB). */
  logs(): string;
  /** Resolves on exit (never rejects). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Exit status once exited, else undefined. */
  exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Sends `signal` to the process (or its whole group when spawned as a group leader). */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs` (default 3 s); resolves once exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** Called with every chunk of stdout/stderr as text. */
  onOutput(listener: (text: string) => void): void;
}

/** Kill switches of processes still running, fired if the test process exits without stop(). */
function guard(killNow: () => void, exited: Promise<unknown>): void {
  void exited.then(onProcessExit(killNow));
}

/**
 * Spawns `bin args`, captures output, registers a SIGKILL-on-exit guard. With `group: true` the
 * child leads its own process group and signals go to the group (Kamailio forks workers that would
 * survive a SIGKILL of the main process alone).
 */
export function spawnLogged(bin: string, args: string[], opts: SpawnOptions & { group?: boolean } = {}): LoggedProcess {
  const { group, ...spawnOpts } = opts;
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOpts, detached: group === true });
  let log = '';
  const listeners: ((text: string) => void)[] = [];
  const append = (b: Buffer): void => {
    const text = b.toString('utf8');
    log += text;
    if (log.length > 2_000_000) log = log.slice(-2_000_000);
    for (const l of listeners) l(text);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let status: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (e) => {
      log += `\n[spawn error: ${e.message}]`;
      status ??= { code: null, signal: null };
      resolve(status);
    });
    child.once('exit', (code, signal) => {
      status = { code, signal };
      resolve(status);
    });
  });
  const pid = child.pid ?? -1;
  const sendSignal = (sig: NodeJS.Signals): void => {
    if (status) return;
    try {
      if (group && pid > 0) process.kill(-pid, sig);
      else child.kill(sig);
    } catch { /* already gone */ }
  };
  let stopping: Promise<void> | undefined;
  const proc: LoggedProcess = {
    child,
    pid,
    logs: () => log,
    exited,
    exitStatus: () => status,
    signal: sendSignal,
    stop: (graceMs = 3_000) => (stopping ??= (async () => {
      if (!status) {
        sendSignal('SIGTERM');
        const timer = setTimeout(() => sendSignal('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      // Workers of a group leader may outlive it for a moment; make sure none stays.
      if (group && pid > 0) { try { process.kill(-pid, 'SIGKILL'); } catch { /* group empty */ } }
    })()),
    onOutput: (l) => { listeners.push(l); },
  };
  guard(() => {
    try {
      if (group && pid > 0) process.kill(-pid, 'SIGKILL');
      else child.kill('SIGKILL');
    } catch { /* gone */ }
  }, exited);
  return proc;
}

/** Last `chars` characters of a log, for error messages. */
export function tail(text: string, chars = 6_000): string {
  return text.length > chars ? `…${text.slice(-chars)}` : text;
}

/**
 * Whether `port` is bound on 127.0.0.1 (or the wildcard address) per /proc/net; undefined when
 * /proc is unreadable. For TCP only listening sockets count.
 */
export function portBound(port: number, transport: 'udp' | 'tcp'): boolean | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const files = transport === 'tcp' ? ['/proc/net/tcp', '/proc/net/tcp6'] : ['/proc/net/udp', '/proc/net/udp6'];
  let readAny = false;
  for (const f of files) {
    let table: string;
    try { table = readFileSync(f, 'utf8'); readAny = true; } catch { continue; }
    const hit = table.split('\n').some((line) => {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (!local) return false;
      const idx = local.lastIndexOf(':');
      if (local.slice(idx + 1) !== hex) return false;
      return transport === 'tcp' ? cols[3] === '0A' : true;
    });
    if (hit) return true;
  }
  return readAny ? false : undefined;
}
