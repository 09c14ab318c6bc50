/**
 * SIPp for the soak (bench/soak.ts): one long-running UAC that places the PBX's calls at a bounded
 * rate to callees read from an injection file, and takes whatever final answer comes (faults make
 * some calls fail on purpose); and UAS servers that answer or never answer watrunk's INVITEs.
 * Signalling only: the SDP names a port nothing sends from (docs/sip.md#test-tools).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SIPP_OK_TO_REQUEST } from '../sipp-common.js';
import { sippAck2xx, sippAckFailure, sippCallerBye, sippInvite } from '../sipp-scenarios.js';
import { writeUasScenario } from '../sipp-uas-scenarios.js';
import { startSippServer, type SippServer } from '../sipp.js';

/** Final answers a soak call may get: the README's error table and watrunk's own refusals. */
const FAILURES = [403, 404, 408, 480, 484, 486, 487, 488, 500, 502, 503, 504, 603];

const FROM = '"Soak" <sip:1001@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]';

function uacXml(pbxByeAfterMs: number): string {
  const failures = FAILURES.map((s) => `  <recv response="${s}" optional="true" next="failed" />`).join('\n');
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="watrunk soak PBX">
${sippInvite({ target: '+[field0]', from: FROM })}
  <recv response="180" optional="true" />
  <recv response="183" optional="true" />
${failures}
  <recv response="200" rrs="true" />${sippAck2xx(FROM)}
  <recv request="BYE" timeout="${pbxByeAfterMs}" ontimeout="pbxbye" />
${SIPP_OK_TO_REQUEST}
  <nop next="done" />
  <label id="pbxbye" />${sippCallerBye(FROM, '<recv response="200" />')}
  <nop next="done" />
  <label id="failed" />${sippAckFailure('+[field0]', FROM)}
  <label id="done" />
</scenario>
`;
}

/**
 * The PBX placing calls: `rateCps` new calls a second (at most `maxCalls`, at most `limit` at once)
 * to `callees` in turn. An answered call is hung up by the PBX after `pbxByeAfterMs` unless watrunk
 * sends BYE first (the WhatsApp user hung up).
 */
export async function startSoakUac(opts: {
  target: string; callees: string[]; rateCps: number; maxCalls: number; limit: number; pbxByeAfterMs: number; rtpPort: number; lifetimeMs: number;
}): Promise<SippServer> {
  const dir = mkdtempSync(join(tmpdir(), 'watrunk-soak-uac-'));
  const file = join(dir, 'uac.xml');
  const csv = join(dir, 'callees.csv');
  writeFileSync(file, uacXml(opts.pbxByeAfterMs));
  writeFileSync(csv, `SEQUENTIAL\n${opts.callees.map((c) => `${c};`).join('\n')}\n`);
  const periodMs = Math.max(1, Math.round(1000 / opts.rateCps));
  return startSippServer({
    scenario: file, calls: opts.maxCalls, timeoutMs: opts.lifetimeMs,
    extraArgs: [opts.target, '-inf', csv, '-r', '1', '-rp', String(periodMs), '-l', String(opts.limit), '-key', 'rtp_port', String(opts.rtpPort)],
  });
}

/** A PBX that answers every INVITE (then waits for watrunk's BYE), or one that rings until CANCEL. */
export async function startSoakUas(opts: { port: number; answer: boolean; rtpPort: number; lifetimeMs: number }): Promise<SippServer> {
  const { file } = writeUasScenario(opts.answer
    ? { kind: 'answer-then-wait-bye', answerAfterMs: 300, maxWaitMs: 30_000 }
    : { kind: 'ring-until-cancel', maxWaitMs: 30_000 });
  return startSippServer({
    scenario: file, localPort: opts.port, calls: 1_000_000, timeoutMs: opts.lifetimeMs,
    extraArgs: ['-key', 'rtp_port', String(opts.rtpPort)],
  });
}
