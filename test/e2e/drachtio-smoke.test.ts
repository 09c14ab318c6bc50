/**
 * Smoke test of the real SIP stack: a private drachtio-server, a drachtio-srf app connected to its
 * admin port, and SIPp as the far end, all on 127.0.0.1.
 * Skips loudly when no drachtio-server binary is available (env DRACHTIO_BIN or `drachtio` on PATH)
 * or when SIPp is missing.
 */
import { fileURLToPath } from 'node:url';
import Srf from 'drachtio-srf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeIfDrachtio, startDrachtioServer, type DrachtioServer } from '../support/drachtio-server.js';
import { runSippClient, sippAvailable, type SippResult } from '../support/sipp.js';

const scenario = (name: string): string => fileURLToPath(new URL(`../sipp/${name}`, import.meta.url));

/** The bits of drachtio-srf used here that its .d.ts lacks or types too narrowly (docs/sip.md#drachtio-pitfalls). */
interface SrfReq { method: string; callId: string; get(name: string): string | undefined }
interface SrfRes { send(status: number, reason?: string): void }
type Handler = (req: SrfReq, res: SrfRes) => void;
interface SrfApp {
  connect(opts: { host: string; port: number; secret: string; reconnect?: { maxAttempts?: number; retryMaxDelay?: number } }): unknown;
  disconnect(): void;
  options(handler: Handler): void;
  invite(handler: Handler): void;
  on(event: 'connect', cb: (err: Error | null | undefined, hostport?: string, version?: string) => void): unknown;
  on(event: 'error' | 'close' | 'reconnecting', cb: (arg?: unknown) => void): unknown;
  removeAllListeners(event?: string): unknown;
}

function connectSrf(srf: SrfApp, server: DrachtioServer, timeoutMs = 10_000): Promise<{ hostport: string; version: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`drachtio-srf did not connect within ${timeoutMs} ms`)), timeoutMs);
    srf.on('connect', (err, hostport, version) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve({ hostport: hostport ?? '', version: version ?? '' });
    });
    srf.connect({ host: server.host, port: server.adminPort, secret: server.secret, reconnect: { maxAttempts: 5, retryMaxDelay: 1_000 } });
  });
}

function explain(r: SippResult, server: DrachtioServer): string {
  return [
    `SIPp: ${r.command}`,
    `exit code ${r.code} signal ${r.signal} timedOut ${r.timedOut}`,
    `--- SIPp errors ---\n${r.errors}`,
    `--- SIPp stderr ---\n${r.stderr}`,
    `--- SIPp stdout (tail) ---\n${r.stdout.slice(-3000)}`,
    `--- drachtio log (tail) ---\n${server.logs().slice(-6000)}`,
  ].join('\n');
}

const sippMissing = !sippAvailable();
if (sippMissing) {
  console.warn(`\n${'!'.repeat(78)}\n!!  SKIPPING drachtio smoke tests: 'sipp' not found (apt-get install sip-tester, or set SIPP_BIN)\n${'!'.repeat(78)}\n`);
}

describeIfDrachtio(describe, 'drachtio-server smoke: drachtio-srf app + SIPp over 127.0.0.1', () => {
  describe.skipIf(sippMissing)('with SIPp', () => {
    let server: DrachtioServer | undefined;
    let srf: SrfApp | undefined;
    let connectInfo: { hostport: string; version: string } | undefined;
    const seen: { options: SrfReq[]; invites: SrfReq[] } = { options: [], invites: [] };

    beforeAll(async () => {
      server = await startDrachtioServer();
      // drachtio-srf is CommonJS (`module.exports = Srf`); its .d.ts misses srf.options() etc.
      srf = new Srf() as unknown as SrfApp;
      srf.on('error', () => undefined); // socket errors surface via 'connect'/'close'; never crash the worker
      srf.options((req, res) => { seen.options.push(req); res.send(200); });
      srf.invite((req, res) => { seen.invites.push(req); res.send(486); });
      try {
        connectInfo = await connectSrf(srf, server);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n--- drachtio log ---\n${server.logs()}`);
      }
    });

    afterAll(async () => {
      if (srf) {
        try { srf.disconnect(); } catch { /* never connected */ }
        srf.removeAllListeners();
      }
      await server?.stop();
    });

    it('connects drachtio-srf to the admin port', () => {
      expect(connectInfo?.hostport).toContain(`127.0.0.1:${server?.sipPort}`);
      expect(connectInfo?.hostport).toMatch(/udp\//);
      expect(connectInfo?.hostport).toMatch(/tcp\//);
    });

    it('answers an out-of-dialog OPTIONS with 200 (srf.options) over UDP', async () => {
      const before = seen.options.length;
      const r = await runSippClient({ scenario: scenario('options.xml'), target: `127.0.0.1:${server!.sipPort}`, timeoutMs: 15_000 });
      expect(r.code, explain(r, server!)).toBe(0);
      expect(seen.options.length).toBe(before + 1);
      expect(seen.options.at(-1)?.get('User-Agent')).toBe('watrunk-e2e-sipp');
    });

    it('answers OPTIONS with 200 over TCP too', async () => {
      const before = seen.options.length;
      const r = await runSippClient({ scenario: scenario('options.xml'), target: `127.0.0.1:${server!.sipPort}`, transport: 't1', timeoutMs: 15_000 });
      expect(r.code, explain(r, server!)).toBe(0);
      expect(seen.options.length).toBe(before + 1);
    });

    it("rejects SIPp's built-in uac INVITE with 486 (the built-in scenario expects 180/200, so it fails)", async () => {
      const before = seen.invites.length;
      const r = await runSippClient({ builtin: 'uac', target: `127.0.0.1:${server!.sipPort}`, timeoutMs: 15_000 });
      expect(seen.invites.length, explain(r, server!)).toBe(before + 1);
      expect(r.code, explain(r, server!)).toBe(1); // 1 = at least one failed call
      expect(r.errors, explain(r, server!)).toMatch(/SIP\/2\.0 486/);
    });

    it('a UAC scenario expecting 486 passes (srf.invite -> res.send(486))', async () => {
      const before = seen.invites.length;
      const r = await runSippClient({ scenario: scenario('uac-expect-486.xml'), target: `127.0.0.1:${server!.sipPort}`, timeoutMs: 15_000 });
      expect(r.code, explain(r, server!)).toBe(0);
      expect(seen.invites.length).toBe(before + 1);
      expect(seen.invites.at(-1)?.method).toBe('INVITE');
    });
  });
});
