/**
 * `npm run bench:concurrency`: watrunk holding N calls at once (ladder BENCH_CONCURRENCY, default
 * 250,500,1000). SIPp places N PBX calls at BENCH_SETUP_CPS (default 50/s) and holds them; while
 * all N are up, watrunk's live heap and RSS are read after a forced full GC (over the inspector
 * protocol, so watrunk needs no hook), its event-loop delay p99 over the hold, and how long a
 * /metrics scrape takes. Per-call figures are against the same reading with no call up. Then the
 * calls are hung up and the heap read again (a leak shows as a heap that does not come back).
 *   heap_per_call_kb=<at the largest N>  loop_lag_p99_ms=<…>  metrics_scrape_ms=<…>
 * See bench/README.md.
 */
import { metricValue } from '../test/support/faults/metrics-text.js';
import { loopDelayP99Ms } from './lib/loop-delay.js';
import { freeTcpPort } from '../test/support/ports.js';
import { exitIfCannotRun, startWatrunkBench, Teardown } from './lib/bench-stack.js';
import { InspectorClient } from './lib/inspector-client.js';
import { mb } from './lib/process-sample.js';
import { runLoadStep } from './lib/sipp-load.js';
import { freeSipPort } from './lib/watrunk-processes.js';

exitIfCannotRun('bench:concurrency');
const LADDER = (process.env.BENCH_CONCURRENCY ?? '250,500,1000').split(',').map(Number);
const SETUP_CPS = Number(process.env.BENCH_SETUP_CPS ?? '50');
/** How long all N calls stay up together (the measurement window). */
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? '15');
const MAX_CALLS = 5_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const teardown = new Teardown();

async function scrapeMs(url: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await (await fetch(`${url}/metrics`)).text();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[2]!;
}

async function main(): Promise<void> {
  if (LADDER.some((n) => n > MAX_CALLS)) throw new Error(`BENCH_CONCURRENCY: at most ${MAX_CALLS} calls per step`);
  const inspectPort = await freeTcpPort();
  const { stack, sipTarget } = await startWatrunkBench(teardown, { answerAfterMs: 60, nodeFlags: [`--inspect=127.0.0.1:${inspectPort}`] });
  const inspector = await InspectorClient.connect(inspectPort);
  teardown.add(async () => inspector.close());
  await sleep(2_000);
  const base = await inspector.memoryAfterGc();
  console.log(`bench:concurrency  ladder ${LADDER.join(',')} calls, set up at ${SETUP_CPS}/s, ${WINDOW_S} s with all up`);
  console.log(`no calls: heap ${mb(base.heapUsed)}, RSS ${mb(base.rss)}, /metrics scrape ${(await scrapeMs(stack.internalUrl)).toFixed(1)} ms`);
  console.log('calls   up  heap      heap/call  RSS      RSS/call   lag p99  scrape   heap after hang-up');
  let last = '';
  for (const n of LADDER) {
    const setupS = n / SETUP_CPS;
    const holdMs = Math.round((setupS + WINDOW_S + 5) * 1000);
    const run = runLoadStep({ target: sipTarget, rate: SETUP_CPS, seconds: setupS, holdMs, localPort: await freeSipPort() });
    await sleep((setupS + 3) * 1000);
    await stack.metrics(); // resets the event-loop delay histogram
    await sleep(WINDOW_S * 1000 - 4_000);
    const text = await stack.metrics(); // one scrape: each scrape restarts the delay histogram
    const up = metricValue(text, 'watrunk_calls_active');
    const lagMs = loopDelayP99Ms(text);
    const scrape = await scrapeMs(stack.internalUrl);
    const mem = await inspector.memoryAfterGc();
    const step = await run;
    await sleep(3_000);
    const afterHangup = await inspector.memoryAfterGc();
    const heapPerCall = (mem.heapUsed - base.heapUsed) / n / 1024;
    const rssPerCall = (mem.rss - base.rss) / n / 1024;
    console.log(`${String(n).padStart(5)} ${String(up).padStart(4)}  ${mb(mem.heapUsed).padEnd(8)}  ${heapPerCall.toFixed(1).padStart(6)} KB  ${mb(mem.rss).padEnd(7)}  ${rssPerCall.toFixed(1).padStart(6)} KB  ${lagMs.toFixed(1).padStart(6)} ms ${scrape.toFixed(1).padStart(5)} ms  ${mb(afterHangup.heapUsed)}${step.failedPct > 0.1 ? `  (${step.failedPct.toFixed(2)} % of calls failed)` : ''}`);
    last = `heap_per_call_kb=${heapPerCall.toFixed(1)} loop_lag_p99_ms=${lagMs.toFixed(1)} metrics_scrape_ms=${scrape.toFixed(1)} (at ${n} calls, ${up} up in watrunk)`;
  }
  console.log('');
  console.log(last);
  await teardown.run();
}

main().then(() => process.exit(0), async (err) => { console.error(err); await teardown.run(); process.exit(1); });
