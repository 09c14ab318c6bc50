import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SIPP_OK_TO_REQUEST } from './sipp-common.js';

/**
 * SIPp UAS scenarios: the PBX answering watrunk's INVITE for a WhatsApp user's call. SIPp does
 * the signalling; the test's RTP endpoint is named in the SDP (`-key rtp_port N`), and the media
 * port watrunk offered plus the X-WA-Call-Id header are written to the scenario log
 * ("MEDIA <port>", "WACALL <id>") so the test can check them and aim its audio.
 */
export type UasBehaviour =
  /** 180, then 183 with SDP (early media), then 200 after `answerAfterMs`; then BYE after `holdMs`. */
  | { kind: 'answer-then-bye'; answerAfterMs: number; holdMs: number }
  /** 180, 183, 200; then wait for watrunk's BYE. */
  | { kind: 'answer-then-wait-bye'; answerAfterMs: number; maxWaitMs: number }
  /** A final failure after 180. */
  | { kind: 'reject'; status: number }
  /** 180 and never answer: expect CANCEL. */
  | { kind: 'ring-until-cancel'; maxWaitMs: number };

const SDP = `      v=0
      o=pbx 1 1 IN IP4 [local_ip]
      s=-
      c=IN IP4 [local_ip]
      t=0 0
      m=audio [rtp_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-16
      a=ptime:20
      a=sendrecv`;

/** A response to the INVITE. `afterCancel`: the last message was the CANCEL, whose CSeq is not the INVITE's. */
function response(status: string, withSdp: boolean, afterCancel = false): string {
  return `
  <send>
    <![CDATA[

      SIP/2.0 ${status}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      ${afterCancel ? 'CSeq: [$cseq] INVITE' : '[last_CSeq:]'}
      [last_Record-Route:]
      Contact: <sip:pbx@[local_ip]:[local_port];transport=[transport]>
${withSdp ? '      Content-Type: application/sdp\n      Content-Length: [len]\n\n' + SDP : '      Content-Length: 0'}

    ]]>
  </send>`;
}

const RECV_INVITE = `
  <recv request="INVITE" rrs="true">
    <action>
      <ereg regexp="m=audio ([0-9]+)" search_in="body" check_it="true" assign_to="all,mport" />
      <ereg regexp=".*" search_in="hdr" header="X-WA-Call-Id:" check_it="true" assign_to="wacall" />
      <ereg regexp="([0-9]+) INVITE" search_in="hdr" header="CSeq:" check_it="true" assign_to="cseqline,cseq" />
      <ereg regexp=".*" search_in="hdr" header="From:" check_it="true" assign_to="caller" />
      <ereg regexp=".*" search_in="hdr" header="To:" check_it="true" assign_to="callee" />
      <log message="MEDIA [$mport] ([$all])" />
      <log message="WACALL [$wacall]" />
      <log message="PEERS [$caller] / [$callee] ([$cseqline] [$cseq])" />
    </action>
  </recv>`;

const BYE = `
  <send retrans="500">
    <![CDATA[

      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From:[$callee];tag=[pid]SIPpTag01[call_number]
      To:[$caller]
      [routes]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" />`;


export function uasScenarioXml(b: UasBehaviour): string {
  const parts = [`<?xml version="1.0" encoding="ISO-8859-1" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n<scenario name="watrunk e2e UAS ${b.kind}">`, RECV_INVITE, response('180 Ringing', false)];
  switch (b.kind) {
    case 'answer-then-bye':
    case 'answer-then-wait-bye':
      parts.push(response('183 Session Progress', true), `  <pause milliseconds="${b.answerAfterMs}" />`, response('200 OK', true), '  <recv request="ACK" />');
      // A BYE from the UAS swaps the INVITE's From and To (RFC 3261 §12.2.1.1).
      if (b.kind === 'answer-then-bye') parts.push(`  <pause milliseconds="${b.holdMs}" />`, BYE);
      else parts.push(`  <recv request="BYE" timeout="${b.maxWaitMs}" />`, SIPP_OK_TO_REQUEST);
      break;
    case 'reject':
      parts.push(response(`${b.status} Rejected`, false), '  <recv request="ACK" />');
      break;
    case 'ring-until-cancel':
      parts.push(`  <recv request="CANCEL" timeout="${b.maxWaitMs}" />`, SIPP_OK_TO_REQUEST, response('487 Request Terminated', false, true), '  <recv request="ACK" />');
      break;
  }
  parts.push('</scenario>\n');
  return parts.join('\n');
}

export function writeUasScenario(b: UasBehaviour): { file: string; logFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'watrunk-sipp-uas-'));
  const file = join(dir, 'uas.xml');
  writeFileSync(file, uasScenarioXml(b));
  return { file, logFile: join(dir, 'uas.log') };
}
