/**
 * `npm run bench:cps`: call set-up rate of watrunk (+ its simulator) against a bare drachtio-srf
 * B2BUA doing the same rtpengine offer/answer/delete (bench/cps/bare-b2bua.mjs), measured in one
 * run, step by step, alternating which side goes first. SIPp places the calls (held `BENCH_HOLD_MS`,
 * then BYE). A side passes a step when ≤ 0.1 % of its calls failed and it answered ≥ 95 % of the
 * offered rate; its maximum is its highest passing step. Prints a table, then
 *   cps_ratio=<watrunk max / bare max>
 *   pdd_overhead_p99_ms=<watrunk p99 − bare p99 INVITE→200 at the step nearest half the bare max>
 * See bench/README.md. Skips loudly (exit 2) without drachtio-server, SIPp or rtpengine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { startDrachtioServer } from '../test/support/drachtio-server.js';
import { metricValue } from '../test/support/faults/metrics-text.js';
import { loopDelayP99Ms } from './lib/loop-delay.js';
import { exitIfCannotRun, startWatrunkBench, Teardown } from './lib/bench-stack.js';
import { cpuPercent, mb, ProcessGroup, type ProcessSample } from './lib/process-sample.js';
import { runLoadStep, startAnsweringPbx, type LoadStep } from './lib/sipp-load.js';
import { freeSipPort } from './lib/watrunk-processes.js';

const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const LADDER = env('BENCH_CPS_LADDER', '50,100,150,200,250,300,350,400,500').split(',').map(Number);
const STEP_S = Number(env('BENCH_STEP_S', '20'));
const HOLD_MS = Number(env('BENCH_HOLD_MS', '1000'));
const ANSWER_MS = Number(env('BENCH_ANSWER_MS', '60'));
/** Only these sides (e.g. `watrunk` while profiling). */
const SIDES = env('BENCH_SIDES', 'watrunk,bare').split(',');
/** Write a V8 CPU profile of watrunk (and the simulator) into this directory (open in Chrome DevTools); BENCH_NODE_FLAGS adds any node flags (e.g. --trace-gc). */
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
const SETTLE_MS = 3_000;
/** Rest after the ladder before watrunk's RSS is read again (V8 gives memory back on idle GCs). */
const RSS_SETTLE_S = Number(env('BENCH_RSS_SETTLE_S', '30'));
const MAX_FAILED_PCT = 0.1;
const MIN_ACHIEVED = 0.95;

exitIfCannotRun('bench:cps');

type Side = 'watrunk' | 'bare';
interface Row { side: Side; step: LoadStep; cpu: Record<string, number>; rss: Record<string, number>; loopLagP99Ms?: number; shed?: number; passed: boolean }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const teardown = new Teardown();

function startBare(drachtio: { adminPort: number; secret: string }, rtpenginePort: number, uasPort: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['bench/cps/bare-b2bua.mjs'], {
    env: { ...process.env, BARE_DRACHTIO_PORT: String(drachtio.adminPort), BARE_DRACHTIO_SECRET: drachtio.secret, BARE_RTPENGINE_PORT: String(rtpenginePort), BARE_UAS: `sip:127.0.0.1:${uasPort}` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.once('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('bare B2BUA did not connect to drachtio within 10 s')), 10_000);
    child.stdout!.on('data', (b: Buffer) => { if (b.toString().includes('connected')) { clearTimeout(t); resolve(child); } });
  });
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');

async function main(): Promise<void> {
  const { rtpengine, drachtio: dWat, stack } = await startWatrunkBench(teardown, {
    answerAfterMs: ANSWER_MS,
    nodeFlags: [...(PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : []), ...(process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [])],
  });
  const dBare = await startDrachtioServer({ loglevel: 'notice', sofiaLoglevel: 0 });
  teardown.add(() => dBare.stop());
  const uasPort = await freeSipPort();
  const uas = await startAnsweringPbx({ port: uasPort, answerAfterMs: ANSWER_MS, lifetimeMs: 3_600_000 });
  teardown.add(() => uas.stop());
  const bare = await startBare(dBare, rtpengine.ngPort, uasPort);
  teardown.add(async () => { bare.kill('SIGTERM'); });
  await sleep(2_000); // watrunk connects to drachtio and reports ready

  const procs: Record<Side, ProcessGroup> = { watrunk: new ProcessGroup(), bare: new ProcessGroup() };
  procs.watrunk.add('watrunk', stack.watrunk.pid);
  procs.watrunk.add('simulator', stack.simulator.pid);
  procs.watrunk.add('drachtio', dWat.pid);
  procs.watrunk.add('rtpengine', rtpengine.pid);
  procs.bare.add('b2bua', bare.pid);
  procs.bare.add('drachtio', dBare.pid);
  procs.bare.add('rtpengine', rtpengine.pid);
  const target: Record<Side, string> = { watrunk: `127.0.0.1:${dWat.sipPort}`, bare: `127.0.0.1:${dBare.sipPort}` };

  const rssStart = procs.watrunk.sample().get('watrunk')!.rssBytes;
  console.log(`bench:cps  ladder ${LADDER.join(',')} calls/s, ${STEP_S} s per step, hold ${HOLD_MS} ms, answer after ${ANSWER_MS} ms; cores ${cpus().length}`);
  console.log(`watrunk RSS at start ${mb(rssStart)}; logs in ${stack.dir}`);
  console.log('side     offered achieved failed%   p50ms   p99ms  lag99ms  CPU% (RSS) per process');

  const rows: Row[] = [];
  let rssWarm: number | undefined;
  const alive: Record<Side, boolean> = { watrunk: SIDES.includes('watrunk'), bare: SIDES.includes('bare') };
  for (const [i, rate] of LADDER.entries()) {
    const order: Side[] = i % 2 === 0 ? ['watrunk', 'bare'] : ['bare', 'watrunk'];
    for (const side of order) {
      if (!alive[side]) continue;
      // The scrape before the step restarts the event-loop delay histogram and gives the shed count.
      const shedBefore = side === 'watrunk' ? metricValue(await stack.metrics(), 'watrunk_call_failures_total', { cause: 'overload' }) : 0;
      const before = procs[side].sample();
      const step = await runLoadStep({ target: target[side], rate, seconds: STEP_S, holdMs: HOLD_MS, localPort: await freeSipPort() });
      const after = procs[side].sample();
      const cpu: Record<string, number> = {};
      const rss: Record<string, number> = {};
      for (const name of procs[side].names()) {
        cpu[name] = cpuPercent(before.get(name) as ProcessSample, after.get(name) as ProcessSample);
        rss[name] = after.get(name)?.rssBytes ?? NaN;
      }
      const text = side === 'watrunk' ? await stack.metrics() : '';
      const loopLagP99Ms = side === 'watrunk' ? loopDelayP99Ms(text) : undefined;
      /** Calls refused by load shedding (503 + Retry-After, docs/sip.md#overload) in this step. */
      const shed = side === 'watrunk' ? metricValue(text, 'watrunk_call_failures_total', { cause: 'overload' }) - shedBefore : undefined;
      const passed = step.failedPct <= MAX_FAILED_PCT && step.achievedCps >= MIN_ACHIEVED * rate;
      rows.push({ side, step, cpu, rss, ...(loopLagP99Ms !== undefined ? { loopLagP99Ms } : {}), ...(shed !== undefined ? { shed } : {}), passed });
      const perProc = Object.keys(cpu).map((n) => `${n} ${fmt(cpu[n]!)}% (${mb(rss[n]!)})`).join(', ');
      console.log(`${side.padEnd(8)} ${String(rate).padStart(7)} ${fmt(step.achievedCps, 1).padStart(8)} ${fmt(step.failedPct, 2).padStart(7)} ${fmt(step.p50Ms, 1).padStart(7)} ${fmt(step.p99Ms, 1).padStart(7)} ${fmt(loopLagP99Ms ?? NaN, 1).padStart(8)}  ${perProc}${shed ? `, ${shed} shed with 503` : ''}${passed ? '' : '  FAIL'}`);
      if (!passed) alive[side] = false;
      await sleep(SETTLE_MS + HOLD_MS);
      // RSS after the first (warm-up) step: JIT code and caches in place; the end is compared with it.
      if (side === 'watrunk' && rssWarm === undefined) rssWarm = procs.watrunk.sample().get('watrunk')!.rssBytes;
    }
    if (!alive.watrunk && !alive.bare) break;
  }

  await sleep(RSS_SETTLE_S * 1000);
  const rssEnd = procs.watrunk.sample().get('watrunk')!.rssBytes;
  const maxOf = (side: Side) => Math.max(0, ...rows.filter((r) => r.side === side && r.passed).map((r) => r.step.rate));
  const wMax = maxOf('watrunk');
  const bMax = maxOf('bare');
  const half = bMax / 2;
  const rates = [...new Set(rows.map((r) => r.step.rate))].filter((r) => rows.some((x) => x.side === 'watrunk' && x.step.rate === r) && rows.some((x) => x.side === 'bare' && x.step.rate === r));
  const near = rates.sort((a, b) => Math.abs(a - half) - Math.abs(b - half))[0];
  const at = (side: Side) => rows.find((r) => r.side === side && r.step.rate === near)!;
  console.log('');
  console.log(`watrunk_max_cps=${wMax}`);
  console.log(`bare_max_cps=${bMax}`);
  console.log(`cps_ratio=${bMax ? (wMax / bMax).toFixed(2) : '-'}`);
  if (near !== undefined) {
    console.log(`pdd_overhead_p99_ms=${fmt(at('watrunk').step.p99Ms - at('bare').step.p99Ms, 1)} (at ${near} calls/s: watrunk p99 ${fmt(at('watrunk').step.p99Ms, 1)} ms, bare p99 ${fmt(at('bare').step.p99Ms, 1)} ms; p50 overhead ${fmt(at('watrunk').step.p50Ms - at('bare').step.p50Ms, 1)} ms)`);
  }
  const warm = rssWarm ?? rssStart;
  console.log(`watrunk_rss_start=${mb(rssStart)} after_warmup=${mb(warm)} end=${mb(rssEnd)} (${RSS_SETTLE_S} s after the ladder) rss_growth_pct=${fmt(((rssEnd - warm) / warm) * 100, 1)} (end against after-warm-up)`);
  console.log(`ng_retransmissions=${metricValue(await stack.metrics(), 'watrunk_rtpengine_ng_retransmissions_total')}`);
  await teardown.run();
}

main().then(() => process.exit(0), async (err) => {
  console.error(err);
  await teardown.run();
  process.exit(1);
});
