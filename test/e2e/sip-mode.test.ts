/**
 * Meta's SIP mode end to end (docs/sip-mode.md): a real SIP phone (baresip) on the PBX side, watrunk
 * on one drachtio-server with a TLS listener, and the simulator's Meta SIP edge on another drachtio-
 * server with its own TLS listener (certificates from a private CA), rtpengine as watrunk's media
 * engine and as Meta's relay toward the libwebrtc WhatsApp user. Both media flavours (SDES and
 * ice-lite DTLS), both call directions, tones both ways; a stale SIP password is re-fetched once
 * and the call goes through; a wrong one gives the phone a clear failure after exactly one re-fetch.
 * Skips loudly without drachtio-server, baresip, rtpengine, libwebrtc or openssl.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PNID } from '../support/bridge-stack.js';
import { describeIfDrachtio } from '../support/drachtio-server.js';
import { waitFor } from '../support/media/wait.js';
import { sipModeSkipReason, startSipModeStack, type SipModeStack } from '../support/sip-mode-stack.js';

const skip = await sipModeSkipReason();
if (skip) console.warn(`\n${'!'.repeat(78)}\n!!  SKIPPING SIP-mode e2e tests: ${skip}\n${'!'.repeat(78)}\n`);

describeIfDrachtio(describe, 'e2e Meta SIP mode: PBX phone -> watrunk -> TLS -> simulated Meta SIP edge', () => {
  describe.skipIf(skip !== undefined).each(['sdes', 'dtls'] as const)(`media %s${skip ? ` (skipped: ${skip})` : ''}`, (srtp) => {
    let s: SipModeStack;

    beforeAll(async () => {
      s = await startSipModeStack({
        srtp,
        users: [
          { match: '447700900200', behaviour: 'reject', answer_after_ms: 200, permission: 'temporary' },
          { match: '4477009*', behaviour: 'answer', answer_after_ms: 200, permission: 'temporary' },
        ],
      });
    });
    afterEach(async () => { await s?.stopPhone(); });
    afterAll(async () => { await s?.stop(); });

    it('baresip calls a WhatsApp user over Meta\'s SIP edge: digest, tones both ways, its hangup BYEs Meta', async () => {
      const p = await s.startPhone();
      const before = s.peers.length;
      await p.dial(`sip:+447700900123@127.0.0.1:${s.watrunkSip.sipPort}`);
      await p.waitForEvent('CALL_ESTABLISHED', 15_000);
      const peer = await waitFor('WhatsApp user media', () => s.peers[before], { timeoutMs: 10_000 });
      const view = await waitFor('call accepted at the edge', () => s.stack.sim.listCalls().find((c) => c.acceptedAt && c.state !== 'ended'), { timeoutMs: 10_000 });
      // The SDP watrunk offered Meta is the configured flavour.
      if (srtp === 'sdes') expect(view.offerSdp).toMatch(/^m=audio \d+ RTP\/SAVP /m);
      else expect(view.offerSdp).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF /m);
      const heard = await s.hearsBothWays(p, peer);
      expect(heard.atUser).toBeGreaterThan(0.8);
      expect(heard.atPhone).toBeGreaterThan(0.8);
      await p.hangup();
      await s.ended(view.id);
      expect(s.stack.sim.getCall(view.id)!.endedBy).toBe('business');
    });

    it('a WhatsApp user calls baresip over SIP: watrunk challenges Meta, tones both ways; the user hangs up and the phone gets BYE', async () => {
      const p = await s.startPhone(s.ringPort);
      const before = s.peers.length;
      const { callId } = await s.stack.sim.startUserCall({ from: '447700900150' });
      await p.waitForEvent('CALL_ESTABLISHED', 15_000);
      await waitFor('accepted', () => s.stack.sim.getCall(callId)?.acceptedAt, { timeoutMs: 10_000 });
      // Meta's Call-ID "outgoing:wacid.…" reaches the PBX as X-WA-Call-Id without its prefix (baresip's SIP trace).
      expect(callId).toMatch(/^wacid\./);
      expect(p.logs()).toContain(`X-WA-Call-Id: ${callId}`);
      const heard = await s.hearsBothWays(p, s.peers[before]!);
      expect(heard.atUser).toBeGreaterThan(0.8);
      expect(heard.atPhone).toBeGreaterThan(0.8);
      await fetch(`${s.stack.simUrl}/_sim/calls/${encodeURIComponent(callId)}/hangup`, { method: 'POST' });
      await p.waitForEvent('CALL_CLOSED', 8_000);
      await s.ended(callId);
    });

    it('the user declines (Meta answers 486): the phone gets 603, as in API mode', async () => {
      const p = await s.startPhone();
      await p.dial(`sip:+447700900200@127.0.0.1:${s.watrunkSip.sipPort}`);
      const closed = await p.waitForEvent('CALL_CLOSED', 10_000);
      expect(JSON.stringify(closed)).toMatch(/603/);
      await waitFor('no call in watrunk', () => s.stack.bridge.registry.size === 0, { timeoutMs: 3_000 });
      await waitFor('no rtpengine session', () => s.fx.media.openSessions().length === 0, { timeoutMs: 3_000 });
    });

    it('a wrong password: the phone gets a clear 503 (WhatsApp SIP Auth Failed) after exactly one re-fetch', async () => {
      const before = await sipEvents();
      s.stack.sim.sipEdge!.refuseDigests = true;
      try {
        const p = await s.startPhone();
        await p.dial(`sip:+447700900125@127.0.0.1:${s.watrunkSip.sipPort}`);
        const closed = await p.waitForEvent('CALL_CLOSED', 10_000);
        expect(JSON.stringify(closed)).toMatch(/503/);
      } finally {
        s.stack.sim.sipEdge!.refuseDigests = false;
      }
      const after = await sipEvents();
      expect(after['digest_failed']! - (before['digest_failed'] ?? 0)).toBe(1);
      expect(after['password_refetched']! - (before['password_refetched'] ?? 0)).toBe(1);
      expect((after['password_changed'] ?? 0) - (before['password_changed'] ?? 0)).toBe(0);
      await waitFor('no call in watrunk', () => s.stack.bridge.registry.size === 0, { timeoutMs: 3_000 });
    });

    it('a password Meta has since changed is re-fetched once and the call goes through', async () => {
      const before = await sipEvents();
      s.stack.sim.rotateSipPassword(PNID);
      const p = await s.startPhone();
      await p.dial(`sip:+447700900124@127.0.0.1:${s.watrunkSip.sipPort}`);
      await p.waitForEvent('CALL_ESTABLISHED', 15_000);
      const after = await sipEvents();
      expect(after['password_refetched']! - (before['password_refetched'] ?? 0)).toBe(1);
      expect(after['password_changed']! - (before['password_changed'] ?? 0)).toBe(1);
      await p.hangup();
      await waitFor('no call in watrunk', () => s.stack.bridge.registry.size === 0, { timeoutMs: 8_000 });
    });

    it('keeps the TLS connection to Meta\'s edge alive with OPTIONS (meta_sip.keepalive_s), which the edge answers', async () => {
      await waitFor('an OPTIONS keep-alive at the edge', () => /recv \d+ bytes from tls\/[^\n]*\nOPTIONS sip:wa\.meta\.vc;transport=tls SIP\/2\.0/.test(s.edgeSip.logs()), { timeoutMs: 5_000, intervalMs: 100 });
      const ready = await (await fetch(`${s.stack.bridge.internalUrl}/readyz`)).json() as { checks: Record<string, { ok: boolean; detail: string }> };
      expect(ready.checks['meta_sip']).toEqual({ ok: true, detail: '1 number(s) in mode sip' });
      expect(ready.checks['sip_mode']?.ok).toBe(true);
    });

    /** watrunk_meta_sip_events_total by event, from /metrics. */
    async function sipEvents(): Promise<Record<string, number>> {
      const text = await (await fetch(`${s.stack.bridge.internalUrl}/metrics`)).text();
      const out: Record<string, number> = {};
      for (const m of text.matchAll(/^watrunk_meta_sip_events_total\{event="([a-z_]+)"\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
      return out;
    }
  });
});
