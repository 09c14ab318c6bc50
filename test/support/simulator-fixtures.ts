import { createHmac, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { request } from 'undici';
import { createLogger } from '../../src/logging.js';
import { createSimulator, type Simulator, type SimulatorConfigInput } from '../../src/simulator/index.js';
import type { MediaReport, SimulatedMediaFactory, SimulatedUserMedia } from '../../src/simulator/media/types.js';

/** Shared by test/unit/simulator-*.test.ts: a fake media, a bridge stub that checks signatures, a sim builder. */

export const APP_SECRET = 'sim-test-app-secret';
export const TOKEN = 'sim-test-token';
export const PNID = '105615555715855';
export const DISPLAY = '15551112222';

export const OFFER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 126\r\nc=IN IP4 0.0.0.0\r\na=setup:actpass\r\n';
export const ANSWER = 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 126\r\nc=IN IP4 0.0.0.0\r\na=setup:active\r\n';

/** Records what the simulator asked of the media; reports a first packet only if told to. */
export class FakeMedia implements SimulatedUserMedia {
  answered?: string;
  applied?: string;
  dtmf = '';
  closed = false;
  firstPacketAt?: number;
  async answer(offerSdp: string): Promise<string> {
    this.answered = offerSdp;
    return 'v=0\r\no=- 9 9 IN IP4 31.13.65.60\r\ns=-\r\nt=0 0\r\na=ice-lite\r\nm=audio 3482 UDP/TLS/RTP/SAVPF 111 126\r\na=setup:active\r\n';
  }
  async createOffer(): Promise<string> {
    return 'v=0\r\no=- 7 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-lite\r\nm=audio 40012 UDP/TLS/RTP/SAVPF 111 126\r\na=setup:actpass\r\n';
  }
  async applyAnswer(answerSdp: string): Promise<void> { this.applied = answerSdp; }
  talking = false;
  startTalking(): void { this.talking = true; }
  async sendDtmf(digits: string): Promise<void> { this.dtmf += digits; }
  report(): MediaReport {
    return { mode: 'signalling-only', receivedPackets: this.firstPacketAt ? 1 : 0, tones: [], dtmfReceived: '', ...(this.firstPacketAt ? { firstPacketAt: this.firstPacketAt } : {}) };
  }
  async close(): Promise<void> { this.closed = true; }
}

export class FakeMediaFactory implements SimulatedMediaFactory {
  readonly mode = 'signalling-only' as const;
  readonly created: FakeMedia[] = [];
  create(): SimulatedUserMedia {
    const m = new FakeMedia();
    this.created.push(m);
    return m;
  }
}

export interface Delivery {
  raw: Buffer;
  body: any;
  signatureOk: boolean;
  envelopeProblems: string[];
  at: number;
}

/** Checks Meta's envelope (docs/whatsapp-calling.md#envelope): object, entry[{id, changes[{field, value{messaging_product, metadata}}]}]. */
export function envelopeProblems(body: any): string[] {
  const p: string[] = [];
  if (body?.object !== 'whatsapp_business_account') p.push('object');
  const entry = body?.entry?.[0];
  if (typeof entry?.id !== 'string') p.push('entry[0].id');
  const change = entry?.changes?.[0];
  if (change?.field !== 'calls' && change?.field !== 'messages') p.push('changes[0].field');
  const v = change?.value;
  if (v?.messaging_product !== 'whatsapp') p.push('value.messaging_product');
  if (typeof v?.metadata?.display_phone_number !== 'string' || typeof v?.metadata?.phone_number_id !== 'string') p.push('value.metadata');
  for (const item of [...(v?.calls ?? []), ...(v?.statuses ?? []), ...(v?.messages ?? [])]) {
    if (typeof item.timestamp !== 'string' || !/^[0-9]+$/.test(item.timestamp)) p.push('timestamp must be a digit string');
    if (item.duration !== undefined && typeof item.duration !== 'number') p.push('duration must be a number');
  }
  return p;
}

/** A stand-in for the bridge's webhook: verifies X-Hub-Signature-256 over the raw bytes. */
export class BridgeStub {
  readonly deliveries: Delivery[] = [];
  private failures: number[] = [];
  private delayMs = 0;
  private inFlight = 0;
  /** Most deliveries being handled at the same time. */
  maxInFlight = 0;
  private constructor(readonly app: FastifyInstance, readonly url: string) {}

  static async start(appSecret = APP_SECRET): Promise<BridgeStub> {
    const app = Fastify({ forceCloseConnections: true });
    let stub!: BridgeStub;
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    app.post('/webhook', async (req, reply) => {
      const raw = req.body as Buffer;
      const expected = Buffer.from(`sha256=${createHmac('sha256', appSecret).update(raw).digest('hex')}`);
      const got = Buffer.from(String(req.headers['x-hub-signature-256'] ?? ''));
      const body = JSON.parse(raw.toString('utf8'));
      const status = stub.failures.shift();
      stub.inFlight += 1;
      stub.maxInFlight = Math.max(stub.maxInFlight, stub.inFlight);
      if (stub.delayMs) await new Promise((r) => setTimeout(r, stub.delayMs));
      stub.inFlight -= 1;
      stub.deliveries.push({
        raw, body, at: Date.now(), envelopeProblems: envelopeProblems(body),
        signatureOk: got.length === expected.length && timingSafeEqual(got, expected),
      });
      return reply.code(status ?? 200).send('EVENT_RECEIVED');
    });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    stub = new BridgeStub(app, `${address}/webhook`);
    return stub;
  }

  /** The next `n` deliveries are answered with `status` (they are still recorded). */
  failNext(n: number, status = 500): void {
    for (let i = 0; i < n; i++) this.failures.push(status);
  }

  respondAfter(ms: number): void {
    this.delayMs = ms;
  }

  /** Summaries in arrival order: "connect", "status:RINGING", "terminate:COMPLETED", "permission_reply:accept". */
  summaries(callId?: string): string[] {
    return this.deliveries.flatMap((d) => {
      const v = d.body.entry[0].changes[0].value;
      const call = v.calls?.[0];
      const st = v.statuses?.[0];
      const msg = v.messages?.[0];
      if (call && (!callId || call.id === callId)) return [call.event === 'terminate' ? `terminate:${call.status}` : call.event];
      if (st && (!callId || st.id === callId)) return [`status:${st.status}`];
      if (msg && !callId) return [`permission_reply:${msg.interactive.call_permission_reply.response}`];
      return [];
    });
  }

  values(): any[] {
    return this.deliveries.map((d) => d.body.entry[0].changes[0].value);
  }

  async waitFor(predicate: () => boolean, timeoutMs = 3_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > until) throw new Error(`timed out; deliveries so far: ${JSON.stringify(this.summaries())}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}

export interface TestSim {
  sim: Simulator;
  url: string;
  media: FakeMediaFactory;
  graph(method: 'GET' | 'POST', path: string, body?: unknown, token?: string | null): Promise<{ status: number; body: any }>;
  control(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: any }>;
  connect(to: string, extra?: Record<string, unknown>): Promise<{ status: number; body: any }>;
  action(action: string, callId: string, extra?: Record<string, unknown>): Promise<{ status: number; body: any }>;
}

/** A simulator on an ephemeral 127.0.0.1 port whose single number posts to `stub`. */
export async function startSim(stub: BridgeStub, config: Partial<SimulatorConfigInput> = {}, clock?: () => number): Promise<TestSim> {
  const media = new FakeMediaFactory();
  const sim = createSimulator({
    http: { host: '127.0.0.1', port: 0 },
    numbers: [{ phone_number_id: PNID, display_number: DISPLAY, access_token: TOKEN, webhook_url: stub.url, app_secret: APP_SECRET, waba_id: '112735964992110' }],
    webhooks: { timeout_ms: 1_000, max_attempts: 3, retry_delay_ms: 20 },
    ...config,
  }, { logger: createLogger('silent'), media, ...(clock ? { clock } : {}) });
  const { url } = await sim.listen();
  const call = async (method: 'GET' | 'POST', path: string, body: unknown, headers: Record<string, string>) => {
    const res = await request(`${url}${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined };
  };
  const graph: TestSim['graph'] = (method, path, body, token = TOKEN) =>
    call(method, `/v24.0/${PNID}${path}`, body, token === null ? {} : { authorization: `Bearer ${token}` });
  return {
    sim, url, media, graph,
    control: (method, path, body) => call(method, path, body, {}),
    connect: (to, extra = {}) => graph('POST', '/calls', {
      messaging_product: 'whatsapp', to, action: 'connect', session: { sdp_type: 'offer', sdp: OFFER }, ...extra,
    }),
    action: (action, callId, extra = {}) => graph('POST', '/calls', { messaging_product: 'whatsapp', call_id: callId, action, ...extra }),
  };
}
