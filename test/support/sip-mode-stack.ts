/**
 * The e2e stack of Meta's SIP mode (docs/sip-mode.md): a private CA, watrunk's drachtio-server and
 * the simulated Meta edge's drachtio-server (each with a TLS listener and a certificate from that
 * CA), a real rtpengine (watrunk's media engine and the edge's relay), the libwebrtc WhatsApp user,
 * and a real SIP phone (baresip) as the PBX. Tests may put proxies between watrunk and the edge
 * (`route`); without them the two talk directly.
 */
import { pino } from 'pino';
import { onTestFailed } from 'vitest';
import { startBridgeStack, type BridgeStack } from './bridge-stack.js';
import { startDrachtioServer, type DrachtioTlsServer } from './drachtio-server.js';
import { realMediaSkipReason, startMediaFixture, wrtcFactory, type MediaFixture } from './media/media-fixture.js';
import { recordingSimMedia, type RecordedPeer } from './media/recording-sim-media.js';
import { waitFor } from './media/wait.js';
import { hearsBothWays as hearsBothWaysWith } from './phones/phone-tones.js';
import { BaresipPhone } from './phones/baresip-phone.js';
import { tail } from './phones/process.js';
import { freeUdpTcpPort } from './ports.js';
import type { SimulatorConfigInput } from '../../src/simulator/index.js';
import { createTestCa, opensslSkipReason, type TestCa } from './tls-ca.js';

export const USER_HZ = 440;
export const PHONE_HZ = 1000;

/** Why the SIP-mode e2e files must skip (drachtio-server is checked by describeIfDrachtio). */
export async function sipModeSkipReason(): Promise<string | undefined> {
  return (await realMediaSkipReason()) ?? BaresipPhone.skipReason() ?? opensslSkipReason();
}

export interface SipModeStack {
  ca: TestCa;
  watrunkSip: DrachtioTlsServer;
  edgeSip: DrachtioTlsServer;
  fx: MediaFixture;
  stack: BridgeStack;
  peers: RecordedPeer[];
  /** Where the phone listens for watrunk's INVITEs (numbers[0].inbound). */
  ringPort: number;
  /** A baresip phone (PCMU, auto-answer, playing PHONE_HZ); logs of every party printed if the test fails. */
  startPhone(sipPort?: number): Promise<BaresipPhone>;
  /** Stops the phone of the last startPhone() (afterEach). */
  stopPhone(): Promise<void>;
  /** The phone's and the user's tone fractions, in successive windows (phone-tones.ts). */
  hearsBothWays(p: BaresipPhone, peer: RecordedPeer): ReturnType<typeof hearsBothWaysWith>;
  /** The WhatsApp call ended, and nothing is left open in watrunk or rtpengine (bounded waits). */
  ended(waCallId: string): Promise<void>;
  stop(): Promise<void>;
}

export interface SipModeRoute {
  /** watrunk's meta_sip.edge_uri (default: the edge's TLS listener). */
  edgeUri?: string;
  /** The edge's business_proxy (default: watrunk's TLS listener). */
  bridgeUri?: string;
  /** More logs to print when a test fails. */
  logs?: () => string[];
  stop?: () => Promise<void>;
}

export async function startSipModeStack(opts: {
  srtp: 'sdes' | 'dtls';
  users: SimulatorConfigInput['users'];
  /** Proxies between the two, started once both drachtio-servers run. */
  route?: (x: { ca: TestCa; watrunkSip: DrachtioTlsServer; edgeSip: DrachtioTlsServer }) => Promise<SipModeRoute>;
}): Promise<SipModeStack> {
  const ca = await createTestCa();
  const watrunkCert = await ca.issueServerCert({ dnsNames: ['sip.watrunk.test', 'localhost'], ipAddresses: ['127.0.0.1'], name: 'watrunk' });
  const edgeCert = await ca.issueServerCert({ dnsNames: ['wa.meta.vc', 'localhost'], ipAddresses: ['127.0.0.1'], name: 'edge' });
  const watrunkSip = await startDrachtioServer({ tls: { certFile: watrunkCert.certFile, keyFile: watrunkCert.keyFile, chainFile: watrunkCert.caBundleFile } });
  const edgeSip = await startDrachtioServer({ tls: { certFile: edgeCert.certFile, keyFile: edgeCert.keyFile, chainFile: edgeCert.caBundleFile } });
  const route = (await opts.route?.({ ca, watrunkSip, edgeSip })) ?? {};
  const fx = await startMediaFixture();
  const rec = recordingSimMedia(await wrtcFactory());
  const ringPort = await freeUdpTcpPort();
  const stack = await startBridgeStack({
    media: fx.media, simMedia: rec.media, logger: pino({ level: process.env['WATRUNK_TEST_LOG'] ?? 'warn' }),
    drachtio: { host: watrunkSip.host, port: watrunkSip.adminPort, secret: watrunkSip.secret },
    inbound: { target: `sip:phone@127.0.0.1:${ringPort}` },
    timing: { accept_window_ms: 30_000 },
    users: opts.users,
    sipMode: {
      srtp: opts.srtp,
      edgeDrachtio: { host: edgeSip.host, port: edgeSip.adminPort, secret: edgeSip.secret },
      edgeUri: route.edgeUri ?? edgeSip.tlsUri,
      bridgeUri: route.bridgeUri ?? watrunkSip.tlsUri,
      rtpengine: { host: fx.rtpengine.host, port: fx.rtpengine.ngPort },
    },
  });
  await waitFor('bridge connected to drachtio', () => stack.bridge.drachtio?.connected, { timeoutMs: 10_000, intervalMs: 50 });
  let phone: BaresipPhone | undefined;
  return {
    ca, watrunkSip, edgeSip, fx, stack, peers: rec.peers, ringPort,
    async startPhone(sipPort) {
      await phone?.stop().catch(() => undefined);
      const p = new BaresipPhone();
      phone = p;
      await p.start({ toneHz: PHONE_HZ, autoAnswer: true, codecs: ['PCMU'], ...(sipPort ? { sipPort } : {}) });
      onTestFailed(() => console.error([
        `--- baresip ---\n${tail(p.logs(), 5_000)}`,
        ...(route.logs?.() ?? []),
        `--- watrunk's drachtio ---\n${tail(watrunkSip.logs(), 10_000)}`,
        `--- edge drachtio ---\n${tail(edgeSip.logs(), 6_000)}`,
      ].join('\n')));
      return p;
    },
    async stopPhone() {
      await phone?.stop().catch(() => undefined);
      phone = undefined;
    },
    hearsBothWays: (p, peer) => hearsBothWaysWith(p, peer, { phoneHz: PHONE_HZ, userHz: USER_HZ }),
    async ended(waCallId) {
      await waitFor('WhatsApp call ended', () => stack.sim.getCall(waCallId)?.state === 'ended', { timeoutMs: 8_000, intervalMs: 50 });
      await waitFor('no call in watrunk', () => stack.bridge.registry.size === 0, { timeoutMs: 3_000 });
      await waitFor('no rtpengine session', () => fx.media.openSessions().length === 0, { timeoutMs: 3_000 });
    },
    async stop() {
      await phone?.stop().catch(() => undefined);
      await stack.stop();
      await fx.stop();
      await route.stop?.();
      await watrunkSip.stop();
      await edgeSip.stop();
      await ca.cleanup();
    },
  };
}
