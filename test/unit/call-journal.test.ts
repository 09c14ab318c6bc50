import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { WhatsAppCallEnder } from '../../src/calls/call-ending.js';
import { CallRegistry } from '../../src/calls/call-registry.js';
import type { UserInitiatedCall } from '../../src/calls/user-initiated-call.js';
import type { BusinessInitiatedCall } from '../../src/calls/business-initiated-call.js';
import { PbxAdmission } from '../../src/calls/pbx-admission.js';
import { PbxCallIntake } from '../../src/calls/pbx-call-intake.js';
import { WhatsAppCallIntake } from '../../src/calls/whatsapp-call-intake.js';
import { numberSchema, trunkSchema } from '../../src/config/schema.js';
import { FileCallJournal, readCallJournal, type JournaledCall } from '../../src/journal/call-journal.js';
import { CrashRecovery } from '../../src/journal/crash-recovery.js';
import { JournaledWhatsAppCalls } from '../../src/journal/journaled-calls.js';
import { createLogger } from '../../src/logging.js';
import { Metrics } from '../../src/metrics.js';
import { ProviderError } from '../../src/calls/ports/whatsapp-errors.js';
import type { CallEvent, CallOffered } from '../../src/calls/ports/whatsapp-events.js';
import type { ConnectRequest, WhatsAppCalls } from '../../src/calls/ports/whatsapp-provider.js';
import { FakeMediaEngine } from '../support/fakes/fake-media.js';
import { FakePbxDialer } from '../support/fakes/fake-pbx-dialer.js';
import { FakePbxUasLeg } from '../support/fakes/fake-pbx-uas-leg.js';
import { inviteFrom } from '../support/fakes/fake-pbx-invite.js';
import { NumberDirectory } from '../../src/calls/number-directory.js';
import { createConceptoMovilNumber } from '../../src/adapters/conceptomovil/conceptomovil-number.js';
import { GraphStub } from '../support/meta-graph-stub.js';

/** The journal of live WhatsApp calls, and what a start-up does with the calls a crash left in it. */

const dir = () => mkdtempSync(join(tmpdir(), 'watrunk-journal-'));
const network = () => new ProviderError('socket hang up', 'network', { operation: 'terminate' });

function capture() {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
  return { logger: createLogger('info', sink as unknown as Parameters<typeof createLogger>[1]), lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** A provider that records what it is asked; `onConnect`/`onAccept` run before it answers. */
class RecordingCalls implements WhatsAppCalls {
  readonly sent: { action: string; callId?: string }[] = [];
  failFirst = new Set<string>();
  onConnect?: () => void;
  onAccept?: () => void;
  lastTo?: string;
  async connect(req: ConnectRequest): Promise<{ callId: string }> {
    this.lastTo = req.to;
    this.onConnect?.();
    this.sent.push({ action: 'connect' });
    return { callId: 'wacid.BIC1' };
  }
  async preAccept(callId: string): Promise<void> { this.sent.push({ action: 'pre_accept', callId }); }
  async accept(callId: string): Promise<void> { this.onAccept?.(); this.sent.push({ action: 'accept', callId }); }
  async reject(callId: string): Promise<void> { this.answer('reject', callId); }
  async terminate(callId: string): Promise<void> { this.answer('terminate', callId); }
  actions(): string[] { return this.sent.map((s) => `${s.action}${s.callId ? ` ${s.callId}` : ''}`); }
  private answer(action: string, callId: string): void {
    this.sent.push({ action, callId });
    if (this.failFirst.delete(callId)) throw network();
  }
}

const entry = (over: Partial<JournaledCall> & { callId: string }): JournaledCall => ({
  number: 'sales', direction: 'BUSINESS_INITIATED', startedAt: '2026-01-01T10:00:00.000Z', endWith: 'terminate', ...over,
});

describe('FileCallJournal', () => {
  it('calls recorded and not forgotten are found again by the next start', async () => {
    const path = join(dir(), 'var', 'calls.journal');
    const logs = capture();
    const j = await FileCallJournal.open(path, { logger: logs.logger });
    expect(j.leftOver).toEqual([]);
    await j.record(entry({ callId: 'wt-1' }));
    await j.record(entry({ callId: 'wt-2', waCallId: 'wacid.2', direction: 'USER_INITIATED', endWith: 'reject' }));
    await j.record(entry({ callId: 'wt-1', waCallId: 'wacid.1' }));
    j.forget('wt-2');
    // A kill -9 now: no close(). What is on disk is what the next start sees.
    await j.flushed();
    expect(readCallJournal(path).map((c) => c.callId)).toEqual(['wt-1']);
    const again = await FileCallJournal.open(path, { logger: logs.logger });
    expect(again.leftOver).toEqual([entry({ callId: 'wt-1', waCallId: 'wacid.1' })]);
    await again.close();
    await j.close();
  });

  it('sync interval: a record is in the file when record() resolves, before its fdatasync, and is synced by the interval', async () => {
    const path = join(dir(), 'calls.journal');
    const j = await FileCallJournal.open(path, { logger: capture().logger, sync: { mode: 'interval', intervalMs: 60_000 } });
    const handle = (j as unknown as { handle: { datasync(): Promise<void> } }).handle;
    let syncs = 0;
    const real = handle.datasync.bind(handle);
    handle.datasync = async () => { syncs++; await real(); };
    await j.record(entry({ callId: 'wt-1', waCallId: 'wacid.1' }));
    // What a kill -9 leaves: the kernel has the line although no fdatasync has run yet.
    expect(syncs).toBe(0);
    expect(readCallJournal(path).map((c) => c.callId)).toEqual(['wt-1']);
    await j.close(); // close() syncs what the interval has not
    expect(syncs).toBe(1);

    const quick = await FileCallJournal.open(path, { logger: capture().logger, sync: { mode: 'interval', intervalMs: 20 } });
    const h2 = (quick as unknown as { handle: { datasync(): Promise<void> } }).handle;
    let synced = 0;
    const real2 = h2.datasync.bind(h2);
    h2.datasync = async () => { synced++; await real2(); };
    await quick.record(entry({ callId: 'wt-2', waCallId: 'wacid.2' }));
    await quick.record(entry({ callId: 'wt-3', waCallId: 'wacid.3' }));
    const until = Date.now() + 2_000;
    while (synced === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(synced).toBe(1); // one fdatasync for both records
    await quick.close();
  });

  it('a line torn by a crash in the middle of a write is ignored', async () => {
    const path = join(dir(), 'calls.journal');
    writeFileSync(path, `${JSON.stringify({ put: entry({ callId: 'wt-1', waCallId: 'wacid.1' }) })}\n{"put":{"callId":"wt-2","wa`);
    const j = await FileCallJournal.open(path, { logger: capture().logger });
    expect(j.leftOver.map((c) => c.callId)).toEqual(['wt-1']);
    // The torn tail is gone after the start-up rewrite, so new lines do not glue onto it.
    await j.record(entry({ callId: 'wt-3', waCallId: 'wacid.3' }));
    await j.flushed();
    expect(readCallJournal(path).map((c) => c.callId)).toEqual(['wt-1', 'wt-3']);
    await j.close();
  });

  it('is compacted: only live calls are kept once enough lines have been written', async () => {
    const path = join(dir(), 'calls.journal');
    const j = await FileCallJournal.open(path, { logger: capture().logger, compactAfterLines: 20 });
    for (let i = 0; i < 30; i++) {
      await j.record(entry({ callId: `wt-${i}`, waCallId: `wacid.${i}` }));
      if (i !== 7) j.forget(`wt-${i}`);
    }
    await j.flushed();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThan(20);
    expect(readCallJournal(path).map((c) => c.callId)).toEqual(['wt-7']);
    await j.close();
  });
});

describe('the journal around a call', () => {
  const number = numberSchema.parse({
    name: 'sales', phone_number_id: '1', display_number: '15551112222', access_token_env: 'T',
    inbound: { target: 'sip:{to}@127.0.0.1:5080' },
  });

  it('PBX -> WhatsApp: the intent is on disk before connect, the WhatsApp call id right after, and it is cleared when the call has ended', async () => {
    const path = join(dir(), 'calls.journal');
    const logs = capture();
    const journal = await FileCallJournal.open(path, { logger: logs.logger });
    const calls = new RecordingCalls();
    let atConnect: JournaledCall[] = [];
    calls.onConnect = () => { atConnect = readCallJournal(path); };
    const registry = new CallRegistry();
    const ender = new WhatsAppCallEnder({ logger: logs.logger, metrics: new Metrics(), retryDelaysMs: [100, 100, 100, 100] });
    const intake = new PbxCallIntake({
      admission: new PbxAdmission(new NumberDirectory([number]), (n) => registry.countForNumber(n)),
      registry, media: new FakeMediaEngine(), metrics: new Metrics(), logger: logs.logger, ender, journal, newId: () => 'wt-out-1',
      timing: { noAnswerTimeoutMs: 60_000, mediaPollMs: 5, answerOnFirstMedia: false, firstMediaPackets: 3 },
      numbers: new Map([['sales', { config: number, calls }]]),
    });
    const leg = new FakePbxUasLeg();
    const call = (await intake.handleInvite(inviteFrom(leg, trunkSchema.parse({ name: 'pbx', sources: ['127.0.0.1'], numbers: ['sales'] })))) as BusinessInitiatedCall;
    expect(atConnect).toEqual([{ callId: 'wt-out-1', number: 'sales', direction: 'BUSINESS_INITIATED', startedAt: expect.any(String), endWith: 'terminate', user: calls.lastTo }]);
    expect(calls.lastTo).toMatch(/^[0-9]+$/);
    await journal.flushed();
    expect(readCallJournal(path)).toEqual([{ ...atConnect[0], waCallId: 'wacid.BIC1' }]);

    calls.failFirst.add('wacid.BIC1');
    leg.cancel();
    await call.whenEnded();
    await journal.flushed();
    // Ended here, but Meta has not confirmed the terminate yet: still journaled, CDR already written.
    expect(readCallJournal(path)).toEqual([{ ...atConnect[0], waCallId: 'wacid.BIC1', cdrWritten: true }]);
    await ender.whenIdle(Date.now() + 1000);
    await journal.flushed();
    expect(readCallJournal(path)).toEqual([]);
    await journal.close();
  });

  it('WhatsApp -> PBX: the call is on disk before accept is sent, and cleared when it ends', async () => {
    const path = join(dir(), 'calls.journal');
    const logs = capture();
    const journal = await FileCallJournal.open(path, { logger: logs.logger });
    const calls = new RecordingCalls();
    let atAccept: JournaledCall[] = [];
    calls.onAccept = () => { atAccept = readCallJournal(path); };
    const registry = new CallRegistry();
    const dialer = new FakePbxDialer();
    const intake = new WhatsAppCallIntake({
      registry, numbers: new Map([['sales', { config: number, calls }]]), media: new FakeMediaEngine(), dialer,
      inboundPasswords: new Map(), logger: logs.logger, metrics: new Metrics(), newId: () => 'wt-in-1', journal,
      ender: new WhatsAppCallEnder({ logger: logs.logger, metrics: new Metrics() }),
    });
    const offer: CallOffered = {
      kind: 'call.offered', direction: 'USER_INITIATED', phoneNumberId: '1', callId: 'wacid.UIC1', timestamp: 1767168000,
      user: { number: '447700900123' }, businessNumber: '15551112222', sdpOffer: 'v=0\r\n',
    };
    const call = (await intake.handleOffer(offer, 'sales')) as UserInitiatedCall;
    await new Promise((r) => setImmediate(r));
    dialer.last.answer('v=0\r\no=- 3 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30010 RTP/AVP 0\r\n');
    for (let i = 0; i < 10 && call.state !== 'answered'; i++) { await new Promise((r) => setImmediate(r)); await call.idle(); }
    expect(call.state).toBe('answered');
    expect(atAccept).toEqual([{ callId: 'wt-in-1', waCallId: 'wacid.UIC1', number: 'sales', direction: 'USER_INITIATED', startedAt: expect.any(String), endWith: 'terminate', user: '447700900123' }]);
    dialer.last.bye();
    await call.whenEnded();
    await new Promise((r) => setTimeout(r, 10));
    await journal.flushed();
    expect(calls.actions()).toEqual(['accept wacid.UIC1', 'terminate wacid.UIC1']);
    expect(readCallJournal(path)).toEqual([]);
    await journal.close();
  });
});

describe('CrashRecovery: calls a crash left open', () => {
  it('ends every journaled call at Meta (with retries) and writes a CDR with cause recovered_after_crash', async () => {
    const path = join(dir(), 'calls.journal');
    // What the previous run left: written as lines, the way it would have written them.
    const left = [
      entry({ callId: 'wt-bic', waCallId: 'wacid.BIC', direction: 'BUSINESS_INITIATED' }),
      entry({ callId: 'wt-uic-ringing', waCallId: 'wacid.UIC', direction: 'USER_INITIATED', endWith: 'reject' }),
      entry({ callId: 'wt-cdr-done', waCallId: 'wacid.DONE', cdrWritten: true }),
      entry({ callId: 'wt-connecting', startedAt: new Date().toISOString() }),
      entry({ callId: 'wt-gone-number', waCallId: 'wacid.GONE', number: 'removed' }),
    ];
    appendFileSync(path, left.map((c) => `${JSON.stringify({ put: c })}\n`).join(''));

    const logs = capture();
    const metrics = new Metrics();
    const journal = await FileCallJournal.open(path, { logger: logs.logger });
    expect(journal.leftOver.map((c) => c.callId)).toEqual(left.map((c) => c.callId));
    const calls = new RecordingCalls();
    calls.failFirst.add('wacid.BIC');
    const ender = new WhatsAppCallEnder({ logger: logs.logger, metrics, retryDelaysMs: [20, 20, 20, 20] });
    const recovery = new CrashRecovery({
      journal, numbers: new Map([['sales', calls]]), ender, logger: logs.logger, metrics, connectingWindowMs: 60_000,
    });
    recovery.start();

    // The call whose connect was in flight: its WhatsApp id arrives with our tracking data.
    const ringing: CallEvent = { kind: 'call.ringing', phoneNumberId: '1', callId: 'wacid.CONNECTING', timestamp: 1, user: { number: '447700900123' }, trackingData: 'wt-connecting' };
    expect(recovery.claim(ringing)).toBe(true);
    const unrelated: CallEvent = { ...ringing, callId: 'wacid.OTHER', trackingData: 'wt-live-call' };
    expect(recovery.claim(unrelated)).toBe(false);

    await recovery.whenDone();
    expect(calls.actions().sort()).toEqual([
      'reject wacid.UIC', 'terminate wacid.BIC', 'terminate wacid.BIC', 'terminate wacid.CONNECTING', 'terminate wacid.DONE',
    ]);
    const cdrs = logs.lines().filter((l) => l['cdr'] === true);
    expect(cdrs.map((c) => c['callId']).sort()).toEqual(['wt-bic', 'wt-connecting', 'wt-gone-number', 'wt-uic-ringing']);
    for (const c of cdrs) expect(c).toMatchObject({ cause: 'recovered_after_crash', outcome: 'recovered', endedBy: 'watrunk' });
    expect(cdrs.find((c) => c['callId'] === 'wt-bic')).toMatchObject({ waCallId: 'wacid.BIC', number: 'sales', direction: 'BUSINESS_INITIATED', endAction: 'terminate', endResult: 'confirmed', startedAt: '2026-01-01T10:00:00.000Z' });
    expect(cdrs.find((c) => c['callId'] === 'wt-uic-ringing')).toMatchObject({ endAction: 'reject', endResult: 'confirmed' });
    expect(cdrs.find((c) => c['callId'] === 'wt-connecting')).toMatchObject({ waCallId: 'wacid.CONNECTING', endResult: 'confirmed' });
    expect(cdrs.find((c) => c['callId'] === 'wt-gone-number')).toMatchObject({ endResult: 'number_not_configured' });
    expect(logs.lines().some((l) => l['level'] === 'error' && l['callId'] === 'wt-gone-number')).toBe(true);
    expect(await metrics.registry.getSingleMetricAsString('watrunk_calls_recovered_total')).toMatch(/result="confirmed"} 4/);

    await journal.flushed();
    expect(readCallJournal(path)).toEqual([]);
    recovery.stop();
    await journal.close();
  });

  it('a call whose connect was in flight and whose WhatsApp id never shows up is given up loudly after the window', async () => {
    const path = join(dir(), 'calls.journal');
    appendFileSync(path, `${JSON.stringify({ put: entry({ callId: 'wt-lost', startedAt: new Date().toISOString() }) })}\n`);
    const logs = capture();
    const metrics = new Metrics();
    const journal = await FileCallJournal.open(path, { logger: logs.logger });
    const recovery = new CrashRecovery({
      journal, numbers: new Map([['sales', new RecordingCalls()]]), metrics, logger: logs.logger, connectingWindowMs: 50,
      ender: new WhatsAppCallEnder({ logger: logs.logger, metrics }),
    });
    recovery.start();
    await recovery.whenDone();
    expect(logs.lines().find((l) => l['cdr'] === true)).toMatchObject({ callId: 'wt-lost', endResult: 'whatsapp_call_id_unknown', cause: 'recovered_after_crash' });
    expect(logs.lines().some((l) => l['level'] === 'error' && l['callId'] === 'wt-lost')).toBe(true);
    await journal.flushed();
    expect(readCallJournal(path)).toEqual([]);
    await journal.close();
  });

  it('Concepto Móvil: the journaled user goes out as `to` on the recovered terminate and reject; a record without a user still loads', async () => {
    const path = join(dir(), 'calls.journal');
    const withUser = entry({ callId: 'wt-cm-out', number: 'mx', waCallId: 'wacid.CM-OUT', user: '5215500000002' });
    const inboundWithUser = entry({ callId: 'wt-cm-in', number: 'mx', waCallId: 'wacid.CM-IN', direction: 'USER_INITIATED', endWith: 'reject', user: '+5215500000003' });
    // Written by a version that did not keep the user: the line has no `user` key at all.
    const older = { callId: 'wt-cm-old', number: 'mx', waCallId: 'wacid.CM-OLD', direction: 'BUSINESS_INITIATED', startedAt: '2026-01-01T10:00:00.000Z', endWith: 'terminate' };
    appendFileSync(path, [withUser, inboundWithUser, older].map((c) => `${JSON.stringify({ put: c })}\n`).join(''));

    const stub = await GraphStub.start();
    stub.otherwise({ from: (req) => (req.path.endsWith('/auth/token') ? { body: { token: 'cm-bearer-not-real' } } : { body: {} }) });
    const logs = capture();
    const metrics = new Metrics();
    const cm = createConceptoMovilNumber(
      { name: 'mx', baseUrl: stub.url, apiKey: '101', apiToken: 'cm-api-token-not-real', businessNumber: '5215500000001', timeoutMs: 2_000 },
      { logger: logs.logger, metrics, retryDelayMs: 5 },
    );
    const journal = await FileCallJournal.open(path, { logger: logs.logger });
    expect(journal.leftOver).toEqual([withUser, inboundWithUser, older]);
    expect(logs.lines().some((l) => l['level'] === 'warn')).toBe(false);
    const recovery = new CrashRecovery({
      journal, numbers: new Map([['mx', cm.calls]]), logger: logs.logger, metrics, connectingWindowMs: 60_000,
      ender: new WhatsAppCallEnder({ logger: logs.logger, metrics, retryDelaysMs: [20, 20, 20, 20] }),
    });
    recovery.start();
    await recovery.whenDone();

    const sent = stub.requests.filter((r) => r.path.endsWith('/services/v1/call')).map((r) => JSON.parse(r.rawBody) as Record<string, unknown>);
    const byCall = (id: string) => sent.find((b) => b['call_id'] === id);
    expect(byCall('wacid.CM-OUT')).toEqual({ from: '5215500000001', to: '5215500000002', action: 'terminate', call_id: 'wacid.CM-OUT' });
    expect(byCall('wacid.CM-IN')).toEqual({ from: '5215500000001', to: '5215500000003', action: 'reject', call_id: 'wacid.CM-IN' });
    // Nothing to name the user with: sent without `to`, as before (the provider decides).
    expect(byCall('wacid.CM-OLD')).toEqual({ from: '5215500000001', action: 'terminate', call_id: 'wacid.CM-OLD' });
    await journal.flushed();
    expect(readCallJournal(path)).toEqual([]);
    recovery.stop();
    await journal.close();
    await cm.close();
    await stub.close();
  });

  it('a journal line with an empty user is unreadable, so a call is journaled without one rather than with ""', async () => {
    const path = join(dir(), 'calls.journal');
    appendFileSync(path, `${JSON.stringify({ put: entry({ callId: 'wt-empty', waCallId: 'wacid.E', user: '' }) })}\n`);
    const logs = capture();
    const journal = await FileCallJournal.open(path, { logger: logs.logger });
    expect(journal.leftOver).toEqual([]);
    await journal.close();

    const path2 = join(dir(), 'calls.journal');
    const j2 = await FileCallJournal.open(path2, { logger: logs.logger });
    const calls = new RecordingCalls();
    const whatsapp = new JournaledWhatsAppCalls({
      calls, journal: j2, ender: new WhatsAppCallEnder({ logger: logs.logger, metrics: new Metrics() }), callId: 'wt-bsuid-less',
      numberName: 'sales', direction: 'BUSINESS_INITIATED', log: logs.logger, metrics: new Metrics(),
    });
    await whatsapp.connect({ to: '', sdpOffer: 'v=0\r\n' });
    await j2.flushed();
    expect(readCallJournal(path2)).toEqual([{ callId: 'wt-bsuid-less', waCallId: 'wacid.BIC1', number: 'sales', direction: 'BUSINESS_INITIATED', startedAt: expect.any(String), endWith: 'terminate' }]);
    await j2.close();
  });
});
