/**
 * A private drachtio-server for one e2e test file: config in a temp dir, admin port and SIP port
 * (udp+tcp) on free 127.0.0.1 ports, logs captured, stopped with SIGTERM then SIGKILL. With
 * `tls`, a SIP-over-TLS listener (`sips:127.0.0.1:<tlsPort>;transport=tls`) on a port of its own
 * as well (docs/tls.md).
 *
 * drachtio-server is not packaged in Debian and is not part of this repo. The binary is taken from
 * env DRACHTIO_BIN, else from `drachtio` on PATH; when neither is there the e2e suites that need it
 * skip with a loud warning (see drachtioSkipReason / warnDrachtioMissing / describeIfDrachtio).
 * See docs/sip.md#drachtio-server.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join, resolve as resolvePath } from 'node:path';
import { LOOPBACK, freeTcpPort, freeUdpTcpPort } from './ports.js';
import { onProcessExit } from './exit-guard.js';

export const DRACHTIO_BIN_ENV = 'DRACHTIO_BIN';

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The drachtio-server binary to use: env DRACHTIO_BIN if set (and only that: a DRACHTIO_BIN that
 * points at nothing executable yields undefined, it does not fall back to PATH), else the first
 * executable `drachtio` on PATH. Undefined when there is none.
 */
export function findDrachtioBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env[DRACHTIO_BIN_ENV];
  if (explicit !== undefined && explicit !== '') {
    const p = isAbsolute(explicit) ? explicit : resolvePath(explicit);
    return isExecutableFile(p) ? p : undefined;
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'drachtio');
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** Why drachtio-based tests must skip, or undefined when a binary was found. */
export function drachtioSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (findDrachtioBinary(env)) return undefined;
  const explicit = env[DRACHTIO_BIN_ENV];
  if (explicit !== undefined && explicit !== '') {
    return `${DRACHTIO_BIN_ENV}=${explicit} is not an executable file`;
  }
  return `no drachtio-server binary: ${DRACHTIO_BIN_ENV} is unset and no 'drachtio' on PATH`;
}

const warned = new Set<string>();

/**
 * Prints a banner with console.warn when drachtio-server is missing (once per suite name and
 * process). Returns the skip reason, or undefined when the binary is present (nothing printed).
 */
export function warnDrachtioMissing(suite = 'drachtio e2e tests'): string | undefined {
  const reason = drachtioSkipReason();
  if (!reason || warned.has(suite)) return reason;
  warned.add(suite);
  const bar = '!'.repeat(78);
  console.warn(
    [
      '',
      bar,
      `!!  SKIPPING ${suite}`,
      `!!  ${reason}.`,
      `!!  drachtio-server is not packaged in Debian and is not part of this repo.`,
      `!!  To run these tests, set ${DRACHTIO_BIN_ENV}=/path/to/drachtio (or put 'drachtio' on PATH).`,
      bar,
      '',
    ].join('\n'),
  );
  return reason;
}

/** The part of vitest's `describe` that describeIfDrachtio needs (kept structural so that this
 * module does not import vitest and stays usable from globalSetup files and scripts). */
export interface SkippableDescribe {
  skipIf(condition: unknown): (name: string, fn: () => void) => void;
}

/**
 * `describe` that runs only when a drachtio-server binary is available; otherwise the suite is
 * registered as skipped (its title says why) and a loud warning naming DRACHTIO_BIN is printed.
 * Usage: `describeIfDrachtio(describe, 'my suite', () => { ... })` with vitest's `describe`.
 */
export function describeIfDrachtio(describeFn: SkippableDescribe, name: string, fn: () => void): void {
  const reason = warnDrachtioMissing(name);
  describeFn.skipIf(reason !== undefined)(reason ? `${name} [SKIPPED: ${reason}]` : name, fn);
}

/** `drachtio --version` output (trimmed), or undefined if it cannot be run within 5 s. */
export function drachtioVersion(bin = findDrachtioBinary()): Promise<string | undefined> {
  if (!bin) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    execFile(bin, ['--version'], { timeout: 5_000, env: scrubbedEnv({}) }, (err, stdout, stderr) => {
      const out = `${stdout}${stderr}`.trim();
      resolve(err && !out ? undefined : out || undefined);
    });
  });
}

export interface DrachtioServerOptions {
  /** Binary to run (default: findDrachtioBinary()). */
  bin?: string;
  /** Shared secret for the admin port (default: random). */
  secret?: string;
  /** --loglevel (default 'info'). */
  loglevel?: 'error' | 'warning' | 'notice' | 'info' | 'debug';
  /** --sofia-loglevel 0-9 (default 3). */
  sofiaLoglevel?: number;
  /** Transports of the SIP contact (default 'udp,tcp'). */
  transports?: string;
  /** Extra command-line arguments. */
  extraArgs?: string[];
  /** Extra environment for the process (any inherited DRACHTIO_* variables are removed first). */
  env?: Record<string, string>;
  /** How long to wait for the admin (and SIP TCP) port to accept connections (default 10 s). */
  startTimeoutMs?: number;
  /** Grace period after SIGTERM before SIGKILL (default 6 s; drachtio takes ~4 s to exit). */
  stopTimeoutMs?: number;
  /** Start attempts with fresh ports if the process dies during startup (default 3). */
  maxAttempts?: number;
  /** Also listen for SIP over TLS on a free port of its own (see DrachtioTlsOptions). */
  tls?: DrachtioTlsOptions;
}

/**
 * A SIP-over-TLS listener: drachtio gets a second contact `sips:127.0.0.1:<tlsPort>;transport=tls`
 * and `--key-file`/`--cert-file`/`--chain-file` (docs/tls.md#drachtio-flags). Files are PEM.
 */
export interface DrachtioTlsOptions {
  /** The server certificate (drachtio loads only the first certificate of this file). */
  certFile: string;
  /** Its private key, unencrypted. */
  keyFile: string;
  /**
   * drachtio's "chain file": loaded as the CA list its TLS context trusts, and the source from
   * which OpenSSL completes the chain it sends (intermediates). drachtio-server 0.9.10 cannot
   * open a TLS listener without a readable one (it exits: "error loading CA list: cafile.pem"), so
   * when omitted the certificate file is passed again, which sends the certificate alone.
   */
  chainFile?: string;
  /**
   * Sets DRACHTIO_TLS_VERIFY_CLIENT_CERT=1: sofia-sip's verify policy "all", i.e. certificates of
   * *both* directions are checked against the chain file: the server then requests (and requires)
   * a client certificate, and as a client drachtio checks the server's chain (not its name).
   * Default false, which is what Meta needs (it sends no client certificate).
   */
  verifyPeers?: boolean;
  /** --min-tls-version (drachtio accepts 1.0, 1.1, 1.2). */
  minTlsVersion?: 1.0 | 1.1 | 1.2;
}

export interface DrachtioServer {
  host: '127.0.0.1';
  adminPort: number;
  sipPort: number;
  secret: string;
  pid: number;
  /** `sip:127.0.0.1:<sipPort>` */
  sipUri: string;
  /** The SIP-over-TLS port (only when started with `tls`). */
  tlsPort?: number;
  /** `sip:127.0.0.1:<tlsPort>;transport=tls` (only when started with `tls`). */
  tlsUri?: string;
  /** stdout + stderr so far (last 2 MB). */
  logs(): string;
  /** SIGTERM, SIGKILL after stopTimeoutMs; resolves when the process has exited. Idempotent. */
  stop(): Promise<void>;
}

/** Children still running, killed hard if the test process exits without stopping them. */

function scrubbedEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('DRACHTIO_')) env[k] = v;
  }
  return { ...env, ...extra };
}

function configXml(adminPort: number, secret: string): string {
  return [
    '<drachtio>',
    `  <admin port="${adminPort}" secret="${secret}">${LOOPBACK}</admin>`,
    '  <logging><console/></logging>',
    '</drachtio>',
    '',
  ].join('\n');
}

function canConnect(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = tcpConnect({ host: LOOPBACK, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.removeAllListeners();
      sock.on('error', () => undefined);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => { child.off('exit', onExit); resolve(false); }, ms);
    const onExit = (): void => { clearTimeout(timer); resolve(true); };
    child.once('exit', onExit);
  });
}

/** A DrachtioServer started with `tls`: its TLS port is known. */
export type DrachtioTlsServer = DrachtioServer & { tlsPort: number; tlsUri: string };

/**
 * Starts drachtio-server on free loopback ports and resolves once its admin port (and, with a tcp
 * transport, its SIP TCP port; with `tls`, its TLS port) accepts connections. Rejects (with the
 * captured log) if the process exits or the ports do not open in time; retries with fresh ports up
 * to maxAttempts.
 */
export function startDrachtioServer(opts: DrachtioServerOptions & { tls: DrachtioTlsOptions }): Promise<DrachtioTlsServer>;
export function startDrachtioServer(opts?: DrachtioServerOptions): Promise<DrachtioServer>;
export async function startDrachtioServer(opts: DrachtioServerOptions = {}): Promise<DrachtioServer> {
  const bin = opts.bin ?? findDrachtioBinary();
  if (!bin) throw new Error(drachtioSkipReason() ?? 'drachtio-server binary not found');
  const maxAttempts = Math.max(1, opts.maxAttempts ?? 3);
  let lastErr: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      return await startOnce(bin, opts);
    } catch (err) {
      lastErr = err;
    }
  }
  throw lastErr instanceof Error ? lastErr : new Error(String(lastErr));
}

async function startOnce(bin: string, opts: DrachtioServerOptions): Promise<DrachtioServer> {
  const secret = opts.secret ?? `s${Math.random().toString(36).slice(2, 12)}`;
  const transports = opts.transports ?? 'udp,tcp';
  const sipPort = await freeUdpTcpPort();
  let adminPort = await freeTcpPort();
  for (let i = 0; adminPort === sipPort && i < 10; i++) adminPort = await freeTcpPort();
  let tlsPort: number | undefined;
  if (opts.tls) {
    tlsPort = await freeTcpPort();
    for (let i = 0; (tlsPort === sipPort || tlsPort === adminPort) && i < 10; i++) tlsPort = await freeTcpPort();
  }
  const dir = await mkdtemp(join(tmpdir(), 'watrunk-drachtio-'));
  const configPath = join(dir, 'drachtio.conf.xml');
  await writeFile(configPath, configXml(adminPort, secret));

  const args = [
    '-f', configPath,
    '--contact', `sip:${LOOPBACK}:${sipPort};transport=${transports}`,
    ...(opts.tls && tlsPort !== undefined ? tlsArgs(opts.tls, tlsPort) : []),
    '--loglevel', opts.loglevel ?? 'info',
    '--sofia-loglevel', String(opts.sofiaLoglevel ?? 3),
    ...(opts.extraArgs ?? []),
  ];
  const env = { ...(opts.tls?.verifyPeers ? { DRACHTIO_TLS_VERIFY_CLIENT_CERT: '1' } : {}), ...(opts.env ?? {}) };
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: scrubbedEnv(env), cwd: dir });
  const forget = onProcessExit(() => child.kill('SIGKILL'));
  let log = `$ ${bin} ${args.join(' ')}\n`;
  const append = (b: Buffer): void => {
    log += b.toString('utf8');
    if (log.length > 2_000_000) log = log.slice(-2_000_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let spawnError: Error | undefined;
  child.once('error', (e) => { spawnError = e; });
  child.once('exit', (code, signal) => {
    forget();
    log += `\n[drachtio exited code=${code} signal=${signal}]\n`;
  });

  let stopping: Promise<void> | undefined;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 6_000;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        try { child.kill('SIGTERM'); } catch { /* gone */ }
        if (!(await waitForExit(child, stopTimeoutMs))) {
          try { child.kill('SIGKILL'); } catch { /* gone */ }
          await waitForExit(child, 3_000);
        }
      }
      forget();
      await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const exited = (): boolean => spawnError !== undefined || child.exitCode !== null || child.signalCode !== null;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
  const needSipTcp = /\btcp\b/.test(transports);
  for (;;) {
    if (exited()) {
      await stop();
      throw new Error(`drachtio-server exited during startup${spawnError ? ` (${spawnError.message})` : ''}\n${log}`);
    }
    if ((await canConnect(adminPort)) && (!needSipTcp || (await canConnect(sipPort)))
      && (tlsPort === undefined || (await canConnect(tlsPort)))) break;
    if (Date.now() >= deadline) {
      await stop();
      const tls = tlsPort === undefined ? '' : ` / TLS port ${tlsPort}`;
      throw new Error(`drachtio-server did not open admin port ${adminPort} / SIP port ${sipPort}${tls} within ${opts.startTimeoutMs ?? 10_000} ms\n${log}`);
    }
    await sleep(50);
  }

  return {
    host: LOOPBACK,
    adminPort,
    sipPort,
    secret,
    pid: child.pid ?? -1,
    sipUri: `sip:${LOOPBACK}:${sipPort}`,
    ...(tlsPort === undefined ? {} : { tlsPort, tlsUri: `sip:${LOOPBACK}:${tlsPort};transport=tls` }),
    logs: () => log,
    stop,
  };
}

/**
 * The command-line flags of a TLS listener. The contact must use the `sips:` scheme: drachtio
 * 0.9.10 (sofia-sip) rejects an additional contact `sip:…;transport=tls` with "Protocol not
 * supported" and exits (docs/tls.md#drachtio-flags).
 */
function tlsArgs(tls: DrachtioTlsOptions, tlsPort: number): string[] {
  return [
    '--contact', `sips:${LOOPBACK}:${tlsPort};transport=tls`,
    '--key-file', tls.keyFile,
    '--cert-file', tls.certFile,
    '--chain-file', tls.chainFile ?? tls.certFile,
    ...(tls.minTlsVersion === undefined ? [] : ['--min-tls-version', String(tls.minTlsVersion)]),
  ];
}
