/**
 * Soak: watrunk under a steady, bounded load of mixed calls with faults on, for SOAK_MINUTES
 * (default 30). Not part of `npm test`; run with `npm run test:soak` (bench/README.md).
 *
 * Business-initiated calls (the PBX calls WhatsApp users who answer and hang up, answer and wait for
 * the PBX to hang up, reject, never answer, are busy, or fail with 138021) and user-initiated calls
 * (answered by the PBX, or never answered: CANCEL after ring_timeout_s) go through the simulator
 * (signalling-only media) with Graph 5xx, duplicate and late webhooks injected at configured rates.
 * The SIP side is drachtio-server + SIPp when both are present, else the in-process fake legs; the
 * media engine is rtpengine when present, else a fake. At the end it checks that nothing is left
 * open anywhere and that RSS stayed within 10 % of its value after warm-up (samples every minute).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { connectionLossWatchers } from '../src/adapters/drachtio/connection-loss.js';
import { NgClient } from '../src/adapters/rtpengine/ng-client.js';
import type { PbxDialer, PbxInviteRequest, PbxUacLeg } from '../src/calls/ports/sip.js';
import { createLogger } from '../src/logging.js';
import { drachtioSkipReason, startDrachtioServer, type DrachtioServer } from '../test/support/drachtio-server.js';
import { PBX_ANSWER } from '../test/support/fakes/fake-media.js';
import { FakePbxDialer, type FakePbxUacLeg } from '../test/support/fakes/fake-pbx-dialer.js';
import { inviteFrom } from '../test/support/fakes/fake-pbx-invite.js';
import { FakePbxUasLeg } from '../test/support/fakes/fake-pbx-uas-leg.js';
import { startFaultStack, webrtcFakeMedia, type FaultStack } from '../test/support/faults/fault-stack.js';
import { metricValue } from '../test/support/faults/metrics-text.js';
import { startSoakUac, startSoakUas } from '../test/support/faults/soak-sip.js';
import { startMediaFixture, type MediaFixture } from '../test/support/media/media-fixture.js';
import { rtpengineSkipReason } from '../test/support/media/rtpengine-process.js';
import { freeUdpPort, freeUdpTcpPort } from '../test/support/ports.js';
import { sippAvailable, type SippServer } from '../test/support/sipp.js';

const num = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const MINUTES = num('SOAK_MINUTES', 30);
/** New calls per second, both directions together (half each). */
const CPS = num('SOAK_CPS', 1);
const MAX_CALLS = Math.floor(num('SOAK_MAX_CALLS', Math.ceil(MINUTES * 60 * CPS)));
const WARMUP_MINUTES = num('SOAK_WARMUP_MINUTES', Math.max(1, Math.floor(MINUTES / 6)));
const SAMPLE_MS = num('SOAK_SAMPLE_S', 60) * 1000;
const RSS_TOLERANCE = 0.10;
/** Ring and no-answer bounds of the soak's calls; the quiesce wait at the end is bounded by them. */
const RING_TIMEOUT_S = 5;
const NO_ANSWER_S = 5;
const QUIESCE_MS = 90_000;

/** The simulated users (config/simulator.yaml): callee groups of the PBX's calls, and callers. */
const GROUPS = [
  { prefix: '4477001', rule: { behaviour: 'answer', answer_after_ms: 500, hangup_after_ms: 3_000 } },
  { prefix: '4477002', rule: { behaviour: 'answer', answer_after_ms: 500 } }, // the PBX hangs up
  { prefix: '4477003', rule: { behaviour: 'reject', answer_after_ms: 800 } },
  { prefix: '4477004', rule: { behaviour: 'no_answer' } },
  { prefix: '4477005', rule: { behaviour: 'busy' } },
  { prefix: '4477006', rule: { behaviour: 'fail', error_code: 138021 } },
] as const;
const callee = (i: number): string => `${GROUPS[i % GROUPS.length]!.prefix}${String(Math.floor(i / GROUPS.length) % 100_000).padStart(5, '0')}`;
/** Callers (default_user: hangs up 3 s after the answer); every fourth is routed to a PBX that never answers (caller_country_code 49). */
const caller = (i: number): string => (i % 4 === 3 ? `4915${String(i % 1_000_000).padStart(8, '0')}` : `4477009${String(i % 100_000).padStart(5, '0')}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const gc = (globalThis as { gc?: () => void }).gc;
const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;

/** The PBX as fakes: answers after 300 ms, except for callers from +49, who ring until CANCEL. */
class FakePbx implements PbxDialer {
  readonly inner = new FakePbxDialer();
  get ready(): boolean { return true; }
  dial(req: PbxInviteRequest): PbxUacLeg {
    const leg = this.inner.dial(req) as FakePbxUacLeg;
    this.inner.legs.length = 0; // nothing kept per call
    if (!req.callingNumber.startsWith('+49')) setTimeout(() => { if (!leg.cancelled) leg.answer(PBX_ANSWER); }, 300);
    return leg;
  }
}

interface Sample { minute: number; rss: number; heap: number; watrunk: number; sim: number; sessions: number; bic: number; uic: number }

async function main(): Promise<void> {
  const rtpSkip = rtpengineSkipReason();
  const sipSkip = drachtioSkipReason() ?? (sippAvailable() ? undefined : "'sipp' not found (apt-get install sip-tester)");
  const banner = (text: string) => console.warn(`\n${'!'.repeat(78)}\n!!  ${text}\n${'!'.repeat(78)}\n`);
  if (sipSkip) banner(`SOAK WITHOUT THE SIP PART: ${sipSkip}. PBX calls use in-process fake legs.`);
  if (rtpSkip) banner(`SOAK WITHOUT rtpengine: ${rtpSkip}. A fake media engine is used.`);

  const dir = mkdtempSync(join(tmpdir(), 'watrunk-soak-'));
  const logFile = join(dir, 'watrunk.log');
  const logger = createLogger(process.env['SOAK_LOG'] ?? 'warn', pino.destination({ dest: logFile, sync: true }));
  const lifetimeMs = (MINUTES * 60 + QUIESCE_MS / 1000 + 60) * 1000;
  let fx: MediaFixture | undefined;
  let drachtio: DrachtioServer | undefined;
  const sipps: SippServer[] = [];
  let s: FaultStack | undefined;
  const pbxPorts = { answer: await freeUdpTcpPort(), silent: await freeUdpTcpPort() };
  const fakePbx = new FakePbx();
  try {
    fx = rtpSkip ? undefined : await startMediaFixture();
    drachtio = sipSkip ? undefined : await startDrachtioServer();
    s = await startFaultStack({
      logger,
      media: fx?.media ?? webrtcFakeMedia(),
      ...(drachtio ? { drachtio: { host: drachtio.host, port: drachtio.adminPort, secret: drachtio.secret } } : { dialer: fakePbx }),
      number: {
        timeout_ms: 2_000,
        inbound: {
          target: `sip:{to}@127.0.0.1:${pbxPorts.answer}`, ring_timeout_s: RING_TIMEOUT_S,
          rules: [{ match: { caller_country_code: '49' }, target: `sip:{to}@127.0.0.1:${pbxPorts.silent}` }],
        },
      },
      calls: { no_answer_timeout_s: NO_ANSWER_S },
      webhook: { max_event_age_s: 300 },
      sim: {
        seed: num('SOAK_SEED', 1),
        users: GROUPS.map((g) => ({ match: `${g.prefix}*`, ring_ms: 100, permission: 'temporary' as const, ...g.rule })),
        default_user: { behaviour: 'answer', answer_after_ms: 500, hangup_after_ms: 3_000, permission: 'temporary' },
        timing: { accept_window_ms: 10_000, ring_timeout_ms: 15_000 },
        limits: { max_calls_kept: 200, auto_revoke_after_unanswered: 0, connected_calls_per_24h: 1_000_000 },
        webhooks: { concurrency: 4 },
        faults: { graph_error_rate: 0.03, duplicate_rate: 0.05, late_rate: 0.02, late_by_s: 600 },
      },
    });
    const stack = s;
    if (drachtio) {
      const rtpPort = await freeUdpPort();
      sipps.push(await startSoakUas({ port: pbxPorts.answer, answer: true, rtpPort, lifetimeMs }));
      sipps.push(await startSoakUas({ port: pbxPorts.silent, answer: false, rtpPort, lifetimeMs }));
      for (let i = 0; i < 100 && !stack.bridge.drachtio?.connected; i++) await sleep(100);
      if (!stack.bridge.drachtio?.connected) throw new Error('the bridge did not connect to drachtio-server');
    }

    const bicTotal = Math.ceil(MAX_CALLS / 2);
    const uicTotal = MAX_CALLS - bicTotal;
    const counts = { bic: 0, uic: 0, uicRefused: 0 };
    const startedAt = Date.now();
    const deadline = startedAt + MINUTES * 60_000;
    console.info(`soak: ${MINUTES} min, ${CPS} calls/s, at most ${MAX_CALLS} calls, SIP ${drachtio ? 'drachtio-server + SIPp' : 'fake legs'}, media ${fx ? 'rtpengine' : 'fake'}; log ${logFile}`);

    // Business-initiated: SIPp places them (it stops by itself after bicTotal calls), or fake legs.
    let sippUac: SippServer | undefined;
    if (drachtio) {
      sippUac = await startSoakUac({
        target: `127.0.0.1:${drachtio.sipPort}`, callees: Array.from({ length: 6_000 }, (_, i) => callee(i)),
        rateCps: CPS / 2, maxCalls: bicTotal, limit: 200, pbxByeAfterMs: 4_000, rtpPort: await freeUdpPort(), lifetimeMs,
      });
      sipps.push(sippUac);
    }
    const ticker = (perSecond: number, total: number, fire: (i: number) => void) => {
      let i = 0;
      const t = setInterval(() => {
        if (i >= total || Date.now() >= deadline) { clearInterval(t); return; }
        fire(i++);
      }, 1000 / perSecond);
      return t;
    };
    const timers = [
      ticker(CPS / 2, uicTotal, (i) => {
        counts.uic++;
        stack.sim.startUserCall({ from: caller(i) }).catch(() => { counts.uicRefused++; });
      }),
      ...(drachtio ? [] : [ticker(CPS / 2, bicTotal, (i) => {
        counts.bic++;
        const leg = new FakePbxUasLeg({ to: `+${callee(i)}` });
        void stack.bridge.pbxCalls!.handleInvite(inviteFrom(leg, stack.trunk));
        setTimeout(() => { if (leg.answered) leg.bye(); }, 4_000 + 1_000); // the PBX hangs up
      })]),
    ];

    const samples: Sample[] = [];
    const take = async (): Promise<Sample> => {
      const minute = Math.round((Date.now() - startedAt) / 6_000) / 10;
      gc?.();
      const m = process.memoryUsage();
      const bicNow = drachtio ? await stack.metric('watrunk_call_attempts_total', { direction: 'BUSINESS_INITIATED' }) : counts.bic;
      const sample = {
        minute, rss: m.rss, heap: m.heapUsed, watrunk: stack.bridge.registry.size,
        sim: stack.sim.listCalls().filter((c) => c.state !== 'ended').length, sessions: stack.media.openSessions().length, bic: bicNow, uic: counts.uic,
      };
      console.info(`[soak] t=${String(minute).padStart(3)} min  rss ${mb(sample.rss)}  heap ${mb(sample.heap)}  open: watrunk ${sample.watrunk}, simulator ${sample.sim}, media ${sample.sessions}  calls so far: PBX->WA ${sample.bic}, WA->PBX ${sample.uic}`);
      samples.push(sample);
      return sample;
    };
    await take();
    for (let k = 1; startedAt + k * SAMPLE_MS <= deadline; k++) {
      await sleep(Math.max(0, startedAt + k * SAMPLE_MS - Date.now()));
      await take();
    }
    await sleep(Math.max(0, deadline - Date.now()));
    for (const t of timers) clearInterval(t);

    // Quiesce: every call the load started must end by itself (bounded by the calls' own timers).
    const quiesceBy = Date.now() + QUIESCE_MS;
    const open = () => ({
      sim: stack.sim.listCalls().filter((c) => c.state !== 'ended').length, watrunk: stack.bridge.registry.size, sessions: stack.media.openSessions().length,
    });
    while (Date.now() < quiesceBy) {
      const o = open();
      const sippBusy = sippUac ? await Promise.race([sippUac.done.then(() => false), sleep(0).then(() => true)]) : false;
      if (!sippBusy && o.sim === 0 && o.watrunk === 0 && o.sessions === 0) break;
      await sleep(500);
    }
    await stack.sim.webhooksIdle(10_000);
    await sleep(2_000); // in-flight terminate retries (first retry after 1 s)
    const final = await take();

    const metrics = await stack.metricsText();
    const engineCalls = fx ? await listEngineCalls(fx) : 0;
    const warm = samples.find((x) => x.minute >= WARMUP_MINUTES) ?? samples.at(-2) ?? final;
    const rssDrift = (final.rss - warm.rss) / warm.rss;
    const checks: Array<[string, boolean, string]> = [
      ['open calls at the simulator', final.sim === 0, String(final.sim)],
      ['rtpengine sessions (watrunk)', final.sessions === 0, String(final.sessions)],
      ['rtpengine calls (engine list)', engineCalls === 0, String(engineCalls)],
      ['active calls in watrunk (registry)', final.watrunk === 0, String(final.watrunk)],
      ['watrunk_calls_active', metricValue(metrics, 'watrunk_calls_active') === 0, String(metricValue(metrics, 'watrunk_calls_active'))],
      ['drachtio connection watchers', connectionLossWatchers(stack.bridge.drachtio?.srf ?? {}) === 0, String(connectionLossWatchers(stack.bridge.drachtio?.srf ?? {}))],
      [`RSS within ${RSS_TOLERANCE * 100} % of warm-up (t=${warm.minute} min)`, Math.abs(rssDrift) <= RSS_TOLERANCE, `${mb(warm.rss)} -> ${mb(final.rss)} (${(rssDrift * 100).toFixed(1)} %)`],
    ];
    report(metrics, counts, sippUac ? await Promise.race([sippUac.done, sleep(100).then(() => undefined)]) : undefined);
    console.info(`  watrunk log (level ${process.env['SOAK_LOG'] ?? 'warn'} and above): ${logSummary(logFile)}`);
    console.info('\nsoak checks:');
    for (const [name, ok, value] of checks) console.info(`  ${ok ? 'PASS' : 'FAIL'}  ${name}: ${value}`);
    if (!gc) console.info('  (run with node --expose-gc for steadier RSS samples: npm run test:soak does)');
    process.exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
  } finally {
    for (const p of sipps) await p.stop().catch(() => undefined);
    await s?.stop().catch(() => undefined);
    await fx?.stop().catch(() => undefined);
    await drachtio?.stop().catch(() => undefined);
  }
}

/** "N lines: M × message, ..." for the soak's log file. */
function logSummary(file: string): string {
  const counts = new Map<string, number>();
  let total = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    total++;
    let key = line.slice(0, 80);
    try { const d = JSON.parse(line) as { level?: string; msg?: string }; key = `${d.level}: ${d.msg}`; } catch { /* not JSON */ }
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, n]) => `${n} × ${k}`);
  return `${total} lines${top.length ? `\n    ${top.join('\n    ')}` : ''}`;
}

/** Calls rtpengine itself still holds (ng `list`), whoever made them. */
async function listEngineCalls(fx: MediaFixture): Promise<number> {
  const ng = new NgClient({ timeoutMs: 2_000, localAddress: '127.0.0.1' });
  try {
    const r = await ng.send({ host: fx.rtpengine.host, port: fx.rtpengine.ngPort }, 'list', { limit: 10_000 });
    return Array.isArray(r['calls']) ? r['calls'].length : 0;
  } finally {
    ng.close();
  }
}

function report(metrics: string, counts: { bic: number; uic: number; uicRefused: number }, sipp: { code: number | null; stdout: string } | undefined): void {
  const lines = metrics.split('\n').filter((l) => /^watrunk_(calls_ended_total|terminate_(retries|failures)_total|webhook_events_total|provider_requests_total)\{/.test(l) && !/ 0$/.test(l));
  console.info('\nsoak figures:');
  console.info(`  calls started: PBX->WhatsApp ${metricValue(metrics, 'watrunk_call_attempts_total', { direction: 'BUSINESS_INITIATED' })}, WhatsApp->PBX ${counts.uic} (${counts.uicRefused} refused by the simulator)`);
  for (const l of lines) console.info(`  ${l}`);
  if (sipp) {
    const stat = /Successful call[^\n]*\n?[^\n]*/.exec(sipp.stdout)?.[0]?.replace(/\s+/g, ' ');
    console.info(`  SIPp PBX: exit ${sipp.code}${stat ? `; ${stat}` : ''}`);
  }
}

main().catch((err: unknown) => {
  console.error('soak failed to run:', err);
  process.exitCode = 2;
});
