/**
 * SIPp (Debian package `sip-tester`) as a UAC or UAS for e2e tests, loopback only.
 *
 * Every run gets `-nostdin`, `-i 127.0.0.1`, a call limit `-m` (default 1), SIPp's own global
 * `-timeout` and a kill timer (SIGTERM, then SIGKILL 2 s later). Runs in a temp working directory,
 * so trace/error files never land in the repo; unexpected messages are traced to an error file
 * whose content is returned.
 * Exit codes (SIPp): 0 = all calls succeeded, 1 = at least one failed, 97 = exit by internal
 * command, 99 = normal exit without calls processed, 255 (-1) = fatal error, 254 (-2) = fatal
 * error binding a socket.
 * See docs/sip.md#test-tools.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { LOOPBACK, freeUdpPort, freeTcpPort } from './ports.js';
import { onProcessExit } from './exit-guard.js';

export type SippTransport = 'u1' | 'un' | 'ui' | 't1' | 'tn';

export interface SippResult {
  /** Exit code (null if killed by a signal). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Content of SIPp's error trace (unexpected messages etc.), '' if none. */
  errors: string;
  /** True if the kill timer fired. */
  timedOut: boolean;
  /** The full command line, for diagnostics. */
  command: string;
}

/** `sipp` from env SIPP_BIN, else from PATH; undefined when absent. */
export function findSippBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const isExe = (p: string): boolean => {
    try { accessSync(p, constants.X_OK); return statSync(p).isFile(); } catch { return false; }
  };
  const explicit = env.SIPP_BIN;
  if (explicit) {
    const p = isAbsolute(explicit) ? explicit : resolvePath(explicit);
    return isExe(p) ? p : undefined;
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExe(join(dir, 'sipp'))) return join(dir, 'sipp');
  }
  return undefined;
}

/** True when a SIPp binary is available. */
export function sippAvailable(): boolean {
  return findSippBinary() !== undefined;
}

interface CommonOptions {
  /** Path to a scenario XML file (-sf). Exclusive with `builtin`. */
  scenario?: string;
  /** Built-in scenario name (-sn), e.g. 'uac', 'uas'. Exclusive with `scenario`. */
  builtin?: string;
  /** Local SIP port (-p); default: a free port for the transport. */
  localPort?: number;
  /** Local media port (-mp); when set, -mi 127.0.0.1 is added too. */
  mediaPort?: number;
  /** Transport mode (-t), default 'u1'. */
  transport?: SippTransport;
  /** Number of calls before SIPp exits (-m), default 1. */
  calls?: number;
  /** Any further SIPp arguments (appended last). */
  extraArgs?: string[];
}

export interface SippClientOptions extends CommonOptions {
  /** Remote `127.0.0.1:port` (loopback only). */
  target: string;
  /** Request-URI user part (-s), default SIPp's 'service'. */
  service?: string;
  /** Call rate (-r), default SIPp's 10 cps. */
  rate?: number;
  /** Hard bound on the run: the process is killed after this many ms. */
  timeoutMs: number;
}

export interface SippServerOptions extends CommonOptions {
  /** Kill timer for the whole server lifetime (default 60 s). */
  timeoutMs?: number;
  /** How long to wait for SIPp to bind its SIP port (default 5 s). */
  readyTimeoutMs?: number;
}

export interface SippServer {
  host: '127.0.0.1';
  port: number;
  pid: number;
  /** Resolves when SIPp exits on its own (after `calls` calls) or is stopped. */
  done: Promise<SippResult>;
  stdout(): string;
  stderr(): string;
  /** SIGTERM (SIGKILL after 2 s) unless already exited; resolves with the result. Idempotent. */
  stop(): Promise<SippResult>;
}

function assertLoopbackTarget(target: string): void {
  const m = /^127\.0\.0\.1:(\d{1,5})$/.exec(target);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) {
    throw new Error(`SIPp target must be 127.0.0.1:<port>, got '${target}'`);
  }
}

function scenarioArgs(o: CommonOptions, fallbackBuiltin?: string): string[] {
  if (o.scenario && o.builtin) throw new Error('SIPp: give either scenario or builtin, not both');
  if (o.scenario) return ['-sf', resolvePath(o.scenario)];
  const name = o.builtin ?? fallbackBuiltin;
  if (!name) throw new Error('SIPp: a scenario file or a builtin scenario name is required');
  return ['-sn', name];
}

async function defaultLocalPort(transport: SippTransport): Promise<number> {
  return transport.startsWith('t') ? freeTcpPort() : freeUdpPort();
}

function track(child: ChildProcess): void {
  const forget = onProcessExit(() => child.kill('SIGKILL'));
  child.once('exit', forget);
}

interface Running {
  child: ChildProcess;
  done: Promise<SippResult>;
  stdout(): string;
  stderr(): string;
  kill(): void;
}

/** Spawns SIPp in its own temp dir with a kill timer; `done` resolves on exit (never rejects). */
async function runSipp(args: string[], killAfterMs: number): Promise<Running> {
  const bin = findSippBinary();
  if (!bin) throw new Error('sipp not found (apt-get install sip-tester, or set SIPP_BIN)');
  const dir = await mkdtemp(join(tmpdir(), 'watrunk-sipp-'));
  const errorFile = join(dir, 'errors.log');
  const fullArgs = [...args, '-trace_err', '-error_file', errorFile];
  const command = `${bin} ${fullArgs.join(' ')}`;
  const child = spawn(bin, fullArgs, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let stdout = '';
  let stderr = '';
  const cap = (s: string): string => (s.length > 1_000_000 ? s.slice(-1_000_000) : s);
  child.stdout?.on('data', (b: Buffer) => { stdout = cap(stdout + b.toString('utf8')); });
  child.stderr?.on('data', (b: Buffer) => { stderr = cap(stderr + b.toString('utf8')); });

  let timedOut = false;
  let hardKill: NodeJS.Timeout | undefined;
  const kill = (): void => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try { child.kill('SIGTERM'); } catch { /* gone */ }
    hardKill ??= setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, 2_000);
  };
  const timer = setTimeout(() => { timedOut = true; kill(); }, killAfterMs);

  const done = new Promise<SippResult>((resolve) => {
    const finish = async (code: number | null, signal: NodeJS.Signals | null): Promise<void> => {
      clearTimeout(timer);
      if (hardKill) clearTimeout(hardKill);
      const errors = await readFile(errorFile, 'utf8').catch(() => '');
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      resolve({ code, signal, stdout, stderr, errors, timedOut, command });
    };
    child.once('error', (e) => {
      stderr += `\n[spawn error: ${e.message}]`;
      void finish(null, null);
    });
    child.once('close', (code, signal) => { void finish(code, signal); });
  });
  return { child, done, stdout: () => stdout, stderr: () => stderr, kill };
}

function commonArgs(o: CommonOptions, localPort: number, transport: SippTransport): string[] {
  const args = ['-i', LOOPBACK, '-p', String(localPort), '-t', transport, '-m', String(o.calls ?? 1), '-nostdin'];
  if (o.mediaPort !== undefined) args.push('-mi', LOOPBACK, '-mp', String(o.mediaPort));
  return args;
}

/**
 * Runs SIPp as a client against `target` until it has made `calls` calls (default 1) or
 * `timeoutMs` elapses. Resolves with the exit code and output; never rejects on SIPp failure.
 */
export async function runSippClient(opts: SippClientOptions): Promise<SippResult> {
  assertLoopbackTarget(opts.target);
  const transport = opts.transport ?? 'u1';
  const localPort = opts.localPort ?? (await defaultLocalPort(transport));
  const args = [
    ...scenarioArgs(opts),
    opts.target,
    ...commonArgs(opts, localPort, transport),
    // SIPp's own global timeout, a little before the kill timer, so it exits with its statistics.
    '-timeout', `${Math.max(1, Math.floor((opts.timeoutMs * 0.8) / 1000))}s`, '-timeout_error',
  ];
  if (opts.service !== undefined) args.push('-s', opts.service);
  if (opts.rate !== undefined) args.push('-r', String(opts.rate));
  args.push(...(opts.extraArgs ?? []));
  const run = await runSipp(args, opts.timeoutMs);
  return run.done;
}

/** Ports bound on 127.0.0.1 according to /proc/net (Linux); undefined if unreadable. */
function boundOnLoopback(port: number, transport: SippTransport): boolean | undefined {
  const tcp = transport.startsWith('t');
  try {
    const table = readFileSync(tcp ? '/proc/net/tcp' : '/proc/net/udp', 'utf8');
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    return table.split('\n').some((line) => {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (!local) return false;
      const [addr, p] = local.split(':');
      if (p !== hex || (addr !== '0100007F' && addr !== '00000000')) return false;
      return tcp ? cols[3] === '0A' /* LISTEN */ : true;
    });
  } catch {
    return undefined;
  }
}

/**
 * Starts SIPp as a server (default builtin 'uas') on `localPort` (default: free port) and resolves
 * once its SIP socket is bound (checked in /proc/net, no probing binds). It exits by itself after
 * `calls` calls (default 1) or after `timeoutMs` (default 60 s).
 */
export async function startSippServer(opts: SippServerOptions = {}): Promise<SippServer> {
  const transport = opts.transport ?? 'u1';
  const port = opts.localPort ?? (await defaultLocalPort(transport));
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const args = [...scenarioArgs(opts, 'uas'), ...commonArgs(opts, port, transport), ...(opts.extraArgs ?? [])];
  const run = await runSipp(args, timeoutMs);
  let exited: SippResult | undefined;
  void run.done.then((r) => { exited = r; });

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 5_000);
  for (;;) {
    if (exited) {
      throw new Error(`SIPp server exited during startup (code ${exited.code})\n${exited.command}\n${exited.stderr}\n${exited.stdout.slice(-4000)}`);
    }
    const bound = boundOnLoopback(port, transport);
    if (bound === undefined) { await new Promise((r) => setTimeout(r, 300)); break; }
    if (bound) break;
    if (Date.now() >= deadline) {
      run.kill();
      const r = await run.done;
      throw new Error(`SIPp server did not bind 127.0.0.1:${port} within ${opts.readyTimeoutMs ?? 5_000} ms\n${r.command}\n${r.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }

  return {
    host: LOOPBACK,
    port,
    pid: run.child.pid ?? -1,
    done: run.done,
    stdout: run.stdout,
    stderr: run.stderr,
    stop: () => { run.kill(); return run.done; },
  };
}
