import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SIPP_OK_TO_REQUEST } from './sipp-common.js';

/**
 * SIPp UAC scenarios for the PBX side of end-to-end tests, generated per test so each states
 * exactly what it expects. SIPp does signalling only: the SDP names `[rtp_port]` (passed with
 * `-key rtp_port N`), where the test's own RTP endpoint plays and records audio, and the media
 * address watrunk answers with is written to the scenario log as "MEDIA <port>" so the test can
 * point its endpoint at it.
 */
export type UacOutcome =
  /** 200 OK, ACK, hold the call `holdMs`, then BYE. */
  | { kind: 'answer-then-bye'; holdMs: number }
  /** 200 OK, ACK, then wait (up to `maxWaitMs`) for watrunk's BYE and answer it. */
  | { kind: 'answer-then-wait-bye'; maxWaitMs: number }
  /** A final failure with this status, then ACK. */
  | { kind: 'fail'; status: number }
  /** Wait for 18x, CANCEL, expect 200 (CANCEL) and 487. */
  | { kind: 'cancel-after-ringing' };

const HEADER = (name: string) => `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="${name}">`;

/** The From header of the e2e PBX's requests. */
export const DESK_FROM = '"Desk 1001" <sip:1001@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]';

/**
 * The PBX's INVITE (PCMU + telephone-event on `[rtp_port]`), retransmitted per RFC 3261 timer A.
 * `target` is the Request-URI user, `from` the From header value.
 */
export function sippInvite({ extraHeaders = [], target = '[service]', from = DESK_FROM }: { extraHeaders?: string[]; target?: string; from?: string } = {}): string {
  return `
  <send retrans="500">
    <![CDATA[

      INVITE sip:${target}@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: ${from}
      To: <sip:${target}@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:1001@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      User-Agent: watrunk-e2e-sipp
${extraHeaders.map((h) => `      ${h}\n`).join('')}      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=pbx 53655765 2353687637 IN IP4 [local_ip]
      s=-
      c=IN IP4 [local_ip]
      t=0 0
      m=audio [rtp_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=ptime:20
      a=sendrecv

    ]]>
  </send>
  <recv response="100" optional="true" />`;
}

const LOG_MEDIA = `
    <action>
      <ereg regexp="m=audio ([0-9]+)" search_in="body" check_it="true" assign_to="all,mport" />
      <log message="MEDIA [$mport] ([$all])" />
    </action>`;

/** ACK to a 2xx: a transaction of its own (new branch) along the route set (RFC 3261 §13.2.2.4). */
export function sippAck2xx(from = DESK_FROM): string {
  return `
  <send>
    <![CDATA[

      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: ${from}
      [last_To:]
      [routes]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>`;
}

/** ACK to a final failure: part of the INVITE transaction, so the INVITE's Via (RFC 3261 §17.1.1.3). */
export function sippAckFailure(target = '[service]', from = DESK_FROM): string {
  return `
  <send>
    <![CDATA[

      ACK sip:${target}@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      From: ${from}
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>`;
}

/** The caller's BYE and the 200 that answers it. */
export function sippCallerBye(from = DESK_FROM, recv200 = '<recv response="200" crlf="true" />'): string {
  return `
  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: ${from}
      [last_To:]
      [routes]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  ${recv200}`;
}

const ACK_2XX = sippAck2xx();
const ACK_FAILURE = sippAckFailure();
const BYE = sippCallerBye();


// [branch-4]: the CANCEL is the 5th scenario step (INVITE, 100, 180, 183, CANCEL) and must carry
// the INVITE's branch (RFC 3261 §9.1).
const CANCEL = `
  <send>
    <![CDATA[

      CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch-4]
      From: "Desk 1001" <sip:1001@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 CANCEL
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" />
  <recv response="487" />`;

export function uacScenarioXml(outcome: UacOutcome, extraHeaders: string[] = []): string {
  const parts = [HEADER(`watrunk e2e ${outcome.kind}`), sippInvite({ extraHeaders })];
  switch (outcome.kind) {
    case 'answer-then-bye':
    case 'answer-then-wait-bye':
      parts.push('  <recv response="180" optional="true" />');
      parts.push(`  <recv response="183" optional="true">${LOG_MEDIA}\n  </recv>`);
      parts.push(`  <recv response="200" rrs="true" rtd="true">${LOG_MEDIA}\n  </recv>`);
      parts.push(ACK_2XX);
      if (outcome.kind === 'answer-then-bye') {
        parts.push(`  <pause milliseconds="${outcome.holdMs}" />`, BYE);
      } else {
        parts.push(`  <recv request="BYE" timeout="${outcome.maxWaitMs}" />`, SIPP_OK_TO_REQUEST);
      }
      break;
    case 'fail':
      parts.push('  <recv response="180" optional="true" />', '  <recv response="183" optional="true" />');
      parts.push(`  <recv response="${outcome.status}" rtd="true" />`, ACK_FAILURE);
      break;
    case 'cancel-after-ringing':
      parts.push('  <recv response="180" optional="true" />', `  <recv response="183">${LOG_MEDIA}\n  </recv>`, CANCEL, ACK_FAILURE);
      break;
  }
  parts.push('</scenario>\n');
  return parts.join('\n');
}

/** Writes the scenario into a fresh temp dir; returns its path and the log file SIPp will write. */
export function writeUacScenario(outcome: UacOutcome, extraHeaders: string[] = []): { file: string; logFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'watrunk-sipp-'));
  const file = join(dir, 'uac.xml');
  writeFileSync(file, uacScenarioXml(outcome, extraHeaders));
  return { file, logFile: join(dir, 'uac.log') };
}
