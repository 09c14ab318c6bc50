import { Writable } from 'node:stream';
import { pino } from 'pino';
import { validateConfig } from '../../src/config/load.js';
import type { ConfigFile } from '../../src/config/schema.js';
import { ControlPlane, type ControlNumber } from '../../src/control/control-plane.js';
import { createLogger, type Logger } from '../../src/logging.js';
import { Metrics } from '../../src/metrics.js';
import { createSimulator, parseSimulatorConfig, type Simulator, type SimulatorConfigInput } from '../../src/simulator/index.js';

/** Shared by test/unit/control-*.test.ts (and admin-audit, http-*): the simulator on 127.0.0.1, a config pointing at it, captured logs. */

export const PNID = '105615555715855';
export const DISPLAY = '15551112222';
export const TOKEN = 'control-test-token';
export const APP_SECRET = 'control-test-app-secret';

export interface ControlSim {
  sim: Simulator;
  url: string;
  close(): Promise<void>;
}

export async function startControlSim(opts: {
  calling?: Record<string, unknown>;
  users?: SimulatorConfigInput['users'];
  clock?: () => number;
  webhookUrl?: string;
  limits?: SimulatorConfigInput['limits'];
  logger?: Logger;
} = {}): Promise<ControlSim> {
  const sim = createSimulator(parseSimulatorConfig({
    http: { host: '127.0.0.1', port: 0 },
    numbers: [{
      phone_number_id: PNID, display_number: DISPLAY, access_token: TOKEN, app_secret: APP_SECRET,
      webhook_url: opts.webhookUrl ?? 'http://127.0.0.1:9/webhook',
      ...(opts.calling && { calling: opts.calling }),
    }],
    users: opts.users ?? [],
    webhooks: { max_attempts: 1, timeout_ms: 200 },
    ...(opts.limits && { limits: opts.limits }),
  }), { logger: opts.logger ?? pino({ level: 'silent' }), ...(opts.clock && { clock: opts.clock }) });
  const { url } = await sim.listen();
  return { sim, url, close: () => sim.close() };
}

/** A watrunk config with one number `sales` on the simulator. */
export function controlConfig(simUrl: string, number: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): ConfigFile {
  return validateConfig({
    numbers: [{ name: 'sales', phone_number_id: PNID, display_number: DISPLAY, access_token_env: 'SALES_TOKEN', base_url: simUrl, timeout_ms: 2000, ...number }],
    ...extra,
  });
}

/** A logger (with watrunk's redaction) whose every line is kept, at trace level: tests search it for secrets. */
export function captureLogger(level = 'trace'): { logger: Logger; text(): string } {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
  return { logger: createLogger(level, sink as unknown as Parameters<typeof createLogger>[1]), text: () => lines.join('') };
}

export function planFor(config: ConfigFile, logger: Logger, opts: { clock?: () => number } = {}): ControlPlane {
  return new ControlPlane({
    config, accessTokens: new Map(config.numbers.map((n) => [n.name, TOKEN])), logger, metrics: new Metrics(), retryDelayMs: 5,
    ...(opts.clock && { clock: opts.clock }),
  });
}

/** Records every settings POST of a control number (the focused updates). */
export function recordUpdates(n: ControlNumber): Array<Record<string, unknown>> {
  const sent: Array<Record<string, unknown>> = [];
  const inner = n.settings;
  n.settings = {
    getSettings: (o) => inner.getSettings(o),
    updateSettings: async (calling) => { sent.push(structuredClone(calling)); await inner.updateSettings(calling); },
  };
  return sent;
}

/** A CliIo that keeps what a command prints. */
export function bufferIo(): { io: { out(l: string): void; err(l: string): void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l) => { out.push(l); }, err: (l) => { err.push(l); } }, out, err };
}

export async function until(cond: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
