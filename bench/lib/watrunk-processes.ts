/**
 * watrunk and its simulator as separate processes (`node dist/cli.js start|simulate`), configured
 * for load: signalling-only simulated users who answer after `answerAfterMs`, no per-IP limits on
 * the webhook listener (every webhook comes from 127.0.0.1 here, where Meta uses many addresses),
 * no CPS cap on the trunk. Everything else is watrunk's production default: info logging, the call
 * journal on disk, signed webhooks. Logs go to files in a temp directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freeTcpPort, freeUdpPort } from '../../test/support/ports.js';

export const PHONE_NUMBER_ID = '105615555715855';
export const BUSINESS_NUMBER = '15551112222';
const SECRETS = {
  WATRUNK_META_TOKEN: 'bench-token', WATRUNK_APP_SECRET: 'bench-app-secret',
  WATRUNK_VERIFY_TOKEN: 'bench-verify', WATRUNK_ADMIN_TOKEN: 'bench-admin-token-0123456789',
};

export interface WatrunkStackOptions {
  drachtio: { port: number; secret: string };
  rtpenginePort: number;
  /** Simulated users answer this long after RINGING (which comes at once). */
  answerAfterMs: number;
  /** Simulated users hang up this long after answering; undefined: the PBX hangs up. */
  hangupAfterMs?: number;
  /** Simulator webhook deliveries in parallel. */
  webhookConcurrency?: number;
  logLevel?: string;
  /** Extra `calls:` keys for watrunk. */
  calls?: Record<string, unknown>;
  /** Inbound target for user-initiated calls. */
  inboundTarget?: string;
  /** Extra node flags for watrunk and the simulator (e.g. --cpu-prof). */
  nodeFlags?: string[];
}

export interface WatrunkStack {
  dir: string;
  watrunk: ChildProcess;
  simulator: ChildProcess;
  /** http://127.0.0.1:<port> of the simulator (Graph API and /_sim control API). */
  simUrl: string;
  /** http://127.0.0.1:<port> of watrunk's internal listener (/metrics, /readyz). */
  internalUrl: string;
  webhookUrl: string;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

function startNode(args: string[], env: Record<string, string>, logFile: string, nodeFlags: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [...nodeFlags, 'dist/cli.js', ...args], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile);
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  process.once('exit', () => child.kill('SIGKILL'));
  return child;
}

async function waitHttp(url: string, ok: (status: number) => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (ok(res.status)) return;
    } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`${what} not ready at ${url} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startWatrunkStack(opts: WatrunkStackOptions): Promise<WatrunkStack> {
  const dir = mkdtempSync(join(tmpdir(), 'watrunk-bench-'));
  const [simPort, httpPort, internalPort] = [await freeTcpPort(), await freeTcpPort(), await freeTcpPort()];
  const webhookUrl = `http://127.0.0.1:${httpPort}/webhooks/whatsapp`;
  writeFileSync(join(dir, 'simulator.yaml'), stringify({
    http: { host: '127.0.0.1', port: simPort },
    numbers: [{
      phone_number_id: PHONE_NUMBER_ID, display_number: BUSINESS_NUMBER,
      access_token_env: 'WATRUNK_META_TOKEN', app_secret_env: 'WATRUNK_APP_SECRET', webhook_url: webhookUrl,
    }],
    limits: { max_concurrent_calls: 100_000, connected_calls_per_24h: 1_000_000, auto_revoke_after_unanswered: 0, max_calls_kept: 1_000 },
    webhooks: { concurrency: opts.webhookConcurrency ?? 32 },
    default_user: {
      behaviour: 'answer', ring_ms: 0, answer_after_ms: opts.answerAfterMs, permission: 'permanent',
      ...(opts.hangupAfterMs !== undefined ? { hangup_after_ms: opts.hangupAfterMs } : {}),
    },
    media: { mode: 'signalling-only' },
  }));
  writeFileSync(join(dir, 'watrunk.yaml'), stringify({
    log: { level: opts.logLevel ?? 'info' },
    http: { host: '127.0.0.1', port: httpPort, max_connections_per_ip: 0, requests_per_ip_per_s: 0 },
    internal_http: { host: '127.0.0.1', port: internalPort },
    webhook: { verify_token_env: 'WATRUNK_VERIFY_TOKEN', app_secret_env: 'WATRUNK_APP_SECRET' },
    numbers: [{
      name: 'bench', provider: 'meta', phone_number_id: PHONE_NUMBER_ID, display_number: BUSINESS_NUMBER,
      access_token_env: 'WATRUNK_META_TOKEN', base_url: `http://127.0.0.1:${simPort}`, mode: 'api',
      max_concurrent_calls: 100_000,
      ...(opts.inboundTarget ? { inbound: { target: opts.inboundTarget, ring_timeout_s: 30 } } : {}),
    }],
    drachtio: { host: '127.0.0.1', port: opts.drachtio.port, secret_env: 'WATRUNK_DRACHTIO_SECRET' },
    rtpengine: { engines: [{ host: '127.0.0.1', port: opts.rtpenginePort }] },
    trunks: [{ name: 'sipp', sources: ['127.0.0.1'], numbers: ['bench'], max_cps: 100_000 }],
    calls: { whatsapp_media_timeout_s: 0, pbx_media_timeout_s: 0, ...opts.calls },
    journal: { enabled: process.env.BENCH_JOURNAL !== '0', path: join(dir, 'calls.journal') },
    admin: { token_env: 'WATRUNK_ADMIN_TOKEN', credentials_state_file: join(dir, 'sip-credentials.json') },
  }));
  const env = { ...SECRETS, WATRUNK_DRACHTIO_SECRET: opts.drachtio.secret };
  const simulator = startNode(['simulate', '--config', join(dir, 'simulator.yaml')], env, join(dir, 'simulator.log'), opts.nodeFlags);
  const simUrl = `http://127.0.0.1:${simPort}`;
  await waitHttp(`${simUrl}/_sim/status`, (s) => s === 200, 15_000, 'simulator');
  const watrunk = startNode(['start', '--config', join(dir, 'watrunk.yaml')], env, join(dir, 'watrunk.log'), opts.nodeFlags);
  const internalUrl = `http://127.0.0.1:${internalPort}`;
  await waitHttp(`${internalUrl}/readyz`, (s) => s === 200, 20_000, `watrunk (log: ${join(dir, 'watrunk.log')})`);
  const stopChild = (c: ChildProcess) => new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    const t = setTimeout(() => c.kill('SIGKILL'), 12_000);
    c.once('exit', () => { clearTimeout(t); resolve(); });
    c.kill('SIGTERM');
  });
  return {
    dir, watrunk, simulator, simUrl, internalUrl, webhookUrl,
    metrics: async () => (await fetch(`${internalUrl}/metrics`)).text(),
    stop: async () => { await stopChild(watrunk); await stopChild(simulator); },
  };
}

/** A free UDP port for SIPp's own SIP socket. */
export const freeSipPort = freeUdpPort;
