import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, parseSimulatorConfig, type Simulator } from '../../src/simulator/index.js';
import { BUSINESS_NUMBER, PNID, SECRETS } from '../support/fake-pbx-bridge.js';
import { freeTcpPort } from '../support/ports.js';

/**
 * kill -9 in the middle of two answered calls (one each way), then a fresh start on the same
 * journal: the simulator (playing Meta) receives `terminate` for both, and the new process writes a
 * CDR with cause recovered_after_crash for each. The bridge runs in a child process
 * (test/support/bridge-child.ts under vite-node) so that it can really be killed.
 */

const VITE_NODE = join(process.cwd(), 'node_modules', 'vite-node', 'vite-node.mjs');
const CHILD = join(process.cwd(), 'test', 'support', 'bridge-child.ts');

interface Child {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<void>;
  send(line: string): void;
}

let sim: Simulator;
let simUrl: string;
let port: number;
let journalPath: string;
const children: Child[] = [];

function startChild(): Child {
  const proc = spawn(process.execPath, [VITE_NODE, CHILD], {
    cwd: process.cwd(),
    env: { ...process.env, WATRUNK_CHILD_SIM_URL: simUrl, WATRUNK_CHILD_PORT: String(port), WATRUNK_CHILD_JOURNAL: journalPath },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    try { lines.push(JSON.parse(l) as Record<string, unknown>); } catch { lines.push({ text: l }); }
  });
  const stderr: string[] = [];
  proc.stderr!.on('data', (d: Buffer) => stderr.push(String(d)));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const child: Child = { proc, lines, exited, send: (l) => proc.stdin!.write(`${l}\n`) };
  children.push(child);
  return child;
}

beforeAll(async () => {
  port = await freeTcpPort();
  journalPath = join(mkdtempSync(join(tmpdir(), 'watrunk-crash-')), 'var', 'calls.journal');
  sim = createSimulator(parseSimulatorConfig({
    http: { host: '127.0.0.1', port: 0 },
    numbers: [{ phone_number_id: PNID, display_number: BUSINESS_NUMBER, access_token: SECRETS.token, app_secret: SECRETS.appSecret, webhook_url: `http://127.0.0.1:${port}/webhooks/whatsapp` }],
    // Nobody hangs up: only watrunk can end these calls.
    default_user: { behaviour: 'answer', ring_ms: 10, answer_after_ms: 50, permission: 'temporary' },
    timing: { accept_window_ms: 30_000 },
    // The dead bridge cannot take webhooks: fail fast instead of retrying into it.
    webhooks: { timeout_ms: 1000, max_attempts: 1 },
  }), { logger: pino({ level: 'silent' }) });
  ({ url: simUrl } = await sim.listen());
});

afterAll(async () => {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  await sim?.close();
});

async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`not reached in time: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const started = (c: Child) => c.lines.some((l) => l['msg'] === 'watrunk started');
const actionsOf = (callId: string) => sim.getCall(callId)?.actions.map((a) => a.action) ?? [];

describe('crash recovery across processes', () => {
  it('after kill -9, the next start terminates the calls left open at Meta and writes their CDRs', async () => {
    const first = startChild();
    await until('first bridge started', () => started(first));

    const { callId: userCall } = await sim.startUserCall({ from: '447700900601' });
    first.send('bic 447700900602');
    await until('both calls answered', () => sim.getCall(userCall)?.state === 'accepted'
      && sim.listCalls().some((c) => c.direction === 'BUSINESS_INITIATED' && c.state === 'accepted'));
    const businessCall = sim.listCalls().find((c) => c.direction === 'BUSINESS_INITIATED')!.id;

    first.proc.kill('SIGKILL');
    await first.exited;
    expect(first.lines.some((l) => l['cdr'] === true)).toBe(false); // it never got to end them
    expect(sim.getCall(userCall)?.state).toBe('accepted');
    expect(sim.getCall(businessCall)?.state).toBe('accepted');

    const second = startChild();
    await until('both calls terminated by the restarted bridge', () => sim.getCall(userCall)?.state === 'ended' && sim.getCall(businessCall)?.state === 'ended');
    expect(actionsOf(userCall)).toEqual(['accept', 'terminate']);
    expect(actionsOf(businessCall)).toEqual(['connect', 'terminate']);
    expect(sim.getCall(userCall)?.endedBy).toBe('business');

    await until('recovered CDRs written', () => second.lines.filter((l) => l['cdr'] === true).length === 2);
    const cdrs = second.lines.filter((l) => l['cdr'] === true);
    expect(cdrs).toEqual(expect.arrayContaining([
      expect.objectContaining({ waCallId: userCall, direction: 'USER_INITIATED', cause: 'recovered_after_crash', endResult: 'confirmed' }),
      expect.objectContaining({ waCallId: businessCall, direction: 'BUSINESS_INITIATED', cause: 'recovered_after_crash', endResult: 'confirmed' }),
    ]));

    second.proc.kill('SIGTERM');
    await second.exited;
    expect(second.proc.exitCode).toBe(0);
  }, 60_000);
});
