/**
 * `npm run bench:rtpengine`: rtpengine's own CPU per call set-up (offer, answer, delete over ng),
 * by option set, with no SIP and no watrunk in the way. It says how much of the gap between watrunk
 * and a plain-RTP B2BUA in `bench:cps` is the WebRTC media every WhatsApp call needs, and which
 * part of that set-up costs what. Each variant runs `BENCH_SETUP_CALLS` (500) set-ups at
 * `BENCH_SETUP_CPS` (100) per second, 10 in flight, with a pause between variants (rtpengine frees
 * a deleted call's ports a little later). Two rounds, so a warm-up effect shows. Skips loudly
 * (exit 2) without rtpengine. Loopback only; bounded in calls and time.
 */
import { NgClient, type NgParams } from '../src/adapters/rtpengine/ng-client.js';
import { DEFAULT_FLAG_SETS } from '../src/adapters/rtpengine/flag-sets.js';
import { SignallingOnlyUserMedia } from '../src/simulator/media/signalling-only.js';
import { rtpengineSkipReason, startRtpengine } from '../test/support/media/rtpengine-process.js';
import { cpuMs } from './lib/cpu-time.js';

const CALLS = Number(process.env.BENCH_SETUP_CALLS ?? 500);
const RATE = Number(process.env.BENCH_SETUP_CPS ?? 100);
const PAUSE_MS = 6_000;

const skip = rtpengineSkipReason();
if (skip) {
  process.stderr.write(`\n*** bench:rtpengine SKIPPED: ${skip} ***\n\n`);
  process.exit(2);
}

/** A PBX's G.711 offer (or with Opus first, for the passthrough case). */
const pbxSdp = (port: number, opus = false) => [
  'v=0', 'o=pbx 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
  `m=audio ${port} RTP/AVP ${opus ? '96 ' : ''}0 101`,
  ...(opus ? ['a=rtpmap:96 opus/48000/2'] : []),
  'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=sendrecv', '',
].join('\r\n');

/** WhatsApp's answer to rtpengine's WebRTC offer, as the simulator's signalling-only user writes it. */
const whatsapp = new SignallingOnlyUserMedia([], 9);

const rtp = await startRtpengine({ ports: 30_000 });
const ng = new NgClient({ timeoutMs: 3_000, localAddress: '127.0.0.1' });
const engine = { host: '127.0.0.1', port: rtp.ngPort };
const PLAIN: NgParams = { replace: ['origin', 'session-connection'] };

type SetUp = (callId: string) => Promise<void>;

/** Offer (these options) → answer (if any) → delete, as one call. */
function call(offerFlags: NgParams, opts: { opus?: boolean; answer: 'plain' | 'whatsapp' | 'none' }): SetUp {
  return async (callId) => {
    const tags = { 'call-id': callId, 'from-tag': 'pbx' };
    const offer = await ng.send(engine, 'offer', { ...offerFlags, ...tags, sdp: pbxSdp(40_000, opts.opus) });
    if (opts.answer === 'plain') await ng.send(engine, 'answer', { ...PLAIN, ...tags, 'to-tag': 'uas', sdp: pbxSdp(40_002) });
    if (opts.answer === 'whatsapp') {
      await ng.send(engine, 'answer', { ...DEFAULT_FLAG_SETS.bicAnswerToPbx, ...tags, 'to-tag': 'wa', sdp: await whatsapp.answer(String(offer.sdp)) });
    }
    await ng.send(engine, 'delete', { 'call-id': callId, 'delete delay': 0 });
  };
}

const VARIANTS: [string, SetUp][] = [
  ['plain RTP both sides (bench:cps "bare")', call(PLAIN, { answer: 'plain' })],
  ['watrunk PBX→WhatsApp: WebRTC + Opus transcoding', call(DEFAULT_FLAG_SETS.bicOfferToWhatsApp, { answer: 'whatsapp' })],
  ['  the same, PBX offers Opus (no transcoding)', call(DEFAULT_FLAG_SETS.bicOfferToWhatsAppOpusPassthrough, { opus: true, answer: 'whatsapp' })],
  ['  offer only (no answer)', call(DEFAULT_FLAG_SETS.bicOfferToWhatsApp, { answer: 'none' })],
  ['offer only: plain RTP', call(PLAIN, { answer: 'none' })],
  ['offer only: + UDP/TLS/RTP/SAVPF (DTLS-SRTP)', call({ ...PLAIN, 'transport-protocol': 'UDP/TLS/RTP/SAVPF' }, { answer: 'none' })],
  ['offer only: + SAVPF with DTLS off, no SDES', call({ ...PLAIN, 'transport-protocol': 'UDP/TLS/RTP/SAVPF', DTLS: 'off', SDES: ['off'] }, { answer: 'none' })],
  ['offer only: + ICE force', call({ ...PLAIN, ICE: 'force' }, { answer: 'none' })],
  ['offer only: + Opus transcoding', call({ ...PLAIN, codec: { transcode: ['opus/48000/2', 'telephone-event'] } }, { answer: 'none' })],
];

/** Runs `n` set-ups at `RATE`, 10 in flight; returns rtpengine's CPU ms per set-up and the failures. */
async function measure(name: string, setUp: SetUp, round: number): Promise<{ msPerCall: number; failed: number }> {
  const before = cpuMs(rtp.pid);
  const t0 = performance.now();
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  await Promise.all(Array.from({ length: 10 }, async () => {
    while (next < CALLS) {
      const k = next++;
      const wait = t0 + (k * 1000) / RATE - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await setUp(`setup-${round}-${k}-${name.length}`).catch((err: Error) => { failed++; firstError ??= err.message; });
    }
  }));
  if (firstError) process.stderr.write(`${name}: ${failed} failed, first: ${firstError}\n`);
  return { msPerCall: (cpuMs(rtp.pid) - before) / CALLS, failed };
}

console.log(`bench:rtpengine  ${CALLS} set-ups per variant at ${RATE}/s, rtpengine CPU (user + system) per set-up, 2 rounds`);
const results = new Map<string, number[]>();
for (const round of [1, 2]) {
  for (const [name, setUp] of VARIANTS) {
    await new Promise((r) => setTimeout(r, PAUSE_MS));
    const r = await measure(name, setUp, round);
    results.set(name, [...(results.get(name) ?? []), r.msPerCall]);
  }
}
for (const [name, ms] of results) console.log(`${name.padEnd(52)} ${ms.map((x) => `${x.toFixed(2)} ms`).join('  ')}`);
const mean = (name: string) => { const v = results.get(name)!; return v.reduce((a, b) => a + b, 0) / v.length; };
const plain = mean(VARIANTS[0]![0]);
const webrtc = mean(VARIANTS[1]![0]);
const dtls = mean(VARIANTS[5]![0]) - mean(VARIANTS[4]![0]);
console.log('');
console.log(`setup_ms_plain=${plain.toFixed(2)} setup_ms_webrtc=${webrtc.toFixed(2)} webrtc_over_plain=${(webrtc / plain).toFixed(1)} dtls_offer_ms=${dtls.toFixed(2)}`);
ng.close();
await rtp.stop();
process.exit(0);
