import { connect } from 'node:net';
import { startBridge, type RunningBridge } from '../../src/bridge.js';
import { validateConfig } from '../../src/config/load.js';
import { freeTcpPort } from './ports.js';
import { captureLogger } from './control-fixtures.js';

/** Shared by test/unit/http-*.test.ts: a bridge on two loopback listeners, raw sockets, captured logs. */

export const PNID = '105615555715855';
export const VERIFY_TOKEN = 'edge-verify-token';
export const APP_SECRET = 'edge-app-secret';
export const ADMIN_TOKEN = 'edge-admin-token-0123456789';

export interface EdgeBridge {
  bridge: RunningBridge;
  publicPort: number;
  internalPort: number;
  /** Every log line, parsed. */
  lines(): Array<Record<string, unknown> & { level: string; msg: string }>;
  text(): string;
  stop(): Promise<void>;
}

export async function startEdgeBridge(opts: {
  http?: Record<string, unknown>;
  internalHttp?: Record<string, unknown>;
  extra?: Record<string, unknown>;
  graphUrl?: string;
  graphToken?: string;
} = {}): Promise<EdgeBridge> {
  const publicPort = await freeTcpPort();
  const internalPort = await freeTcpPort();
  const logs = captureLogger('info');
  const config = validateConfig({
    http: { host: '127.0.0.1', port: publicPort, ...opts.http },
    internal_http: { host: '127.0.0.1', port: internalPort, ...opts.internalHttp },
    webhook: { max_body_bytes: 4096 },
    numbers: [{ name: 'sales', phone_number_id: PNID, display_number: '15551112222', access_token_env: 'T', base_url: opts.graphUrl ?? 'http://127.0.0.1:9', timeout_ms: 200 }],
    admin: { token_env: 'ADMIN' },
    ...opts.extra,
  });
  const bridge = await startBridge({
    file: 'test', config,
    secrets: { verifyToken: VERIFY_TOKEN, appSecret: APP_SECRET, accessTokens: new Map([['sales', opts.graphToken ?? 'graph-token-x']]), trunkPasswords: new Map(), adminToken: ADMIN_TOKEN },
  }, { logger: logs.logger });
  return {
    bridge, publicPort, internalPort, text: logs.text,
    lines: () => logs.text().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown> & { level: string; msg: string }),
    stop: () => bridge.stop(),
  };
}

export interface RawExchange {
  /** Everything the server sent. */
  response: string;
  /** The status line's code, if a response came. */
  status?: number;
  /** Milliseconds from connect until the server closed, or undefined if the client gave up first. */
  closedAfterMs?: number;
}

/**
 * Writes `request` on a fresh TCP connection and waits until the server closes it, at most
 * `giveUpMs` (then the client closes: closedAfterMs stays undefined). `abortAfterMs` closes
 * the client side early instead (an aborted upload).
 */
export function rawExchange(port: number, request: string, opts: { giveUpMs?: number; abortAfterMs?: number } = {}): Promise<RawExchange> {
  return new Promise((resolve) => {
    const started = Date.now();
    let response = '';
    let gaveUp = false;
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    socket.on('data', (d) => { response += d.toString('latin1'); });
    socket.on('error', () => undefined);
    const timer = setTimeout(() => { gaveUp = true; socket.destroy(); }, opts.abortAfterMs ?? opts.giveUpMs ?? 3_000);
    socket.on('close', () => {
      clearTimeout(timer);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(response);
      resolve({ response, ...(m && { status: Number(m[1]) }), ...(!gaveUp && { closedAfterMs: Date.now() - started }) });
    });
  });
}

export function header(response: string, name: string): string | undefined {
  const head = response.split('\r\n\r\n')[0] ?? '';
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}

export async function rejections(bridge: RunningBridge, labels: Record<string, string>): Promise<number> {
  const values = (await bridge.metrics.httpRejections.get()).values;
  return values.filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
