/**
 * `npm run bench:cps`: call set-up rate of watrunk (+ its simulator) against a bare drachtio-srf
 * B2BUA doing an rtpengine offer/answer/delete per call (bench/cps/bare-b2bua.mjs), measured in one
 * run, step by step, rotating which side goes first. Two bare sides: `bare` with plain RTP on both
 * legs, and `bare-wrtc` with watrunk's own WebRTC option sets toward a SIPp UAS answering like
 * WhatsApp, so rtpengine does the same ICE/DTLS-SRTP/Opus work per call as for watrunk. SIPp places
 * the calls (held `BENCH_HOLD_MS`, then BYE). A side passes a step when ≤ 0.1 % of its calls failed
 * and it answered ≥ 95 % of the offered rate; its maximum is its highest passing step. Prints a
 * table, then
 *   cps_ratio=<watrunk max / bare max>
 *   cps_ratio_same_media=<watrunk max / bare-wrtc max>
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
import { runLoadStep, startAnsweringPbx, type AnswerMedia, type LoadStep } from './lib/sipp-load.js';
import { freeSipPort } from './lib/watrunk-processes.js';

const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const LADDER = env('BENCH_CPS_LADDER', '50,100,150,175,200,225,250,300,350,400,500').split(',').map(Number);
const STEP_S = Number(env('BENCH_STEP_S', '20'));
const HOLD_MS = Number(env('BENCH_HOLD_MS', '1000'));
const ANSWER_MS = Number(env('BENCH_ANSWER_MS', '60'));
/** Only these sides (e.g. `watrunk` while profiling). */
const SIDES = env('BENCH_SIDES', 'watrunk,bare,bare-wrtc').split(',');
/** Write a V8 CPU profile of watrunk (and the simulator) into this directory (open in Chrome DevTools); BENCH_NODE_FLAGS adds any node flags (e.g. --trace-gc). */
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
const SETTLE_MS = 3_000;
/** Rest after the ladder before watrunk's RSS is read again (V8 gives memory back on idle GCs). */
const RSS_SETTLE_S = Number(env('BENCH_RSS_SETTLE_S', '30'));
const MAX_FAILED_PCT = 0.1;
const MIN_ACHIEVED = 0.95;

exitIfCannotRun('bench:cps');

type Side = 'watrunk' | 'bare' | 'bare-wrtc';
const ALL_SIDES: Side[] = ['watrunk', 'bare', 'bare-wrtc'];
/** `retry`: the second run of a step the side failed (marked * in the table). */
interface Row { side: Side; step: LoadStep; cpu: Record<string, number>; rss: Record<string, number>; loopLagP99Ms?: number; shed?: number; passed: boolean; retry: boolean }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const teardown = new Teardown();

function startBare(drachtio: { adminPort: number; secret: string }, rtpenginePort: number, uasPort: number, media: AnswerMedia): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['bench/cps/bare-b2bua.mjs'], {
    env: { ...process.env, BARE_DRACHTIO_PORT: String(drachtio.adminPort), BARE_DRACHTIO_SECRET: drachtio.secret, BARE_RTPENGINE_PORT: String(rtpenginePort), BARE_UAS: `sip:127.0.0.1:${uasPort}`, BARE_MEDIA: media },
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
  const procs: Record<Side, ProcessGroup> = { watrunk: new ProcessGroup(), bare: new ProcessGroup(), 'bare-wrtc': new ProcessGroup() };
  procs.watrunk.add('watrunk', stack.watrunk.pid);
  procs.watrunk.add('simulator', stack.simulator.pid);
  procs.watrunk.add('drachtio', dWat.pid);
  procs.watrunk.add('rtpengine', rtpengine.pid);
  const target: Record<Side, string> = { watrunk: `127.0.0.1:${dWat.sipPort}`, bare: '', 'bare-wrtc': '' };
  // Each bare side: its own drachtio-server, B2BUA and answering SIPp; all sides share one rtpengine.
  for (const [side, media] of [['bare', 'rtp'], ['bare-wrtc', 'webrtc']] as const) {
    if (!SIDES.includes(side)) continue;
    const d = await startDrachtioServer({ loglevel: 'notice', sofiaLoglevel: 0 });
    teardown.add(() => d.stop());
    const uasPort = await freeSipPort();
    const uas = await startAnsweringPbx({ port: uasPort, answerAfterMs: ANSWER_MS, lifetimeMs: 3_600_000, media });
    teardown.add(() => uas.stop());
    const b2bua = await startBare(d, rtpengine.ngPort, uasPort, media);
    teardown.add(async () => { b2bua.kill('SIGTERM'); });
    procs[side].add('b2bua', b2bua.pid!);
    procs[side].add('drachtio', d.pid);
    procs[side].add('rtpengine', rtpengine.pid);
    target[side] = `127.0.0.1:${d.sipPort}`;
  }
  await sleep(2_000); // watrunk connects to drachtio and reports ready

  const rssStart = procs.watrunk.sample().get('watrunk')!.rssBytes;
  console.log(`bench:cps  ladder ${LADDER.join(',')} calls/s, ${STEP_S} s per step, hold ${HOLD_MS} ms, answer after ${ANSWER_MS} ms; cores ${cpus().length}`);
  console.log(`watrunk RSS at start ${mb(rssStart)}; logs in ${stack.dir}`);
  console.log('side      offered achieved failed%   p50ms   p99ms  lag99ms  CPU% (RSS) per process');

  const rows: Row[] = [];

  /** One step of one side: SIPp at `rate` for STEP_S seconds, with each process's CPU and RSS. */
  async function runStep(side: Side, rate: number, retry: boolean): Promise<Row> {
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
    const row: Row = { side, step, cpu, rss, ...(loopLagP99Ms !== undefined ? { loopLagP99Ms } : {}), ...(shed !== undefined ? { shed } : {}), passed, retry };
    rows.push(row);
    const perProc = Object.keys(cpu).map((n) => `${n} ${fmt(cpu[n]!)}% (${mb(rss[n]!)})`).join(', ');
    const verdict = passed ? '' : retry ? '  FAIL' : '  FAIL (running it once more)';
    console.log(`${(retry ? `${side}*` : side).padEnd(10)} ${String(rate).padStart(6)} ${fmt(step.achievedCps, 1).padStart(8)} ${fmt(step.failedPct, 2).padStart(7)} ${fmt(step.p50Ms, 1).padStart(7)} ${fmt(step.p99Ms, 1).padStart(7)} ${fmt(loopLagP99Ms ?? NaN, 1).padStart(8)}  ${perProc}${shed ? `, ${shed} shed with 503` : ''}${verdict}`);
    await sleep(SETTLE_MS + HOLD_MS);
    return row;
  }
  let rssWarm: number | undefined;
  const alive = Object.fromEntries(ALL_SIDES.map((s) => [s, SIDES.includes(s)])) as Record<Side, boolean>;
  for (const [i, rate] of LADDER.entries()) {
    // Rotate which side goes first, so no side always runs on a machine warmed by another.
    const order = ALL_SIDES.map((_, k) => ALL_SIDES[(k + i) % ALL_SIDES.length]!);
    for (const side of order) {
      if (!alive[side]) continue;
      // A step failed by a stall of the shared 2-core machine passes when run again; a side past
      // its knee fails twice. Both attempts are printed; the second decides.
      let row = await runStep(side, rate, false);
      if (!row.passed) row = await runStep(side, rate, true);
      if (!row.passed) alive[side] = false;
      // RSS after the first (warm-up) step: JIT code and caches in place; the end is compared with it.
      if (side === 'watrunk' && rssWarm === undefined) rssWarm = procs.watrunk.sample().get('watrunk')!.rssBytes;
    }
    if (!ALL_SIDES.some((side) => alive[side])) break;
  }

  await sleep(RSS_SETTLE_S * 1000);
  const rssEnd = procs.watrunk.sample().get('watrunk')!.rssBytes;
  const maxOf = (side: Side) => Math.max(0, ...rows.filter((r) => r.side === side && r.passed).map((r) => r.step.rate));
  const wMax = maxOf('watrunk');
  const bMax = maxOf('bare');
  const wrtcMax = maxOf('bare-wrtc');
  const half = bMax / 2;
  const rates = [...new Set(rows.map((r) => r.step.rate))].filter((r) => rows.some((x) => x.side === 'watrunk' && x.step.rate === r) && rows.some((x) => x.side === 'bare' && x.step.rate === r));
  const near = rates.sort((a, b) => Math.abs(a - half) - Math.abs(b - half))[0];
  // The deciding run of the step (the retry when there was one).
  const at = (side: Side) => rows.filter((r) => r.side === side && r.step.rate === near).at(-1)!;
  console.log('');
  console.log(`watrunk_max_cps=${wMax}`);
  console.log(`bare_max_cps=${bMax}`);
  console.log(`bare_wrtc_max_cps=${wrtcMax}`);
  console.log(`cps_ratio=${bMax ? (wMax / bMax).toFixed(2) : '-'}`);
  console.log(`cps_ratio_same_media=${wrtcMax ? (wMax / wrtcMax).toFixed(2) : '-'} (against the bare B2BUA with watrunk's WebRTC option sets)`);
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
