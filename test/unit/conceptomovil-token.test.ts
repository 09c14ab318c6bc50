import { afterEach, describe, expect, it } from 'vitest';
import { ConceptoMovilClient } from '../../src/adapters/conceptomovil/conceptomovil-client.js';
import { ConceptoMovilHttp } from '../../src/adapters/conceptomovil/conceptomovil-http.js';
import { ConceptoMovilTokenSource, DEFAULT_TOKEN_TTL_MS } from '../../src/adapters/conceptomovil/conceptomovil-token.js';
import { mapProviderError } from '../../src/calls/failure-mapping.js';
import { ProviderError } from '../../src/calls/ports/whatsapp-errors.js';
import { Metrics } from '../../src/metrics.js';
import { GraphStub, captureLogger, rejectionOf, type StubReply } from '../support/meta-graph-stub.js';

const TOKEN_PATH = '/auth/token';
const API_PATH = '/api/call';
const API_TOKEN = 'api-token-secret-Kk9';

let stub: GraphStub | undefined;
let http: ConceptoMovilHttp | undefined;
afterEach(async () => {
  await http?.close();
  await stub?.close();
  stub = undefined;
  http = undefined;
});

/** Token answers come from `tokens` in order (then the last one again); API answers from `api`. */
async function start(opts: { tokens: StubReply[]; api?: (auth: string | undefined) => StubReply; ttlMs?: number }) {
  stub = await GraphStub.start();
  let issued = 0;
  stub.otherwise({
    from: (req) => {
      if (req.path === TOKEN_PATH) return opts.tokens[Math.min(issued++, opts.tokens.length - 1)]!;
      return opts.api ? opts.api(req.headers['authorization'] as string | undefined) : { body: { success: true } };
    },
  });
  const clock = { t: 1_000_000 };
  const log = captureLogger();
  http = new ConceptoMovilHttp({ baseUrl: stub.url, logger: log.logger, metrics: new Metrics() });
  const tokens = new ConceptoMovilTokenSource(http, {
    apiKey: '101', apiToken: API_TOKEN, path: TOKEN_PATH, timeoutMs: 1_000, now: () => clock.t,
    ...(opts.ttlMs !== undefined && { ttlMs: opts.ttlMs }),
  });
  const client = new ConceptoMovilClient({ http, tokens, logger: log.logger, timeoutMs: 1_000, retryDelayMs: 5 });
  const send = () => client.send({ operation: 'terminate', method: 'POST', path: API_PATH, body: { action: 'terminate' }, parse: () => 'ok' });
  const connect = () => client.send({ operation: 'connect', method: 'POST', path: API_PATH, body: { action: 'connect' }, parse: () => 'ok' });
  const tokenFetches = () => stub!.requests.filter((r) => r.path === TOKEN_PATH).length;
  const apiAuth = () => stub!.requests.filter((r) => r.path === API_PATH).map((r) => r.headers['authorization']);
  return { clock, tokens, send, connect, tokenFetches, apiAuth, log };
}

const jwt = (exp: number) => `h.${Buffer.from(JSON.stringify({ exp })).toString('base64url')}.s`;

describe('Concepto Móvil token cache', () => {
  it('reuses one token for every request until the TTL runs out', async () => {
    const t = await start({ tokens: [{ body: { token: 'T1' } }, { body: { token: 'T2' } }], ttlMs: 60_000 });
    await t.send();
    await t.send();
    expect(t.tokenFetches()).toBe(1);
    t.clock.t += 59_999;
    await t.send();
    expect(t.tokenFetches()).toBe(1);
    t.clock.t += 1;
    await t.send();
    expect(t.tokenFetches()).toBe(2);
    expect(t.apiAuth()).toEqual(['Bearer T1', 'Bearer T1', 'Bearer T1', 'Bearer T2']);
  });

  it('defaults to a one-hour TTL', () => {
    expect(DEFAULT_TOKEN_TTL_MS).toBe(3_600_000);
  });

  it('single-flight: concurrent requests share one token fetch', async () => {
    const t = await start({ tokens: [{ body: { token: 'T1' } }] });
    await Promise.all([t.send(), t.send(), t.send(), t.send()]);
    expect(t.tokenFetches()).toBe(1);
    expect(new Set(t.apiAuth())).toEqual(new Set(['Bearer T1']));
  });

  it('honours expires_in (seconds), replacing the token a little before it expires', async () => {
    const t = await start({ tokens: [{ body: { token: 'T1', expires_in: 600 } }, { body: { token: 'T2' } }], ttlMs: 24 * 3_600_000 });
    await t.send();
    t.clock.t += 539_000; // before 600 s minus the 60 s margin
    await t.send();
    expect(t.tokenFetches()).toBe(1);
    t.clock.t += 2_000;
    await t.send();
    expect(t.tokenFetches()).toBe(2);
  });

  it('honours the exp claim of a JWT token', async () => {
    const t = await start({ tokens: [{ body: { token: jwt(1_000 + 300) } }, { body: { token: 'T2' } }], ttlMs: 24 * 3_600_000 });
    await t.send();
    t.clock.t = 1_000_000 + 200_000;
    await t.send();
    expect(t.tokenFetches()).toBe(1);
    t.clock.t = 1_000_000 + 300_000;
    await t.send();
    expect(t.tokenFetches()).toBe(2);
  });

  it('a token answer without a token is a protocol error naming the operation', async () => {
    const t = await start({ tokens: [{ body: { access: 'x' } }] });
    const err = await rejectionOf(t.send());
    expect((err as ProviderError).toLog()).toMatchObject({ kind: 'protocol', operation: 'get_token' });
  });
});

describe('Concepto Móvil 401 handling', () => {
  it('on a 401 it drops the token, fetches a new one once and retries once (connect included)', async () => {
    const t = await start({
      tokens: [{ body: { token: 'OLD' } }, { body: { token: 'NEW' } }],
      api: (auth) => (auth === 'Bearer OLD' ? { status: 401, body: { message: 'token expired' } } : { body: {} }),
    });
    await expect(t.connect()).resolves.toBe('ok');
    expect(t.tokenFetches()).toBe(2);
    expect(t.apiAuth()).toEqual(['Bearer OLD', 'Bearer NEW']);
  });

  it('a second 401 is thrown: a loud credentials problem', async () => {
    const t = await start({ tokens: [{ body: { token: 'A' } }, { body: { token: 'B' } }], api: () => ({ status: 401, body: { message: 'unauthorized' } }) });
    const err = await rejectionOf(t.send());
    expect((err as ProviderError).httpStatus).toBe(401);
    expect(t.tokenFetches()).toBe(2);
    expect(t.apiAuth()).toHaveLength(2);
    expect(mapProviderError(err as ProviderError)).toMatchObject({ cause: 'auth', loud: true });
  });

  it('a 401 from the token endpoint is not retried and never echoes the API token', async () => {
    const t = await start({ tokens: [{ status: 401, body: { error: `bad Api-Token ${API_TOKEN}` } }] });
    const err = await rejectionOf(t.send());
    expect((err as ProviderError).toLog()).toMatchObject({ kind: 'api', httpStatus: 401, operation: 'get_token' });
    expect(err.message).not.toContain(API_TOKEN);
    expect(t.tokenFetches()).toBe(1);
    expect(t.apiAuth()).toHaveLength(0);
    expect(t.log.text()).not.toContain(API_TOKEN);
  });

  it('a token fetch failing with a 5xx is tried once more, even for connect (nothing was sent yet)', async () => {
    const t = await start({ tokens: [{ status: 503, body: 'down' }, { body: { token: 'T' } }] });
    await expect(t.connect()).resolves.toBe('ok');
    expect(t.tokenFetches()).toBe(2);
  });

  it('invalidate only forgets the token it names', async () => {
    const t = await start({ tokens: [{ body: { token: 'T1' } }, { body: { token: 'T2' } }] });
    await t.send();
    t.tokens.invalidate('something-else');
    await t.send();
    expect(t.tokenFetches()).toBe(1);
    t.tokens.invalidate('T1');
    await t.send();
    expect(t.tokenFetches()).toBe(2);
  });

  it('refuses empty credentials', () => {
    expect(() => new ConceptoMovilTokenSource({} as ConceptoMovilHttp, { apiKey: '', apiToken: 'x', path: '/', timeoutMs: 1 })).toThrow(/empty/);
  });
});
