/**
 * Media benchmark: rtpengine's CPU cost per transcoded call, the way watrunk uses it. Not part of
 * `npm test`; run with `npm run bench:media` (bench/README.md#media-npm-run-benchmedia).
 *
 * For each step of a ladder of N (BENCH_MEDIA_CALLS), N business-initiated calls run at once through
 * one rtpengine, the "bridge engine", set up by watrunk's own RtpengineMedia with the production
 * flag sets: plain RTP/AVP PCMU toward the PBX, ICE + DTLS-SRTP + Opus toward "WhatsApp"
 * (docs/media.md#flag-sets). WhatsApp's side is a second rtpengine, the "peer engine", which
 * terminates ICE/DTLS/SRTP and passes Opus through untouched to a plain socket; both plain sides are
 * one light generator in this process (pre-encoded tone frames, one timer for every stream). After
 * every call has media both ways, CPU time is read from /proc/<pid>/stat for the bridge engine, the
 * peer engine and this process over a steady window (BENCH_MEDIA_WINDOW_S), and the sinks count
 * loss and RFC 3550 interarrival jitter (https://www.rfc-editor.org/rfc/rfc3550#appendix-A.8).
 * A passthrough ladder (the PBX offers Opus only: the bridge engine does SRTP/DTLS, no transcoding)
 * runs after it for comparison.
 *
 * rtpengine is multi-threaded (https://rtpengine.readthedocs.io/en/latest/rtpengine.html,
 * `--num-threads`, default: one per core), so "calls per core" comes from CPU time (ms of CPU per
 * call-second), not from a process CPU percentage.
 *
 * Exit codes: 0 done, 1 a check failed (the tone check on an unsaturated step, the first step of a
 * ladder already saturated, calls left on an engine), 2 could not run (rtpengine missing or not
 * starting), 130 interrupted.
 */
import { cpus, loadavg } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RtpengineMedia } from '../src/adapters/rtpengine/rtpengine-media.js';
import { NgClient, type EngineAddress } from '../src/adapters/rtpengine/ng-client.js';
import { freeUdpPortRange } from '../test/support/media/free-port.js';
import { RTPENGINE_BIN, rtpengineSkipReason, startRtpengine, type RtpengineInstance } from '../test/support/media/rtpengine-process.js';
import { endCall, mediaBothWaysMs, startCall, type BenchCall, type CallFactoryDeps, type Frames, type Mode } from './media/calls.js';
import { cpuMs, hostJiffies, threadCount } from './lib/cpu-time.js';
import { fit, header, row, type StepResult } from './media/report.js';
import { FRAME_MS, PBX_TONE_HZ, WA_TONE_HZ, checkTone, opusFrames, pcmuFrames, type ToneCheck } from './media/frames.js';
import { Generator } from './media/generator.js';

// ---------------------------------------------------------------------------------------------
// Settings

function numList(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (!raw) return fallback;
  const list = raw.split(',').map((s) => Number(s.trim()));
  if (list.some((n) => !Number.isInteger(n) || n <= 0 || n > MAX_CALLS)) throw new Error(`${name} must be a comma-separated list of integers 1..${MAX_CALLS}`);
  if (list.length > MAX_STEPS) throw new Error(`${name}: at most ${MAX_STEPS} steps`);
  return list;
}
function num(name: string, fallback: number, max: number): number {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v < 0 || v > max) throw new Error(`${name} must be a number in 0..${max}`);
  return v;
}

/** Bounds: the ladder is finite whatever the environment says. */
const MAX_CALLS = 500;
const MAX_STEPS = 10;
const LADDER = numList('BENCH_MEDIA_CALLS', [10, 25, 50, 100, 150]);
const WINDOW_S = num('BENCH_MEDIA_WINDOW_S', 20, 300) || 20;
/** Media running on every call before the window opens (jitter estimates and the transcoders settle). */
const SETTLE_S = num('BENCH_MEDIA_SETTLE_S', 3, 60);
/** Each call's counters are read (ng `query`) this often, as watrunk's dead-peer watch does (`media_check_interval_s`, default 5); 0: never. */
const QUERY_S = num('BENCH_MEDIA_QUERY_S', 5, 60);
const MODES: Mode[] = (process.env['BENCH_MEDIA_MODES'] ?? 'transcoded,passthrough').split(',').map((s) => s.trim()).filter(Boolean).map((m) => {
  if (m !== 'transcoded' && m !== 'passthrough') throw new Error(`BENCH_MEDIA_MODES: unknown mode ${m}`);
  return m;
});
const LOG_LEVEL = num('BENCH_MEDIA_LOG_LEVEL', 6, 7);
/** Directory to write both engines' logs to at the end (off by default). */
const LOG_DIR = process.env['BENCH_MEDIA_ENGINE_LOGS'];
/** Extra rtpengine options for both engines, e.g. `--num-threads=2` (space-separated). */
const ENGINE_ARGS = (process.env['BENCH_MEDIA_ENGINE_ARGS'] ?? '').split(/\s+/).filter(Boolean);

/**
 * A step with more loss than this either way, frames the generator had to skip, or calls that did
 * not set up or carry media is "saturated": it is left out of the per-call fit and the ladder of
 * that mode stops there.
 */
const SATURATED_LOSS_PCT = 1;
/** Above this share of all cores busy (every process on the host), a step gets a warning. */
const HOST_BUSY_WARN_PCT = 90;
/** A call carries media once each sink has this many packets (0.5 s). */
const FIRST_MEDIA_PACKETS = 25;
const SETUP_CONCURRENCY = 8;
const TEARDOWN_CONCURRENCY = 16;

// ---------------------------------------------------------------------------------------------
// Interruption: Ctrl-C stops the step, every call is deleted and both engines are stopped.

const abort = new AbortController();
class Interrupted extends Error {}
let firstSignalAt: number | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (firstSignalAt === undefined) {
      firstSignalAt = Date.now();
      console.error(`\n${sig}: stopping; deleting calls and stopping both rtpengines (again to force)`);
      abort.abort();
    } else if (Date.now() - firstSignalAt > 2_000) {
      // A second Ctrl-C, not the copy npm forwards at once: give up (startRtpengine's exit hook SIGKILLs the engines).
      process.exit(130);
    }
  });
}
function checkAbort(): void {
  if (abort.signal.aborted) throw new Interrupted('interrupted');
}
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (abort.signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void { clearTimeout(t); abort.signal.removeEventListener('abort', done); resolve(); }
    abort.signal.addEventListener('abort', done);
  });
}

/** Runs `fn` over `items`, at most `limit` at a time; results in order, failures as Error. */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<Array<R | Error>> {
  const out: Array<R | Error> = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !abort.signal.aborted) {
      const i = next++;
      try { out[i] = await fn(items[i]!); } catch (err) { out[i] = err instanceof Error ? err : new Error(String(err)); }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

// ---------------------------------------------------------------------------------------------
// One step

interface Bench {
  bridgeEngine: RtpengineInstance;
  peerEngine: RtpengineInstance;
  bridge: RtpengineMedia;
  peerClient: NgClient;
  peer: EngineAddress;
  generator: Generator;
  frames: Record<Mode, Frames>;
  open: Set<BenchCall>;
}


async function runStep(b: Bench, mode: Mode, n: number): Promise<StepResult> {
  const deps: CallFactoryDeps = {
    bridge: b.bridge, peerClient: b.peerClient, peer: b.peer, generator: b.generator, frames: b.frames[mode], mode,
  };
  const notes: string[] = [];
  const calls: BenchCall[] = [];
  let queryTimer: NodeJS.Timeout | undefined;
  try {
    // Set up N calls, a few at a time (each: offer + answer on both engines).
    const started = await pool(Array.from({ length: n }, (_, i) => i), SETUP_CONCURRENCY, async (i) => {
      const c = await startCall(i, deps);
      b.open.add(c);
      calls.push(c);
      return c;
    });
    checkAbort();
    const failures = started.filter((r): r is Error => r instanceof Error);
    if (failures.length > 0) notes.push(`${failures.length} call(s) failed to set up, first: ${failures[0]!.message}`);

    // Wait until every call carries media both ways (ICE + DTLS between the engines first).
    const mediaBy = performance.now() + 20_000 + n * 100;
    const flowing = (c: BenchCall): boolean => (c.pbx.recv?.received ?? 0) >= FIRST_MEDIA_PACKETS && (c.wa.recv?.received ?? 0) >= FIRST_MEDIA_PACKETS;
    while (performance.now() < mediaBy && !calls.every(flowing)) { await sleep(100); checkAbort(); }
    const silent = calls.filter((c) => !flowing(c));
    if (silent.length > 0) {
      const c = silent[0]!;
      notes.push(`${silent.length} call(s) without media both ways after setup (first: PBX leg got ${c.pbx.recv?.received ?? 0}, WA leg got ${c.wa.recv?.received ?? 0} packets)`);
    }

    // The PBX leg's counters read as watrunk's dead-peer watch does: every call once per QUERY_S.
    if (QUERY_S > 0 && calls.length > 0) {
      let q = 0;
      queryTimer = setInterval(() => {
        void calls[q++ % calls.length]!.session.counters().catch(() => undefined);
      }, (QUERY_S * 1000) / calls.length);
    }
    await sleep(SETTLE_S * 1000);
    checkAbort();

    // The steady window.
    const sampled = calls.length > 0 ? [...new Set([calls[0]!, calls[calls.length - 1]!])] : [];
    for (const c of calls) {
      c.pbx.recv?.jitter.resetWindow();
      c.wa.recv?.jitter.resetWindow();
      c.pbx.send?.jitter.resetWindow();
      c.wa.send?.jitter.resetWindow();
    }
    for (const c of sampled) { c.pbx.recv!.samples = []; c.wa.recv!.samples = []; }
    const totals = (): { pw: [number, number]; wp: [number, number]; skipped: number } => {
      let pwS = 0, pwR = 0, wpS = 0, wpR = 0, skipped = 0;
      for (const c of calls) {
        pwS += c.pbx.send?.sent ?? 0; pwR += c.wa.recv?.received ?? 0;
        wpS += c.wa.send?.sent ?? 0; wpR += c.pbx.recv?.received ?? 0;
        skipped += (c.pbx.send?.skipped ?? 0) + (c.wa.send?.skipped ?? 0);
      }
      return { pw: [pwS, pwR], wp: [wpS, wpR], skipped };
    };
    const pids = { bridge: b.bridgeEngine.pid, peer: b.peerEngine.pid, gen: process.pid };
    const host0 = hostJiffies();
    const cpu0 = { bridge: cpuMs(pids.bridge), peer: cpuMs(pids.peer), gen: cpuMs(pids.gen) };
    const tot0 = totals();
    const w0 = performance.now();
    await sleep(WINDOW_S * 1000);
    checkAbort();
    const w1 = performance.now();
    const cpu1 = { bridge: cpuMs(pids.bridge), peer: cpuMs(pids.peer), gen: cpuMs(pids.gen) };
    const host1 = hostJiffies();
    // Sent and received are read at the same instant at both ends of the window: on loopback at most
    // about one packet per stream is in flight at either end, and those cancel out.
    const tot1 = totals();
    const bridgeThreads = threadCount(pids.bridge);
    if (queryTimer) clearInterval(queryTimer);
    queryTimer = undefined;

    const windowS = (w1 - w0) / 1000;
    const lossPct = (sent: number, received: number): number => (sent > 0 ? (100 * (sent - received)) / sent : 0);
    const pwSent = tot1.pw[0] - tot0.pw[0];
    const wpSent = tot1.wp[0] - tot0.wp[0];
    const mean = (xs: Array<number | undefined>): number | undefined => {
      const v = xs.filter((x): x is number => x !== undefined);
      return v.length ? v.reduce((a, b2) => a + b2, 0) / v.length : undefined;
    };
    const max = (xs: Array<number | undefined>): number | undefined => {
      const v = xs.filter((x): x is number => x !== undefined);
      return v.length ? Math.max(...v) : undefined;
    };
    const jPW = calls.map((c) => c.wa.recv?.jitter.windowMean());
    const jWP = calls.map((c) => c.pbx.recv?.jitter.windowMean());
    const jSend = calls.flatMap((c) => [c.pbx.send?.jitter.windowMean(), c.wa.send?.jitter.windowMean()]);
    const spread = (xs: Array<number | undefined>): { median: number; max: number } => {
      const v = xs.filter((x): x is number => x !== undefined).sort((a, b2) => a - b2);
      return { median: v[Math.floor(v.length / 2)] ?? 0, max: v.at(-1) ?? 0 };
    };
    const skipped = tot1.skipped - tot0.skipped;

    // Tone check on the sampled calls (decoded after the window, so it costs nothing in it).
    const tones: StepResult['tones'] = [];
    for (const c of sampled) {
      const pbxToWa = await checkTone('opus', c.wa.recv!.samples ?? [], PBX_TONE_HZ);
      const waToPbx = await checkTone(c.pbxCodec, c.pbx.recv!.samples ?? [], WA_TONE_HZ);
      tones.push({ label: `call ${c.index + 1} PBX->WA (Opus)`, check: pbxToWa });
      tones.push({ label: `call ${c.index + 1} WA->PBX (${c.pbxCodec === 'pcmu' ? 'PCMU' : 'Opus'})`, check: waToPbx });
    }

    const r: StepResult = {
      mode, calls: n, windowS,
      bridgeMsPerS: (cpu1.bridge - cpu0.bridge) / windowS,
      peerMsPerS: (cpu1.peer - cpu0.peer) / windowS,
      genMsPerS: (cpu1.gen - cpu0.gen) / windowS,
      hostBusyPct: (100 * (host1.busy - host0.busy)) / Math.max(1, host1.total - host0.total),
      bridgeThreads,
      lossPbxToWa: lossPct(pwSent, tot1.pw[1] - tot0.pw[1]),
      lossWaToPbx: lossPct(wpSent, tot1.wp[1] - tot0.wp[1]),
      ...opt('jitterPbxToWa', mean(jPW)), ...opt('jitterWaToPbx', mean(jWP)),
      ...opt('jitterPbxToWaMax', max(jPW)), ...opt('jitterWaToPbxMax', max(jWP)),
      ...opt('sendJitter', mean(jSend)),
      skipped,
      setupFailed: failures.length,
      noMedia: silent.length,
      active: calls.length - silent.length,
      setupMs: spread(calls.map((c) => c.setupMs)),
      mediaMs: spread(calls.map(mediaBothWaysMs)),
      tones,
      leftOnEngines: { bridge: 0, peer: 0 },
      saturated: false,
      notes,
    };
    r.saturated = r.lossPbxToWa > SATURATED_LOSS_PCT || r.lossWaToPbx > SATURATED_LOSS_PCT || skipped > 0
      || failures.length > 0 || silent.length > 0;
    if (skipped > 0) notes.push(`the generator fell behind and skipped ${skipped} frame(s)`);
    if (r.hostBusyPct > HOST_BUSY_WARN_PCT) notes.push(`the host was ${r.hostBusyPct.toFixed(0)} % busy (all cores, every process): the engines competed for CPU, loss and jitter may show it`);
    return r;
  } finally {
    if (queryTimer) clearInterval(queryTimer);
    await teardown(b, calls);
  }
}

function opt<K extends string>(key: K, v: number | undefined): Partial<Record<K, number>> {
  return v === undefined ? {} : ({ [key]: v } as Record<K, number>);
}

async function teardown(b: Bench, calls: BenchCall[]): Promise<void> {
  const deps = { peerClient: b.peerClient, peer: b.peer, generator: b.generator };
  // Not through pool(): teardown must run after an interruption too.
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(TEARDOWN_CONCURRENCY, calls.length) }, async () => {
    while (next < calls.length) {
      const c = calls[next++]!;
      await endCall(c, deps);
      b.open.delete(c);
    }
  }));
}

/** Calls an engine still holds (ng `list`). */
async function engineCalls(client: NgClient, engine: EngineAddress): Promise<number> {
  const r = await client.send(engine, 'list', { limit: 10_000 });
  return Array.isArray(r['calls']) ? r['calls'].length : 0;
}

// ---------------------------------------------------------------------------------------------
// Output

// ---------------------------------------------------------------------------------------------

async function startEngines(maxCalls: number): Promise<[RtpengineInstance, RtpengineInstance]> {
  // Per call and engine: an RTP/RTCP pair on the plain leg and one rtcp-mux port on the WebRTC leg;
  // counted as 4.
  // rtpengine picks ports at random in its range, so the range is twice what the calls need.
  const size = Math.max(200, Math.ceil((maxCalls * 4 * 2) / 100) * 100);
  const a = await freeUdpPortRange(size);
  const bRange = await freeUdpPortRange(size);
  // Reserved ranges never overlap (free-port.ts), so the two engines' ranges are disjoint.
  if (bRange.min <= a.max && a.min <= bRange.max) throw new Error('no two disjoint port ranges found');
  // startRtpengine picks a 200-port range of its own; the later --port-min/--port-max win.
  const start = async (r: { min: number; max: number }): Promise<RtpengineInstance> => {
    const e = await startRtpengine({ logLevel: LOG_LEVEL, extraArgs: [`--port-min=${r.min}`, `--port-max=${r.max}`, ...ENGINE_ARGS] });
    return { ...e, portMin: r.min, portMax: r.max };
  };
  const bridge = await start(a);
  try {
    return [bridge, await start(bRange)];
  } catch (err) {
    await bridge.stop();
    throw err;
  }
}

async function main(): Promise<number> {
  const skip = rtpengineSkipReason();
  if (skip) {
    console.error(`\n${'!'.repeat(78)}\n!!  bench:media SKIPPED: ${skip}\n${'!'.repeat(78)}\n`);
    return 2;
  }
  const maxCalls = Math.max(...LADDER);
  const frames: Record<Mode, Frames> = {
    transcoded: { pbx: pcmuFrames(PBX_TONE_HZ), wa: await opusFrames(WA_TONE_HZ) },
    passthrough: { pbx: await opusFrames(PBX_TONE_HZ), wa: await opusFrames(WA_TONE_HZ) },
  };

  let engines: [RtpengineInstance, RtpengineInstance];
  try {
    engines = await startEngines(maxCalls);
  } catch (err) {
    console.error(`bench:media could not start rtpengine: ${(err as Error).message}`);
    return 2;
  }
  const [bridgeEngine, peerEngine] = engines;
  const bridge = new RtpengineMedia({ engines: [{ host: bridgeEngine.host, port: bridgeEngine.ngPort }], timeoutMs: 5_000 });
  const peerClient = new NgClient({ timeoutMs: 5_000, localAddress: '127.0.0.1' });
  const peer = { host: peerEngine.host, port: peerEngine.ngPort };
  const generator = new Generator();
  const b: Bench = { bridgeEngine, peerEngine, bridge, peerClient, peer, generator, frames, open: new Set() };
  let failed = false;
  const results: StepResult[] = [];
  const idle: { bridgeMsPerS?: number } = {};
  try {
    if (!(await bridge.ping())) throw new Error('the bridge engine does not answer ping');
    const version = /Startup complete, version (\S+)/.exec(bridgeEngine.logs())?.[1];
    console.info(`bench:media: rtpengine ${RTPENGINE_BIN}${version ? ` ${version}` : ''}, ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.info(`  ladder ${LADDER.join(', ')} calls; modes ${MODES.join(', ')}; window ${WINDOW_S} s after ${SETTLE_S} s of settled media; ng query per call every ${QUERY_S || '-'} s`);
    console.info(`  bridge engine pid ${bridgeEngine.pid} (${threadCount(bridgeEngine.pid)} threads, ports ${bridgeEngine.portMin}-${bridgeEngine.portMax}), peer engine pid ${peerEngine.pid} (ports ${peerEngine.portMin}-${peerEngine.portMax}), generator pid ${process.pid}; extra engine args: ${ENGINE_ARGS.join(' ') || '(none)'}`);
    console.info(`  tones: PBX->WA ${PBX_TONE_HZ} Hz, WA->PBX ${WA_TONE_HZ} Hz, ${FRAME_MS} ms frames`);
    generator.run();

    // The bridge engine with no calls: its own background cost.
    const idleS = Math.min(5, WINDOW_S);
    const c0 = cpuMs(bridgeEngine.pid);
    const t0 = performance.now();
    await sleep(idleS * 1000);
    checkAbort();
    idle.bridgeMsPerS = (cpuMs(bridgeEngine.pid) - c0) / ((performance.now() - t0) / 1000);
    console.info(`  bridge engine idle: ${(idle.bridgeMsPerS / 10).toFixed(2)} % of one core`);

    for (const mode of MODES) {
      console.info(`\n${mode === 'transcoded' ? 'TRANSCODED: PBX PCMU <-> bridge (transcoding) <-> DTLS-SRTP Opus <-> peer' : 'PASSTHROUGH: PBX Opus <-> bridge (SRTP only) <-> DTLS-SRTP Opus <-> peer'}`);
      console.info('  jitter columns: mean/max over calls of each call\'s RFC 3550 jitter (mean over the window); %core: 100 = one core');
      console.info(header());
      for (const n of LADDER) {
        const r = await runStep(b, mode, n);
        results.push(r);
        const left = await Promise.all([engineCalls(peerClient, { host: bridgeEngine.host, port: bridgeEngine.ngPort }), engineCalls(peerClient, peer)]);
        r.leftOnEngines = { bridge: left[0], peer: left[1] };
        console.info(row(r));
        const toneText = r.tones.map((t) => `${t.label}: ${t.check.expectedHz} Hz in ${(t.check.fraction * 100).toFixed(0)} % of frames${t.check.dominantHz ? ` (dominant ${t.check.dominantHz} Hz)` : ''} ${t.check.ok ? 'ok' : 'FAIL'}`);
        console.info(`       ng offer/answer on both engines ${r.setupMs.median.toFixed(0)} ms median / ${r.setupMs.max.toFixed(0)} ms max; audio both ways after ${r.mediaMs.median.toFixed(0)} / ${r.mediaMs.max.toFixed(0)} ms (ICE + DTLS); bridge threads ${r.bridgeThreads}`);
        console.info(`       tone check: ${toneText.join('; ')}`);
        if (r.leftOnEngines.bridge || r.leftOnEngines.peer) r.notes.push(`calls left after delete: bridge ${r.leftOnEngines.bridge}, peer ${r.leftOnEngines.peer}`);
        for (const note of r.notes) console.info(`       note: ${note}`);
        // A saturated step is a measurement (where the host ran out), not a failure, unless it is the
        // first of its mode: then nothing was measured. Calls left behind are always a failure.
        const firstStep = n === LADDER[0];
        if (r.leftOnEngines.bridge || r.leftOnEngines.peer) failed = true;
        if (!r.saturated && r.tones.some((t) => !t.check.ok)) failed = true;
        if (r.saturated && firstStep) failed = true;
        if (r.saturated) {
          console.info(`       saturated (over ${SATURATED_LOSS_PCT} % loss, skipped frames, or calls without media): larger steps of this mode are skipped`);
          break;
        }
      }
    }

    const profiles = new Set([...bridgeEngine.logs().matchAll(/DTLS-SRTP successfully negotiated using (\S+)/g)].map((m) => m[1]));
    if (profiles.size > 0) console.info(`\nDTLS-SRTP profile between the engines (bridge engine's log): ${[...profiles].join(', ')}`);
    console.info('\nper-call cost of the bridge engine (least squares over the unsaturated steps and the idle engine):');
    for (const mode of MODES) {
      const ok = results.filter((r) => r.mode === mode && !r.saturated);
      const points = [...(idle.bridgeMsPerS !== undefined ? [{ x: 0, y: idle.bridgeMsPerS }] : []), ...ok.map((r) => ({ x: r.active, y: r.bridgeMsPerS }))];
      const f = ok.length > 0 ? fit(points) : undefined;
      const last = ok.at(-1);
      if (!f || !last) {
        console.info(`  ${mode}: no unsaturated step`);
        console.info(`${mode}_calls_per_core=n/a`);
        continue;
      }
      const perCore = Math.floor((1000 - f.intercept) / f.slope);
      console.info(`  ${mode}: ${f.slope.toFixed(2)} ms CPU per call-second (+ ${f.intercept.toFixed(1)} ms/s base); at ${last.calls} calls the peer engine used ${(last.peerMsPerS / last.active).toFixed(2)} and the generator ${(last.genMsPerS / last.active).toFixed(2)} ms per call-second (not included)`);
      console.info(`${mode}_cpu_ms_per_call_second=${f.slope.toFixed(3)}`);
      console.info(`${mode}_calls_per_core=${perCore}`);
    }
  } catch (err) {
    if (err instanceof Interrupted) {
      console.error('interrupted: cleaning up');
    } else {
      console.error('bench:media failed:', err);
      failed = true;
    }
  } finally {
    await teardown(b, [...b.open]);
    const left = await Promise.all([
      engineCalls(peerClient, { host: bridgeEngine.host, port: bridgeEngine.ngPort }).catch(() => -1),
      engineCalls(peerClient, peer).catch(() => -1),
    ]);
    if (left[0] !== 0 || left[1] !== 0) {
      console.error(`calls left on the engines at the end: bridge ${left[0]}, peer ${left[1]}`);
      failed = true;
    }
    await bridge.shutdown();
    peerClient.close();
    await generator.close();
    await Promise.all([bridgeEngine.stop(), peerEngine.stop()]);
    if (LOG_DIR) {
      mkdirSync(LOG_DIR, { recursive: true });
      writeFileSync(join(LOG_DIR, 'bridge-engine.log'), bridgeEngine.logs());
      writeFileSync(join(LOG_DIR, 'peer-engine.log'), peerEngine.logs());
      console.info(`engine logs (last 2 MB each): ${join(LOG_DIR, 'bridge-engine.log')}, ${join(LOG_DIR, 'peer-engine.log')}`);
    }
  }
  if (abort.signal.aborted) return 130;
  return failed ? 1 : 0;
}

main().then((code) => {
  process.exitCode = code;
}, (err: unknown) => {
  console.error('bench:media could not run:', err);
  process.exitCode = 2;
});
