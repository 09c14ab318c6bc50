/**
 * A private Kamailio (Debian package kamailio, 5.6) as a stateful Record-Routing proxy on
 * 127.0.0.1, for tests where in-dialog requests must follow a Route set (re-INVITE, BYE, ACK).
 *
 * Routing: initial requests get record_route() (when enabled) and go to `forwardTo` if given,
 * else to their Request-URI; in-dialog requests follow loose_route(). An OPTIONS to the proxy
 * itself (no user part) is answered 200, which is also the readiness probe.
 * Every request is logged as `rx METHOD R-URI from IP:PORT` (see logs()).
 * With `tls`, a SIP-over-TLS listener as well, on a port of its own (Debian package
 * kamailio-tls-modules, tls.so): it asks no client certificate, and as a TLS client it does not
 * verify the server (test CAs are private). Record-Route over TLS: record_route() adds one entry
 * (`;transport=tls`) when a request enters and leaves through the same TLS socket, and two (double
 * Record-Route, the rr module's enable_double_rr) when the transports or sockets differ.
 * Runs in the foreground (-DD) logging to stderr (-E), as its own process group, since its
 * worker processes must go down with it.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpPort, freeUdpTcpPort } from './ports.js';
import { waitFor } from './media/wait.js';
import { findBinary, spawnLogged, tail } from './phones/process.js';

export type KamailioTransport = 'udp' | 'tcp' | 'both';

/** A SIP-over-TLS listener (PEM files). */
export interface KamailioTlsOptions {
  /** The server certificate (with any intermediates after it). */
  certFile: string;
  /** Its private key, unencrypted. */
  keyFile: string;
  /** CA list offered to peers (not used for verification: no peer certificate is required or checked). */
  caFile?: string;
  /** TLS port on 127.0.0.1 (default: a free TCP port other than the UDP/TCP one). */
  port?: number;
}

export interface KamailioOptions {
  /** Listening port on 127.0.0.1 (default: free for UDP and TCP). */
  port?: number;
  /** Listen on UDP, TCP or both (default 'both'). */
  transport?: KamailioTransport;
  /** record_route() on initial requests (default true). */
  recordRoute?: boolean;
  /** Send every initial request here instead of to its Request-URI. */
  forwardTo?: { host: string; port: number; transport?: 'udp' | 'tcp' | 'tls' };
  /** Kamailio `debug` level (default 2 = info, which includes the per-request line). */
  debug?: number;
  /** How long to wait for the OPTIONS probe to be answered (default 8 s). */
  startTimeoutMs?: number;
  /** Also listen for SIP over TLS (needs tls.so, see kamailioTlsSkipReason). */
  tls?: KamailioTlsOptions;
}

export interface KamailioInstance {
  host: '127.0.0.1';
  port: number;
  /** The SIP-over-TLS port (only when started with `tls`). */
  tlsPort?: number;
  /** `sip:127.0.0.1:<tlsPort>;transport=tls` (only when started with `tls`). */
  tlsUri?: string;
  pid: number;
  /** The generated configuration, for failure messages. */
  cfg: string;
  logs(): string;
  /** SIGTERM, then SIGKILL of the whole process group after 3 s. Idempotent. */
  stop(): Promise<void>;
}

/** The kamailio binary (env KAMAILIO_BIN, else PATH or /usr/sbin), undefined when absent. */
export function kamailioBinary(): string | undefined {
  return findBinary('kamailio', 'KAMAILIO_BIN');
}

/** Directory holding tm.so etc. (env KAMAILIO_MODULES, else the usual distribution paths). */
export function kamailioModuleDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [env.KAMAILIO_MODULES];
  try {
    for (const d of readdirSync('/usr/lib')) candidates.push(join('/usr/lib', d, 'kamailio', 'modules'));
  } catch { /* no /usr/lib */ }
  candidates.push('/usr/lib/kamailio/modules', '/usr/lib64/kamailio/modules', '/usr/local/lib64/kamailio/modules', '/usr/local/lib/kamailio/modules');
  return candidates.find((d): d is string => !!d && existsSync(join(d, 'tm.so')));
}

const MODULES = ['tm', 'sl', 'rr', 'pv', 'xlog', 'textops', 'maxfwd', 'siputils'];

/** Why Kamailio tests must skip, or undefined when they can run. */
export function kamailioSkipReason(): string | undefined {
  if (!kamailioBinary()) return 'kamailio not found (apt-get install kamailio, or set KAMAILIO_BIN)';
  const dir = kamailioModuleDir();
  if (!dir) return 'kamailio modules not found (set KAMAILIO_MODULES)';
  const missing = MODULES.filter((m) => !existsSync(join(dir, `${m}.so`)));
  if (missing.length) return `kamailio modules missing in ${dir}: ${missing.join(', ')}`;
  return undefined;
}

/** Why Kamailio tests with a TLS listener must skip (kamailioSkipReason, or tls.so missing), or undefined. */
export function kamailioTlsSkipReason(): string | undefined {
  const skip = kamailioSkipReason();
  if (skip) return skip;
  const dir = kamailioModuleDir() as string;
  if (!existsSync(join(dir, 'tls.so'))) return `kamailio TLS module missing in ${dir}: tls.so (apt-get install kamailio-tls-modules)`;
  return undefined;
}

/**
 * The tls module's profiles (https://www.kamailio.org/docs/modules/5.6.x/modules/tls.html): the
 * server asks for no client certificate (Meta sends none) and the client checks no server
 * certificate (the tests' CA is private).
 */
function tlsConfigText(tls: KamailioTlsOptions): string {
  return `[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
certificate = ${tls.certFile}
private_key = ${tls.keyFile}
${tls.caFile ? `ca_list = ${tls.caFile}\n` : ''}
[client:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
`;
}

function configText(port: number, moduleDir: string, opts: KamailioOptions, tls?: { port: number; cfgPath: string }): string {
  const transport = opts.transport ?? 'both';
  const listen: string[] = [];
  if (transport !== 'tcp') listen.push(`listen=udp:127.0.0.1:${port}`);
  if (transport !== 'udp') listen.push(`listen=tcp:127.0.0.1:${port}`);
  if (tls) listen.push(`listen=tls:127.0.0.1:${tls.port}`);
  const fwd = opts.forwardTo;
  const forward = fwd
    ? `    $du = "sip:${fwd.host}:${fwd.port}${fwd.transport === 'tcp' || fwd.transport === 'tls' ? `;transport=${fwd.transport}` : ''}";\n`
    : '';
  // TLS runs over Kamailio's TCP layer, so TCP stays enabled with a TLS listener.
  const tlsGlobals = tls ? 'enable_tls=yes\n' : '';
  const tlsModule = tls ? `loadmodule "tls.so"\nmodparam("tls", "config", "${tls.cfgPath}")\n` : '';
  return `#!KAMAILIO
debug=${opts.debug ?? 2}
log_stderror=yes
children=1
tcp_children=1
auto_aliases=no
disable_tcp=${transport === 'udp' && !tls ? 'yes' : 'no'}
${tlsGlobals}${listen.join('\n')}
mpath="${moduleDir}/"
${tlsModule}${MODULES.map((m) => `loadmodule "${m}.so"`).join('\n')}
modparam("rr", "append_fromtag", 1)

request_route {
  xlog("L_INFO", "rx $rm $ru from $si:$sp\\n");
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
    sl_send_reply("404", "Not here");
    exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
  if (is_method("OPTIONS") && uri==myself && $rU==$null) { sl_send_reply("200", "OK"); exit; }
  t_check_trans();
  remove_hf("Route");
${opts.recordRoute === false ? '' : '  if (!is_method("REGISTER")) { record_route(); }\n'}${forward}  if (!t_relay()) { sl_reply_error(); }
  exit;
}
`;
}

/**
 * Sends an OPTIONS to 127.0.0.1:`port` and resolves with the status line, or undefined if none.
 * Over 'tls' the server's certificate is not checked.
 */
export async function sipOptionsPing(port: number, transport: 'udp' | 'tcp' | 'tls', timeoutMs = 500): Promise<string | undefined> {
  const branch = `z9hG4bK${Math.random().toString(36).slice(2)}`;
  const build = (localPort: number): string => [
    `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/${transport.toUpperCase()} 127.0.0.1:${localPort};branch=${branch};rport`,
    'Max-Forwards: 70',
    `From: <sip:probe@127.0.0.1>;tag=${branch.slice(7)}`,
    `To: <sip:127.0.0.1:${port}>`,
    `Call-ID: ${branch}@127.0.0.1`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
  const statusLine = (b: Buffer): string | undefined => {
    const first = b.toString('utf8').split('\r\n')[0];
    return first?.startsWith('SIP/2.0 ') ? first : undefined;
  };
  if (transport === 'udp') {
    const sock = createSocket('udp4');
    try {
      return await new Promise<string | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), timeoutMs);
        sock.on('message', (m) => { clearTimeout(timer); resolve(statusLine(m)); });
        sock.on('error', () => { clearTimeout(timer); resolve(undefined); });
        sock.bind(0, '127.0.0.1', () => sock.send(build(sock.address().port), port, '127.0.0.1'));
      });
    } finally {
      try { sock.close(); } catch { /* closed */ }
    }
  }
  return new Promise<string | undefined>((resolve) => {
    const s = transport === 'tls'
      ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false })
      : connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const done = (v: string | undefined): void => { clearTimeout(timer); s.destroy(); resolve(v); };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    s.once(transport === 'tls' ? 'secureConnect' : 'connect', () => s.write(build(s.localPort ?? 0)));
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.includes('\r\n')) done(statusLine(buf));
    });
    s.once('error', () => done(undefined));
  });
}

/** Starts Kamailio and resolves once it answers an OPTIONS on (each of) its transport(s), TLS included. */
export async function startKamailio(opts: KamailioOptions = {}): Promise<KamailioInstance> {
  const skip = opts.tls ? kamailioTlsSkipReason() : kamailioSkipReason();
  if (skip) throw new Error(skip);
  const bin = kamailioBinary() as string;
  const moduleDir = kamailioModuleDir() as string;
  const transport = opts.transport ?? 'both';
  const dir = await mkdtemp(join(tmpdir(), 'watrunk-kamailio-'));
  const attempts = opts.port === undefined && opts.tls?.port === undefined ? 3 : 1;
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = opts.port ?? (await freeUdpTcpPort());
    let tls: { port: number; cfgPath: string } | undefined;
    if (opts.tls) {
      let tlsPort = opts.tls.port ?? (await freeTcpPort());
      for (let i = 0; opts.tls.port === undefined && tlsPort === port && i < 10; i++) tlsPort = await freeTcpPort();
      tls = { port: tlsPort, cfgPath: join(dir, 'tls.cfg') };
      writeFileSync(tls.cfgPath, tlsConfigText(opts.tls));
    }
    const cfg = configText(port, moduleDir, opts, tls);
    const cfgPath = join(dir, 'kamailio.cfg');
    writeFileSync(cfgPath, cfg);
    // Small shared and private memory (MB): two of these run beside rtpengine and the phones.
    const args = ['-f', cfgPath, '-DD', '-E', '-P', join(dir, 'kamailio.pid'), '-Y', dir, '-m', '32', '-M', '4'];
    const proc = spawnLogged(bin, args, { cwd: dir, group: true });
    try {
      const probes: ('udp' | 'tcp' | 'tls')[] = transport === 'both' ? ['udp', 'tcp'] : [transport];
      if (tls) probes.push('tls');
      for (const t of probes) {
        const probePort = t === 'tls' ? tls!.port : port;
        await waitFor(`kamailio answers OPTIONS over ${t} on 127.0.0.1:${probePort}`, async () => {
          const st = proc.exitStatus();
          if (st) throw new Error(`kamailio exited during start-up (code ${st.code}, signal ${st.signal})`);
          const status = await sipOptionsPing(probePort, t, 300);
          return status?.startsWith('SIP/2.0 200') ? status : undefined;
        }, { timeoutMs: opts.startTimeoutMs ?? 8_000, intervalMs: 100 });
      }
      let stopping: Promise<void> | undefined;
      return {
        host: '127.0.0.1',
        port,
        ...(tls && { tlsPort: tls.port, tlsUri: `sip:127.0.0.1:${tls.port};transport=tls` }),
        pid: proc.pid,
        cfg,
        logs: () => proc.logs(),
        stop: () => (stopping ??= (async () => {
          await proc.stop(3_000);
          await rm(dir, { recursive: true, force: true }).catch(() => undefined);
        })()),
      };
    } catch (e) {
      lastError = new Error(`${(e as Error).message}\n--- kamailio output ---\n${tail(proc.logs())}\n--- cfg ---\n${cfg}`);
      await proc.stop(1_000);
    }
  }
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  throw lastError ?? new Error('kamailio did not start');
}
