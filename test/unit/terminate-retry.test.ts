import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { WhatsAppCallEnder } from '../../src/calls/call-ending.js';
import { CallRegistry } from '../../src/calls/call-registry.js';
import type { BusinessInitiatedCall } from '../../src/calls/business-initiated-call.js';
import { PbxAdmission } from '../../src/calls/pbx-admission.js';
import { PbxCallIntake } from '../../src/calls/pbx-call-intake.js';
import { numberSchema, trunkSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/logging.js';
import { Metrics } from '../../src/metrics.js';
import { ProviderError } from '../../src/calls/ports/whatsapp-errors.js';
import type { ConnectRequest, WhatsAppCalls } from '../../src/calls/ports/whatsapp-provider.js';
import { FakeMediaEngine } from '../support/fakes/fake-media.js';
import { FakePbxUasLeg } from '../support/fakes/fake-pbx-uas-leg.js';
import { inviteFrom } from '../support/fakes/fake-pbx-invite.js';
import { NumberDirectory } from '../../src/calls/number-directory.js';

/**
 * `terminate` (and `reject`) are retried with back-off until Meta confirms or a terminate webhook
 * says the call is over, outside the call's own queue; a failure is counted and logged loudly.
 */

const network = () => new ProviderError('socket hang up', 'network', { operation: 'terminate' });
const serverError = () => new ProviderError('graph error 1', 'api', { httpStatus: 500, code: 1, operation: 'terminate' });
const refused = () => new ProviderError('Invalid call_id', 'api', { httpStatus: 400, code: 100, operation: 'terminate' });

/** WhatsAppCalls whose terminate/reject answers follow a script (an error, or 'ok'); the last repeats. */
class ScriptedCalls implements WhatsAppCalls {
  readonly sent: { action: string; callId?: string; at: number }[] = [];
  constructor(public script: (ProviderError | 'ok' | 'hang')[] = ['ok'], public connectError?: ProviderError) {}
  async connect(_req: ConnectRequest): Promise<{ callId: string }> {
    this.sent.push({ action: 'connect', at: Date.now() });
    if (this.connectError) throw this.connectError;
    return { callId: 'wacid.R1' };
  }
  async preAccept(): Promise<void> {}
  async accept(): Promise<void> {}
  reject(callId: string): Promise<void> { return this.answer('reject', callId); }
  terminate(callId: string): Promise<void> { return this.answer('terminate', callId); }
  count(action: string): number { return this.sent.filter((s) => s.action === action).length; }
  private answer(action: string, callId: string): Promise<void> {
    const n = this.sent.filter((s) => s.action === action).length;
    this.sent.push({ action, callId, at: Date.now() });
    const step = this.script[Math.min(n, this.script.length - 1)]!;
    if (step === 'ok') return Promise.resolve();
    if (step === 'hang') return new Promise(() => undefined);
    return Promise.reject(step);
  }
}

function capture() {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
  return { logger: createLogger('info', sink as unknown as Parameters<typeof createLogger>[1]), lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function ender(opts: { retryDelaysMs?: number[] } = {}) {
  const logs = capture();
  const metrics = new Metrics();
  const e = new WhatsAppCallEnder({ logger: logs.logger, metrics, retryDelaysMs: opts.retryDelaysMs ?? [10, 20, 30, 40] });
  const failures = async () => (await metrics.registry.getSingleMetricAsString('watrunk_terminate_failures_total'));
  return { e, logs, metrics, failures };
}

describe('WhatsAppCallEnder: terminate until Meta confirms', () => {
  it('retries network errors and 5xx with back-off, and stops at the first 2xx', async () => {
    const h = ender();
    const calls = new ScriptedCalls([network(), serverError(), 'ok']);
    const outcome = await h.e.end({ calls, action: 'terminate', waCallId: 'wacid.A', log: h.logs.logger });
    expect(outcome).toBe('confirmed');
    expect(calls.count('terminate')).toBe(3);
    const gaps = calls.sent.slice(1).map((s, i) => s.at - calls.sent[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(9);
    expect(gaps[1]).toBeGreaterThanOrEqual(19); // back-off grows
    expect(await h.failures()).not.toMatch(/} [1-9]/);
  });

  it('retries a provider failure reported in an HTTP 200 (CAMS InternalError, category server) like a 5xx', async () => {
    const h = ender();
    const inBody = new ProviderError('CAMS InternalError', 'api', { httpStatus: 200, type: 'InternalError', category: 'server', operation: 'terminate' });
    const calls = new ScriptedCalls([inBody, 'ok']);
    const outcome = await h.e.end({ calls, action: 'terminate', waCallId: 'wacid.C', log: h.logs.logger });
    expect(outcome).toBe('confirmed');
    expect(calls.count('terminate')).toBe(2);
  });

  it('gives up after 5 tries: the failure is counted and logged at error level, naming the call', async () => {
    const h = ender();
    const calls = new ScriptedCalls([network()]);
    const outcome = await h.e.end({ calls, action: 'terminate', waCallId: 'wacid.B', log: h.logs.logger });
    expect(outcome).toBe('gave_up');
    expect(calls.count('terminate')).toBe(5);
    expect(await h.failures()).toContain('watrunk_terminate_failures_total{action="terminate",reason="gave_up"} 1');
    const loud = h.logs.lines().filter((l) => l['level'] === 'error');
    expect(loud).toHaveLength(1);
    expect(loud[0]).toMatchObject({ waCallId: 'wacid.B', tries: 5 });
    expect(String(loud[0]!['msg'])).toMatch(/billed/);
  });

  it('an answer Meta will not change (4xx) is not retried, and is counted', async () => {
    const h = ender();
    const calls = new ScriptedCalls([refused()]);
    expect(await h.e.end({ calls, action: 'terminate', waCallId: 'wacid.C', log: h.logs.logger })).toBe('refused');
    expect(calls.count('terminate')).toBe(1);
    expect(await h.failures()).toContain('reason="refused"} 1');
  });

  it('a terminate webhook for the call stops the retries: the call is known ended', async () => {
    const h = ender({ retryDelaysMs: [50, 50, 50, 50] });
    const calls = new ScriptedCalls([network()]);
    const ending = h.e.end({ calls, action: 'terminate', waCallId: 'wacid.D', log: h.logs.logger });
    await new Promise((r) => setTimeout(r, 10));
    h.e.endedByWhatsApp('wacid.D');
    expect(await ending).toBe('ended_by_whatsapp');
    await new Promise((r) => setTimeout(r, 120));
    expect(calls.count('terminate')).toBe(1);
    expect(await h.failures()).not.toMatch(/} [1-9]/);
    // Once known ended, a later terminate for the same call is not sent at all.
    expect(await h.e.end({ calls, action: 'terminate', waCallId: 'wacid.D', log: h.logs.logger })).toBe('ended_by_whatsapp');
    expect(calls.count('terminate')).toBe(1);
  });

  it('two paths ending the same call share one series of tries', async () => {
    const h = ender();
    const calls = new ScriptedCalls([network(), 'ok']);
    const [a, b] = await Promise.all([
      h.e.end({ calls, action: 'terminate', waCallId: 'wacid.E', log: h.logs.logger }),
      h.e.end({ calls, action: 'terminate', waCallId: 'wacid.E', log: h.logs.logger }),
    ]);
    expect([a, b]).toEqual(['confirmed', 'confirmed']);
    expect(calls.count('terminate')).toBe(2);
  });

  it('reject is retried the same way', async () => {
    const h = ender();
    const calls = new ScriptedCalls([serverError(), 'ok']);
    expect(await h.e.end({ calls, action: 'reject', waCallId: 'wacid.F', log: h.logs.logger })).toBe('confirmed');
    expect(calls.count('reject')).toBe(2);
  });
});

describe('WhatsAppCallEnder: draining', () => {
  it('a request Meta does not answer is tried again after a short deadline, and the rest is abandoned at the drain deadline', async () => {
    const h = ender({ retryDelaysMs: [10_000, 10_000, 10_000, 10_000] });
    const calls = new ScriptedCalls(['hang']);
    const ending = h.e.end({ calls, action: 'terminate', waCallId: 'wacid.G', log: h.logs.logger });
    const started = Date.now();
    h.e.drain({ attemptWaitMs: 50 });
    const idle = await h.e.whenIdle(started + 1200);
    expect(idle).toBe(false);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(calls.count('terminate')).toBeGreaterThanOrEqual(3); // not one 10 s pause
    h.e.abandonPending();
    expect(await ending).toBe('abandoned');
    expect(await h.failures()).toContain('reason="abandoned"} 1');
  });
});

describe('BusinessInitiatedCall teardown does not wait for Meta', () => {
  it('the call ends at once (media released, CDR written) while the terminate is still being retried', async () => {
    const number = numberSchema.parse({ name: 'sales', phone_number_id: '1', display_number: '15551112222', access_token_env: 'T' });
    const trunk = trunkSchema.parse({ name: 'pbx1', sources: ['127.0.0.1'], numbers: ['sales'] });
    const calls = new ScriptedCalls([network(), network(), 'ok']);
    const media = new FakeMediaEngine();
    const registry = new CallRegistry();
    const metrics = new Metrics();
    const logs = capture();
    const e = new WhatsAppCallEnder({ logger: logs.logger, metrics, retryDelaysMs: [100, 100, 100, 100] });
    const intake = new PbxCallIntake({
      admission: new PbxAdmission(new NumberDirectory([number]), (n) => registry.countForNumber(n)),
      registry, media, metrics, logger: logs.logger, ender: e,
      timing: { noAnswerTimeoutMs: 60_000, mediaPollMs: 5, answerOnFirstMedia: false, firstMediaPackets: 3 },
      numbers: new Map([['sales', { config: number, calls }]]),
    });
    const leg = new FakePbxUasLeg();
    const call = (await intake.handleInvite(inviteFrom(leg, trunk))) as BusinessInitiatedCall;
    expect(call.whatsappCallId).toBe('wacid.R1');
    const t0 = Date.now();
    leg.cancel();
    await call.whenEnded();
    expect(Date.now() - t0).toBeLessThan(80); // not behind the retries
    expect(media.openSessions()).toEqual([]);
    expect(logs.lines().some((l) => l['cdr'] === true && l['callId'] === call.id)).toBe(true);
    expect(calls.count('terminate')).toBe(1);
    expect(await e.whenIdle(Date.now() + 2000)).toBe(true);
    expect(calls.count('terminate')).toBe(3);
  });

  it('connect is never retried (a retry could ring the user twice)', async () => {
    const number = numberSchema.parse({ name: 'sales', phone_number_id: '1', display_number: '15551112222', access_token_env: 'T' });
    const trunk = trunkSchema.parse({ name: 'pbx1', sources: ['127.0.0.1'], numbers: ['sales'] });
    const calls = new ScriptedCalls(['ok'], network());
    const registry = new CallRegistry();
    const logs = capture();
    const intake = new PbxCallIntake({
      admission: new PbxAdmission(new NumberDirectory([number]), (n) => registry.countForNumber(n)),
      registry, media: new FakeMediaEngine(), metrics: new Metrics(), logger: logs.logger,
      ender: new WhatsAppCallEnder({ logger: logs.logger, metrics: new Metrics(), retryDelaysMs: [5, 5, 5, 5] }),
      timing: { noAnswerTimeoutMs: 60_000, mediaPollMs: 5, answerOnFirstMedia: false, firstMediaPackets: 3 },
      numbers: new Map([['sales', { config: number, calls }]]),
    });
    const leg = new FakePbxUasLeg();
    await intake.handleInvite(inviteFrom(leg, trunk));
    await new Promise((r) => setTimeout(r, 50));
    expect(leg.final?.status).toBe(503);
    expect(calls.count('connect')).toBe(1);
    expect(calls.count('terminate')).toBe(0);
  });
});
