import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CamsCalls } from '../../src/adapters/cams/cams-calls.js';
import { CamsClient } from '../../src/adapters/cams/cams-client.js';
import { CamsProviderError } from '../../src/adapters/cams/cams-errors.js';
import { CamsSettings } from '../../src/adapters/cams/cams-settings.js';
import type { CamsTarget } from '../../src/adapters/cams/cams-types.js';
import { ProviderError } from '../../src/calls/ports/whatsapp-errors.js';
import { Metrics } from '../../src/metrics.js';
import { captureLogger, closedPort, rejectionOf } from '../support/meta-graph-stub.js';

const SECRET = 'test-only-secret-NeverLogMe-9c1e';
const KEY_ID = 'LTAI-test-key-id';
const SDP_OFFER = 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n';
const SDP_ANSWER = 'v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=setup:active\r\n';
const CALL_ID = 'wacid.HBgLNDQ3NzAwOTAwMTIzFQIAEhggQ0FMTElE_-=';

interface Seen { method: string; url: string; headers: IncomingHttpHeaders; body: string }
interface Reply { status?: number; body?: unknown; contentType?: string; hang?: boolean }

/** A CAMS stand-in on 127.0.0.1: records raw requests, answers queued replies (default Code OK). */
async function startStub() {
  const seen: Seen[] = [];
  const queue: Reply[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const r = queue.shift() ?? { body: { RequestId: 'req-ok', Code: 'OK', Message: 'None' } };
      if (r.hang) return;
      res.writeHead(r.status ?? 200, { 'content-type': r.contentType ?? 'application/json;charset=utf-8' });
      res.end(typeof r.body === 'string' ? r.body : JSON.stringify(r.body ?? {}));
    });
  });
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`, seen,
    reply(...r: Reply[]) { queue.push(...r); },
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

type Stub = Awaited<ReturnType<typeof startStub>>;
let stub: Stub | undefined;
let client: CamsClient | undefined;
afterEach(async () => { await client?.close(); await stub?.close(); client = undefined; stub = undefined; });

function target(overrides: Partial<CamsTarget> = {}): CamsTarget {
  return {
    custSpaceId: 'cams-space-1', businessNumber: '+86 138-0000-0000',
    credentials: { accessKeyId: KEY_ID, accessKeySecret: SECRET }, timeoutMs: 2_000, ...overrides,
  };
}

async function setup(opts: { pathPrefix?: string } = {}) {
  stub = await startStub();
  const log = captureLogger();
  const metrics = new Metrics();
  let n = 0;
  client = new CamsClient({
    endpoint: `${stub.url}${opts.pathPrefix ?? ''}`, logger: log.logger, metrics, retryDelayMs: 5,
    now: () => new Date('2026-03-04T05:06:07.890Z'), nonce: () => `nonce-${++n}`,
  });
  return { stub, client, log, metrics, calls: new CamsCalls(client, target()), settings: new CamsSettings(client, target()) };
}

/** Recomputes the ACS3 signature the way the gateway would, from the raw request as received. */
function verifySignature(s: Seen, secret: string): boolean {
  const auth = String(s.headers['authorization']);
  const m = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return false;
  const [path, query = ''] = s.url.split('?');
  const names = m[2]!.split(';');
  const headers = names.map((n) => `${n}:${String(s.headers[n]).trim()}\n`).join('');
  const payload = createHash('sha256').update(s.body).digest('hex');
  if (s.headers['x-acs-content-sha256'] !== payload) return false;
  const canonical = [s.method, path, query, headers, m[2], payload].join('\n');
  const toSign = `ACS3-HMAC-SHA256\n${createHash('sha256').update(canonical).digest('hex')}`;
  return createHmac('sha256', secret).update(toSign).digest('hex') === m[3];
}

const paramsOf = (s: Seen) => Object.fromEntries(new URL(s.url, 'http://x').searchParams);

describe('WhatsappCall request shape', () => {
  it('connect: signed POST to "/", every parameter in the sorted query, no body, CallId from Model.CallId', async () => {
    const h = await setup();
    h.stub.reply({ body: { AccessDeniedDetail: 'None', Message: 'None', RequestId: 'xik-1', Model: { CallId: CALL_ID }, Code: 'OK', Success: false } });
    await expect(h.calls.connect({ to: '+44 7700-900123', sdpOffer: SDP_OFFER, trackingData: 'ignored' })).resolves.toEqual({ callId: CALL_ID });
    const [r] = h.stub.seen;
    expect(r!.method).toBe('POST');
    expect(r!.body).toBe('');
    const session = `{"Sdp":${JSON.stringify(SDP_OFFER)},"SdpType":"offer"}`;
    const enc = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    expect(r!.url).toBe(
      `/?BusinessNumber=8613800000000&CallAction=connect&CustSpaceId=cams-space-1&Session=${enc(session)}&UserNumber=447700900123`,
    );
    expect(paramsOf(r!)['Session']).toBe(session);
    expect(r!.headers['x-acs-action']).toBe('WhatsappCall');
    expect(r!.headers['x-acs-version']).toBe('2020-06-06');
    expect(r!.headers['x-acs-date']).toBe('2026-03-04T05:06:07Z');
    expect(r!.headers['x-acs-signature-nonce']).toBe('nonce-1');
    expect(r!.headers['x-acs-content-sha256']).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(r!.headers['host']).toBe(new URL(h.stub.url).host);
    expect(r!.headers['accept']).toBe('application/json');
    expect(r!.headers['authorization']).toMatch(
      new RegExp(`^ACS3-HMAC-SHA256 Credential=${KEY_ID},SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=[0-9a-f]{64}$`),
    );
    expect(verifySignature(r!, SECRET)).toBe(true);
    expect(verifySignature(r!, 'wrong-secret')).toBe(false);
    expect(paramsOf(r!)).not.toHaveProperty('BizOpaqueCallbackData');
  });

  it('pre_accept/accept carry CallId and an answer Session; reject/terminate only CallId', async () => {
    const h = await setup();
    await h.calls.preAccept(CALL_ID, SDP_ANSWER);
    await h.calls.accept(CALL_ID, SDP_ANSWER, 'tracking-not-sent');
    await h.calls.reject(CALL_ID);
    await h.calls.terminate(CALL_ID);
    const answer = `{"Sdp":${JSON.stringify(SDP_ANSWER)},"SdpType":"answer"}`;
    const common = { BusinessNumber: '8613800000000', CustSpaceId: 'cams-space-1', CallId: CALL_ID };
    expect(h.stub.seen.map(paramsOf)).toEqual([
      { ...common, CallAction: 'pre_accept', Session: answer },
      { ...common, CallAction: 'accept', Session: answer },
      { ...common, CallAction: 'reject' },
      { ...common, CallAction: 'terminate' },
    ]);
    expect(h.stub.seen.every((s) => verifySignature(s, SECRET))).toBe(true);
  });

  it('accepts a call id directly in the body or under Data; a connect without one is a protocol error', async () => {
    const h = await setup();
    h.stub.reply({ body: { Code: 'OK', CallId: 'c-top' } }, { body: { Code: 'OK', Data: { CallId: 'c-data' } } }, { body: { Code: 'OK', Model: {} } });
    await expect(h.calls.connect({ to: '1', sdpOffer: SDP_OFFER })).resolves.toEqual({ callId: 'c-top' });
    await expect(h.calls.connect({ to: '1', sdpOffer: SDP_OFFER })).resolves.toEqual({ callId: 'c-data' });
    const err = await rejectionOf(h.calls.connect({ to: '1', sdpOffer: SDP_OFFER }));
    expect((err as ProviderError).kind).toBe('protocol');
    expect(err.message).toContain('Model.CallId');
  });

  it('keeps an endpoint path prefix and signs it as the canonical URI', async () => {
    const h = await setup({ pathPrefix: '/cams-sim' });
    await h.calls.terminate(CALL_ID);
    expect(h.stub.seen[0]!.url.startsWith('/cams-sim?')).toBe(true);
    expect(verifySignature(h.stub.seen[0]!, SECRET)).toBe(true);
  });

  it('defaults to the Singapore endpoint over HTTPS; a bare host means HTTPS', async () => {
    const deps = { logger: captureLogger().logger, metrics: new Metrics() };
    const defaulted = new CamsClient(deps);
    const bare = new CamsClient({ ...deps, endpoint: 'cams.example.test' });
    expect(defaulted.origin).toBe('https://cams.ap-southeast-1.aliyuncs.com');
    expect(bare.origin).toBe('https://cams.example.test');
    await Promise.all([defaulted.close(), bare.close()]);
  });
});

describe('error mapping', () => {
  it('HTTP 200 with Code != "OK" is a business error (Success flag ignored), not retried', async () => {
    const h = await setup();
    h.stub.reply({ body: { RequestId: 'req-9', Code: 'Call.NotExist', Message: 'call does not exist', Success: true } });
    const err = await rejectionOf(h.calls.terminate(CALL_ID));
    expect(err).toBeInstanceOf(CamsProviderError);
    const e = err as CamsProviderError;
    expect(e.kind).toBe('api');
    expect(e.category).toBe('rejected');
    expect(e.httpStatus).toBe(200);
    expect(e.camsCode).toBe('Call.NotExist');
    expect(e.traceId).toBe('req-9');
    expect(e.fields.operation).toBe('terminate');
    expect(e.message).toBe('CAMS terminate failed: HTTP 200, code Call.NotExist: call does not exist');
    expect(h.stub.seen).toHaveLength(1);
  });

  it.each([
    { status: 400, code: 'SignatureDoesNotMatch' },
    { status: 404, code: 'InvalidAccessKeyId.NotFound' },
    { status: 403, code: 'Forbidden.RAM' },
    { status: 400, code: 'InvalidTimeStamp.Expired' },
    { status: 200, code: 'Forbidden.NoPermission' },
  ])('$code (HTTP $status) is a configuration error: loud, never retried', async ({ status, code }) => {
    const h = await setup();
    h.stub.reply({ status, body: { RequestId: 'r', HostId: 'cams.ap-southeast-1.aliyuncs.com', Code: code, Message: 'm', Recommend: 'https://api.aliyun.com/troubleshoot?q=x' } });
    const e = (await rejectionOf(h.calls.accept(CALL_ID, SDP_ANSWER))) as CamsProviderError;
    expect(e).toBeInstanceOf(CamsProviderError);
    expect(e.category).toBe('config');
    expect(e.loud).toBe(true);
    expect(e.retryable).toBe(false);
    expect(e.httpStatus).toBe(status);
    expect(e.details).toBe('https://api.aliyun.com/troubleshoot?q=x');
    expect(h.stub.seen).toHaveLength(1);
  });

  it('Throttling.* is rate limited: one retry (with a fresh nonce) for call actions, none for connect', async () => {
    const h = await setup();
    const throttled = { status: 400, body: { RequestId: 'r', Code: 'Throttling.User', Message: 'Request was denied due to user flow control.' } };
    h.stub.reply(throttled);
    await h.calls.terminate(CALL_ID);
    expect(h.stub.seen).toHaveLength(2);
    expect(h.stub.seen[1]!.headers['x-acs-signature-nonce']).not.toBe(h.stub.seen[0]!.headers['x-acs-signature-nonce']);
    h.stub.reply(throttled);
    const e = (await rejectionOf(h.calls.connect({ to: '1', sdpOffer: SDP_OFFER }))) as CamsProviderError;
    expect(e.category).toBe('rate_limited');
    expect(e.retryable).toBe(true);
    expect(h.stub.seen).toHaveLength(3);
  });

  it('5xx is a server error, retried once; an XML gateway envelope is read too', async () => {
    const h = await setup();
    const xml = '<?xml version="1.0"?><Error><RequestId>x-1</RequestId><Code>ServiceUnavailable</Code><Message>busy</Message></Error>';
    h.stub.reply({ status: 503, body: xml, contentType: 'text/xml;charset=utf-8' }, { status: 503, body: xml, contentType: 'text/xml;charset=utf-8' });
    const e = (await rejectionOf(h.calls.reject(CALL_ID))) as CamsProviderError;
    expect(e.category).toBe('server');
    expect(e.camsCode).toBe('ServiceUnavailable');
    expect(e.traceId).toBe('x-1');
    expect(h.stub.seen).toHaveLength(2);
  });

  it('a body that is not JSON or has no Code is a protocol error', async () => {
    const h = await setup();
    h.stub.reply({ body: 'not json', contentType: 'text/plain' }, { body: { RequestId: 'r', Model: { CallId: 'x' } } });
    expect(((await rejectionOf(h.calls.terminate(CALL_ID))) as ProviderError).kind).toBe('protocol');
    const e = (await rejectionOf(h.calls.connect({ to: '1', sdpOffer: SDP_OFFER }))) as ProviderError;
    expect(e.kind).toBe('protocol');
    expect(e.message).toContain('no Code');
  });

  it('timeouts and refused connections map to timeout and network kinds; connect is not retried', async () => {
    const h = await setup();
    h.stub.reply({ hang: true });
    const slow = new CamsCalls(h.client, target({ timeoutMs: 100 }));
    expect(((await rejectionOf(slow.connect({ to: '1', sdpOffer: SDP_OFFER }))) as ProviderError).kind).toBe('timeout');
    expect(h.stub.seen).toHaveLength(1);
    const port = await closedPort();
    const dead = new CamsClient({ endpoint: `http://127.0.0.1:${port}`, logger: captureLogger().logger, metrics: new Metrics(), retryDelayMs: 1 });
    try {
      const e = (await rejectionOf(new CamsCalls(dead, target()).terminate(CALL_ID))) as ProviderError;
      expect(e.kind).toBe('network');
    } finally {
      await dead.close();
    }
  });

  it('never leaks the AccessKey secret or the signature into errors or logs', async () => {
    const h = await setup();
    h.stub.reply({ status: 400, body: { RequestId: 'r', Code: 'SignatureDoesNotMatch', Message: `echo ${SECRET}` } });
    const e = (await rejectionOf(h.calls.terminate(CALL_ID))) as CamsProviderError;
    expect(e.message).not.toContain(SECRET);
    expect(e.message).toContain('[redacted]');
    const sig = /Signature=([0-9a-f]+)/.exec(String(h.stub.seen[0]!.headers['authorization']))![1]!;
    const logs = h.log.text();
    expect(logs).toContain('cams request');
    expect(logs).not.toContain(SECRET);
    expect(logs).not.toContain(sig);
    expect(logs).not.toContain('v=0');
  });

  it('counts requests by operation and outcome', async () => {
    const h = await setup();
    h.stub.reply({ body: { Code: 'Nope' } });
    await rejectionOf(h.calls.reject(CALL_ID));
    await h.calls.terminate(CALL_ID);
    const text = await h.metrics.registry.metrics();
    expect(text).toContain('watrunk_provider_requests_total{operation="reject",outcome="api_error"} 1');
    expect(text).toContain('watrunk_provider_requests_total{operation="terminate",outcome="ok"} 1');
  });
});

const CALLING_CONFIGURE_QUERY_STYLE = {
  Calling: {
    Status: 'ENABLED',
    CallHours: {
      Status: 'ENABLED', TimezoneId: 'Asia/Shanghai', CallIconVisibility: 'DEFAULT', CallbackPermissionStatus: 'ENABLED',
      WeeklyOperatingHours: [{ DayOfWeek: 'MONDAY', OpenTime: '0900', CloseTime: '1800' }],
      HolidaySchedule: [{ Date: '2026-10-01', StartTime: '0000', EndTime: '2359' }],
    },
  },
  CallingCallbackUrl: 'https://pbx.example.test/cams/calls',
  MaxTalkTime: 1000,
};

describe('CamsSettings', () => {
  it('getSettings reads QueryChatappPhoneNumbers and maps CallingConfigure to Meta names', async () => {
    const h = await setup();
    h.stub.reply({ body: { Code: 'OK', RequestId: 'r', PhoneNumbers: [
      { PhoneNumber: '8613900000000', CallingConfigure: { Calling: { Status: 'DISABLED' } } },
      { PhoneNumber: '+8613800000000', CallingConfigure: CALLING_CONFIGURE_QUERY_STYLE },
    ] } });
    const doc = await h.settings.getSettings({ includeSipCredentials: true });
    expect(paramsOf(h.stub.seen[0]!)).toEqual({ CustSpaceId: 'cams-space-1' });
    expect(h.stub.seen[0]!.headers['x-acs-action']).toBe('QueryChatappPhoneNumbers');
    expect(verifySignature(h.stub.seen[0]!, SECRET)).toBe(true);
    expect(doc).toEqual({
      calling: {
        status: 'ENABLED', call_icon_visibility: 'DEFAULT', callback_permission_status: 'ENABLED',
        call_hours: {
          status: 'ENABLED', timezone_id: 'Asia/Shanghai',
          weekly_operating_hours: [{ day_of_week: 'MONDAY', open_time: '0900', close_time: '1800' }],
          holiday_schedule: [{ date: '2026-10-01', start_time: '0000', end_time: '2359' }],
        },
      },
      cams: {
        phone_number: '+8613800000000', calling_configured: true,
        calling_callback_url: 'https://pbx.example.test/cams/calls', max_talk_time: 1000,
      },
    });
  });

  it('reads the other nesting (icon and callback status under Calling) and a Data JSON string', async () => {
    const h = await setup();
    const entry = { PhoneNumber: '8613800000000', CallingConfigure: { Calling: { Status: 'ENABLED', CallIconVisibility: 'DISABLE_ALL', CallbackPermissionStatus: 'DISABLED' } } };
    h.stub.reply({ body: { Code: 'OK', Data: JSON.stringify([entry]) } });
    const doc = await h.settings.getSettings();
    expect(doc['calling']).toEqual({ status: 'ENABLED', call_icon_visibility: 'DISABLE_ALL', callback_permission_status: 'DISABLED' });
  });

  it('a business number the CustSpaceId does not hold is a configuration error', async () => {
    const h = await setup();
    h.stub.reply({ body: { Code: 'OK', PhoneNumbers: [{ PhoneNumber: '1555' }] } });
    const e = (await rejectionOf(h.settings.getSettings())) as CamsProviderError;
    expect(e.category).toBe('config');
    expect(e.message).toContain('is not among the numbers');
  });

  it('updateSettings rejects with a configuration error and sends nothing', async () => {
    const h = await setup();
    const e = (await rejectionOf(h.settings.updateSettings({ status: 'ENABLED' }))) as CamsProviderError;
    expect(e).toBeInstanceOf(CamsProviderError);
    expect(e.kind).toBe('api');
    expect(e.category).toBe('config');
    expect(e.loud).toBe(true);
    expect(e.fields.operation).toBe('update_settings');
    expect(e.message).toContain('no API to change calling settings');
    expect(h.stub.seen).toHaveLength(0);
  });
});
