/**
 * SIPp as the load: a UAC placing calls at a fixed rate (INVITE → 200 timed by SIPp's response-time
 * tracing, held `holdMs`, BYE), and a UAS answering after a fixed delay. Results come from SIPp's
 * response-time CSV (-trace_rtt): one row per call answered with 200 OK, its INVITE → 200 time.
 * Loopback only; every run is bounded in calls and time. SIPp reference: https://sipp.sourceforge.net/doc/reference.html
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SIPP_OK_TO_REQUEST } from '../../test/support/sipp-common.js';
import { sippAck2xx, sippAckFailure, sippCallerBye, sippInvite } from '../../test/support/sipp-scenarios.js';
import { findSippBinary, startSippServer, type SippServer } from '../../test/support/sipp.js';
import { percentile } from './process-sample.js';

const FROM = '"Bench" <sip:1001@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]';
/** Every final failure a PBX can get; each is counted as a failed call. */
const FAILURES = [400, 403, 404, 408, 480, 481, 484, 486, 487, 488, 500, 502, 503, 504, 603];

function uacXml(holdMs: number): string {
  const failures = FAILURES.map((s) => `  <recv response="${s}" optional="true" next="failed" />`).join('\n');
  // start_rtd on the INVITE, rtd on the 200: SIPp records INVITE → 200 per call.
  const invite = sippInvite({ target: '+4477009[call_number]', from: FROM }).replace('<send retrans="500">', '<send retrans="500" start_rtd="1">');
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="watrunk bench UAC">
${invite}
  <recv response="180" optional="true" />
  <recv response="183" optional="true" />
${failures}
  <recv response="200" rrs="true" rtd="1" />${sippAck2xx(FROM)}
  <pause milliseconds="${holdMs}" />${sippCallerBye(FROM, '<recv response="200" />')}
  <nop next="done" />
  <label id="failed" />${sippAckFailure('+4477009[call_number]', FROM)}
  <label id="done" />
</scenario>
`;
}

/** The called side's answer SDP: a PBX's PCMU, or a WebRTC answer shaped like Meta's (ice-lite, DTLS client, Opus). */
const ANSWER_SDP: Record<AnswerMedia, string> = {
  rtp: `
      m=audio 40000 RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=sendrecv`,
  // Answers rtpengine's offer for watrunk's business-initiated option sets: Opus at payload type
  // 96 and a=mid:1 are what rtpengine 10.5 offers for the caller's "0 101" (bench/cps/bare-b2bua.mjs).
  // Port 9 (discard): signalling only, nothing is sent.
  webrtc: `
      a=ice-lite
      m=audio 9 UDP/TLS/RTP/SAVPF 96 101
      a=mid:1
      a=rtpmap:96 opus/48000/2
      a=fmtp:96 minptime=10;useinbandfec=1
      a=rtpmap:101 telephone-event/8000
      a=sendrecv
      a=rtcp-mux
      a=setup:active
      a=fingerprint:sha-256 3B:6C:1E:0F:0D:8A:6E:55:2D:6B:4A:AE:1F:73:29:0E:9A:43:7C:61:5E:1B:0B:54:5D:2B:7E:3A:7E:11:9C:40
      a=ice-ufrag:BenchUfrag000001
      a=ice-pwd:BenchIcePassword00000001
      a=candidate:1 1 udp 2122260223 127.0.0.1 9 typ host`,
};

export type AnswerMedia = 'rtp' | 'webrtc';

/** The called PBX: 180 at once, 200 (PCMU, or a WebRTC answer) after `answerAfterMs`, then waits for the BYE. */
function uasXml(answerAfterMs: number, media: AnswerMedia): string {
  const reply = (status: string, sdp: boolean) => `
  <send>
    <![CDATA[

      SIP/2.0 ${status}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Record-Route:]
      Contact: <sip:pbx@[local_ip]:[local_port];transport=[transport]>
${sdp ? `      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=pbx 1 1 IN IP4 [local_ip]
      s=-
      c=IN IP4 [local_ip]
      t=0 0${ANSWER_SDP[media]}` : '      Content-Length: 0'}

    ]]>
  </send>`;
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="watrunk bench UAS">
  <recv request="INVITE" rrs="true" />
${reply('180 Ringing', false)}
  <pause milliseconds="${answerAfterMs}" />
${reply('200 OK', true)}
  <recv request="ACK" />
  <recv request="BYE" timeout="60000" />
${SIPP_OK_TO_REQUEST}
</scenario>
`;
}

export interface LoadStep {
  /** Offered calls per second. */
  rate: number;
  /** Calls placed: rate × seconds. */
  calls: number;
  /** Achieved rate: answered calls over the span of their answers. */
  achievedCps: number;
  succeeded: number;
  failed: number;
  /** Failed share of the calls offered, %: every call without a 200 OK (refused, timed out, never placed). */
  failedPct: number;
  /** INVITE → 200 of the answered calls, ms. */
  p50Ms: number;
  p99Ms: number;
  /** Milliseconds from the first INVITE to SIPp's exit. */
  wallMs: number;
}

/** SIPp's -trace_rtt file: "Date_ms;response_time_ms;rtd_no" rows. */
function responseTimes(dir: string): { at: number[]; ms: number[] } {
  const file = readdirSync(dir).find((f) => f.endsWith('_rtt.csv'));
  const at: number[] = [];
  const ms: number[] = [];
  if (!file) return { at, ms };
  for (const line of readFileSync(join(dir, file), 'utf8').trim().split('\n').slice(1)) {
    const [date, rt] = line.split(';');
    if (date && rt) { at.push(Number(date)); ms.push(Number(rt)); }
  }
  return { at, ms };
}

/**
 * Places `rate × seconds` calls at `rate` per second to `target`, each held `holdMs`, and returns
 * SIPp's figures. Concurrency is capped (-l) at what the rate needs plus slack, so a system that
 * stops answering slows SIPp down (achieved < offered) instead of piling up calls without bound.
 */
export async function runLoadStep(opts: { target: string; rate: number; seconds: number; holdMs: number; localPort: number }): Promise<LoadStep> {
  const bin = findSippBinary();
  if (!bin) throw new Error('sipp not found (apt-get install sip-tester)');
  const dir = mkdtempSync(join(tmpdir(), 'watrunk-bench-uac-'));
  const scenario = join(dir, 'uac.xml');
  writeFileSync(scenario, uacXml(opts.holdMs));
  const calls = Math.round(opts.rate * opts.seconds);
  const limit = Math.ceil(opts.rate * (opts.holdMs / 1000 + 4));
  const timeoutS = opts.seconds + opts.holdMs / 1000 + 30;
  const args = [
    '-sf', scenario, opts.target, '-i', '127.0.0.1', '-p', String(opts.localPort), '-t', 'u1', '-nostdin',
    '-m', String(calls), '-r', String(opts.rate), '-l', String(limit),
    '-timeout', `${timeoutS}s`, '-timeout_error', '-recv_timeout', '32000',
    '-trace_rtt', '-rtt_freq', '1',
    // Signalling only: the SDP names a port nothing sends from.
    '-key', 'rtp_port', '40002',
  ];
  const started = performance.now();
  let stderr = '';
  await new Promise<void>((resolve) => {
    const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (b: Buffer) => { if (stderr.length < 10_000) stderr += b.toString(); });
    const kill = setTimeout(() => child.kill('SIGKILL'), (timeoutS + 10) * 1000);
    child.once('close', () => { clearTimeout(kill); resolve(); });
  });
  const wallMs = performance.now() - started;
  const rtt = responseTimes(dir);
  // A call counts as answered when its 200 was timed (one response-time row). SIPp's own
  // SuccessfulCall counter cannot be used: a call that took the scenario's failure branch to its
  // end counts as successful there.
  const succeeded = rtt.ms.length;
  if (succeeded === 0) process.stderr.write(`SIPp placed no successful call (files kept in ${dir}): ${stderr.slice(0, 2_000)}\n`);
  else rmSync(dir, { recursive: true, force: true });
  const failed = calls - succeeded;
  const span = rtt.at.length > 1 ? (rtt.at[rtt.at.length - 1]! - rtt.at[0]!) / 1000 : NaN;
  return {
    rate: opts.rate, calls, succeeded, failed,
    failedPct: (failed / calls) * 100,
    achievedCps: rtt.at.length > 1 ? (rtt.at.length - 1) / span : 0,
    p50Ms: percentile(rtt.ms, 50), p99Ms: percentile(rtt.ms, 99), wallMs,
  };
}

/** The called PBX (SIPp UAS) on `port`: answers every INVITE after `answerAfterMs`, with plain RTP (default) or WebRTC SDP. */
export function startAnsweringPbx(opts: { port: number; answerAfterMs: number; lifetimeMs: number; media?: AnswerMedia }): Promise<SippServer> {
  const dir = mkdtempSync(join(tmpdir(), 'watrunk-bench-uas-'));
  const file = join(dir, 'uas.xml');
  writeFileSync(file, uasXml(opts.answerAfterMs, opts.media ?? 'rtp'));
  return startSippServer({ scenario: file, localPort: opts.port, calls: 10_000_000, timeoutMs: opts.lifetimeMs });
}
