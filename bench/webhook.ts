/**
 * `npm run bench:webhook`: webhook-to-SIP latency inside watrunk under load. SIPp places PBX calls
 * at each rate of BENCH_WEBHOOK_CPS (default 25,50,75); the simulator delivers signed webhooks
 * (connect with the SDP answer, RINGING, ACCEPTED, terminate) and watrunk's own histogram
 * watrunk_webhook_to_sip_seconds times each from its arrival to the SIP message it causes having
 * been sent (183 with SDP, 180, 200, BYE). Prints p50/p99 per event and rate, then
 *   webhook_to_sip_p99_ms=<ACCEPTED → 200 OK p99 at the highest rate with ≤ 0.1 % failed calls>
 * See bench/README.md.
 */
import { exitIfCannotRun, startWatrunkBench, Teardown } from './lib/bench-stack.js';
import { quantile, readBuckets, subtract, total } from './lib/histogram.js';
import { runLoadStep } from './lib/sipp-load.js';
import { freeSipPort } from './lib/watrunk-processes.js';

exitIfCannotRun('bench:webhook');
const RATES = (process.env.BENCH_WEBHOOK_CPS ?? '25,50,75').split(',').map(Number);
const STEP_S = Number(process.env.BENCH_STEP_S ?? '20');
const HOLD_MS = Number(process.env.BENCH_HOLD_MS ?? '1000');
const METRIC = 'watrunk_webhook_to_sip_seconds';
const EVENTS: [string, string][] = [
  ['call.answered', 'connect webhook (SDP answer) → 183 with SDP (rtpengine answer in between)'],
  ['call.ringing', 'RINGING → 180 (none when 183 went first)'],
  ['call.accepted', 'ACCEPTED → 200 OK'],
  ['call.terminated', 'terminate → (PBX already hung up: nothing to send)'],
];
const ms = (s: number) => (Number.isFinite(s) ? (s * 1000).toFixed(2) : '-');

const teardown = new Teardown();

async function main(): Promise<void> {
  const { stack, sipTarget } = await startWatrunkBench(teardown, { answerAfterMs: 60 });
  await new Promise((r) => setTimeout(r, 2_000));
  console.log(`bench:webhook  rates ${RATES.join(',')} calls/s, ${STEP_S} s each, hold ${HOLD_MS} ms; webhooks signed by the simulator (X-Hub-Signature-256)`);
  console.log('rate  failed%  event             n      p50ms   p99ms   what');
  let headline: string | undefined;
  for (const rate of RATES) {
    const before = await stack.metrics();
    const step = await runLoadStep({ target: sipTarget, rate, seconds: STEP_S, holdMs: HOLD_MS, localPort: await freeSipPort() });
    await new Promise((r) => setTimeout(r, 2_000));
    const after = await stack.metrics();
    for (const [event, what] of EVENTS) {
      const b = subtract(readBuckets(after, METRIC, { event }), readBuckets(before, METRIC, { event }));
      console.log(`${String(rate).padStart(4)}  ${step.failedPct.toFixed(2).padStart(7)}  ${event.padEnd(16)} ${String(total(b)).padStart(5)}  ${ms(quantile(b, 0.5)).padStart(7)} ${ms(quantile(b, 0.99)).padStart(7)}   ${what}`);
      if (event === 'call.accepted' && step.failedPct <= 0.1) headline = `webhook_to_sip_p99_ms=${ms(quantile(b, 0.99))} (ACCEPTED → 200 OK at ${rate} calls/s; p50 ${ms(quantile(b, 0.5))} ms)`;
    }
  }
  console.log('');
  console.log(headline ?? 'webhook_to_sip_p99_ms=- (no rate passed with ≤ 0.1 % failed calls)');
  await teardown.run();
}

main().then(() => process.exit(0), async (err) => { console.error(err); await teardown.run(); process.exit(1); });
