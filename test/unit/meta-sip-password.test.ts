/**
 * The Meta SIP password of a number (src/adapters/meta-sip/meta-sip-password.ts): fixed from the
 * environment, or fetched from Meta's settings (include_sip_credentials) and cached; refresh()
 * after a refused digest is single-flight and rate-limited, and the password never reaches a log.
 */
import { describe, expect, it, vi } from 'vitest';
import { MetaSipPassword } from '../../src/adapters/meta-sip/meta-sip-password.js';
import type { WhatsAppSettings } from '../../src/calls/ports/whatsapp-provider.js';
import type { Logger } from '../../src/logging.js';
import { deferred } from '../support/deferred.js';

const HOST = 'sip.example.com';

/** A logger that keeps every argument of every call, unscrubbed: a secret passed to it shows here. */
function spyLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const record = (level: string) => (...args: unknown[]) => {
    lines.push(`${level} ${args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : JSON.stringify(a))).join(' ')}`);
  };
  const logger: Record<string, unknown> = {};
  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal']) logger[level] = record(level);
  logger['child'] = (bindings: unknown) => { lines.push(`child ${JSON.stringify(bindings)}`); return logger; };
  logger['level'] = 'trace';
  return { logger: logger as unknown as Logger, lines };
}


const settingsDoc = (servers: unknown[]) => ({ calling: { status: 'ENABLED', sip: { status: 'ENABLED', servers } } });
const server = (hostname: string, password?: string) => ({ hostname, port: 5061, ...(password !== undefined && { sip_user_password: password }) });

/** A settings port whose servers the test changes between fetches. */
function settingsPort(initial: unknown[]) {
  let servers = initial;
  const getSettings = vi.fn(async (_opts?: { includeSipCredentials?: boolean }): Promise<Record<string, unknown>> => settingsDoc(servers));
  const port: WhatsAppSettings = { getSettings, updateSettings: vi.fn(async () => undefined) };
  return { port, getSettings, set: (s: unknown[]) => { servers = s; } };
}

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}

describe('a fixed password (meta_sip.password_env)', () => {
  it('is returned as it is and never fetched; refresh() says nothing changed', async () => {
    const s = settingsPort([server(HOST, 'from-meta')]);
    const { logger } = spyLogger();
    const p = new MetaSipPassword({ fixed: 'env-secret-1', settings: s.port, hostname: HOST, ttlMs: 60_000, log: logger });
    expect(await p.get()).toBe('env-secret-1');
    expect(await p.refresh()).toEqual({ fetched: false, changed: false });
    expect(await p.get()).toBe('env-secret-1');
    expect(s.getSettings).not.toHaveBeenCalled();
    expect(p.fetches).toBe(0);
  });
});

describe('a password fetched from Meta\'s settings', () => {
  it('asks for the SIP credentials and picks the server entry whose hostname is watrunk\'s', async () => {
    const s = settingsPort([server('other.example.com', 'pw-other'), server(HOST, 'pw-mine')]);
    const p = new MetaSipPassword({ settings: s.port, hostname: HOST, ttlMs: 60_000, log: spyLogger().logger });
    expect(await p.get()).toBe('pw-mine');
    expect(s.getSettings).toHaveBeenCalledWith({ includeSipCredentials: true });
    expect(p.fetches).toBe(1);
  });

  it('takes the first entry with a password when none matches the hostname', async () => {
    const s = settingsPort([server('nopw.example.com'), server('a.example.com', 'pw-a'), server('b.example.com', 'pw-b')]);
    const p = new MetaSipPassword({ settings: s.port, hostname: HOST, ttlMs: 60_000, log: spyLogger().logger });
    expect(await p.get()).toBe('pw-a');
  });

  it('rejects, naming the cause, when Meta returns no password or there is no settings port', async () => {
    const empty = new MetaSipPassword({ settings: settingsPort([server(HOST)]).port, hostname: HOST, ttlMs: 60_000, log: spyLogger().logger });
    await expect(empty.get()).rejects.toThrow(/no SIP password/);
    const none = new MetaSipPassword({ hostname: HOST, ttlMs: 60_000, log: spyLogger().logger });
    await expect(none.get()).rejects.toThrow(/password_env/);
    expect(none.fetches).toBe(0);
  });

  it('is cached for ttlMs, then fetched again', async () => {
    const s = settingsPort([server(HOST, 'pw-1')]);
    const c = clock();
    const p = new MetaSipPassword({ settings: s.port, hostname: HOST, ttlMs: 60_000, log: spyLogger().logger, now: c.now });
    expect(await p.get()).toBe('pw-1');
    s.set([server(HOST, 'pw-2')]);
    c.advance(59_999);
    expect(await p.get()).toBe('pw-1');
    expect(s.getSettings).toHaveBeenCalledTimes(1);
    c.advance(1);
    expect(await p.get()).toBe('pw-2');
    expect(s.getSettings).toHaveBeenCalledTimes(2);
    expect(p.fetches).toBe(2);
  });

  it('concurrent get()s while nothing is cached share one fetch', async () => {
    const d = deferred<Record<string, unknown>>();
    const getSettings = vi.fn(() => d.promise);
    const p = new MetaSipPassword({ settings: { getSettings, updateSettings: async () => undefined }, hostname: HOST, ttlMs: 60_000, log: spyLogger().logger });
    const all = Promise.all([p.get(), p.get(), p.get()]);
    d.resolve(settingsDoc([server(HOST, 'pw-1')]));
    expect(await all).toEqual(['pw-1', 'pw-1', 'pw-1']);
    expect(getSettings).toHaveBeenCalledTimes(1);
  });
});

describe('refresh() after a refused digest', () => {
  it('true when Meta now returns a different password, which get() then gives', async () => {
    const s = settingsPort([server(HOST, 'pw-old')]);
    const p = new MetaSipPassword({ settings: s.port, hostname: HOST, ttlMs: 3_600_000, log: spyLogger().logger, now: clock().now });
    expect(await p.get()).toBe('pw-old');
    s.set([server(HOST, 'pw-new')]);
    expect(await p.refresh()).toEqual({ fetched: true, changed: true });
    expect(await p.get()).toBe('pw-new');
    expect(p.fetches).toBe(2);
  });

  it('false when the password is unchanged (and the fetch happened)', async () => {
    const s = settingsPort([server(HOST, 'pw-same')]);
    const p = new MetaSipPassword({ settings: s.port, hostname: HOST, ttlMs: 3_600_000, log: spyLogger().logger, now: clock().now });
    await p.get();
    expect(await p.refresh()).toEqual({ fetched: true, changed: false });
    expect(s.getSettings).toHaveBeenCalledTimes(2);
  });

  it('false when the fetch fails', async () => {
    const s = settingsPort([server(HOST, 'pw-old')]);
    const p = new MetaSipPassword({ settings: s.port, hostname: HOST, ttlMs: 3_600_000, log: spyLogger().logger, now: clock().now });
    await p.get();
    s.getSettings.mockRejectedValueOnce(new Error('Graph 500'));
    expect(await p.refresh()).toEqual({ fetched: true, changed: false });
    expect(await p.get()).toBe('pw-old');
  });

  it('single-flight: concurrent refreshes cost one settings request, and all see the change', async () => {
    const s = settingsPort([server(HOST, 'pw-old')]);
    const p = new MetaSipPassword({ settings: s.port, hostname: HOST, ttlMs: 3_600_000, log: spyLogger().logger, now: clock().now });
    await p.get();
    const d = deferred<Record<string, unknown>>();
    s.getSettings.mockImplementationOnce(() => d.promise);
    const burst = Promise.all([p.refresh(), p.refresh(), p.refresh(), p.refresh()]);
    d.resolve(settingsDoc([server(HOST, 'pw-new')]));
    // The first asked Meta; the others joined its fetch.
    expect(await burst).toEqual([
      { fetched: true, changed: true }, { fetched: false, changed: true }, { fetched: false, changed: true }, { fetched: false, changed: true },
    ]);
    expect(s.getSettings).toHaveBeenCalledTimes(2);
    expect(p.fetches).toBe(2);
  });

  it('single-flight with an unchanged password: all see changed: false', async () => {
    const s = settingsPort([server(HOST, 'pw-old')]);
    const p = new MetaSipPassword({ settings: s.port, hostname: HOST, ttlMs: 3_600_000, log: spyLogger().logger, now: clock().now });
    await p.get();
    const d = deferred<Record<string, unknown>>();
    s.getSettings.mockImplementationOnce(() => d.promise);
    const burst = Promise.all([p.refresh(), p.refresh()]);
    d.resolve(settingsDoc([server(HOST, 'pw-old')]));
    expect(await burst).toEqual([{ fetched: true, changed: false }, { fetched: false, changed: false }]);
    expect(s.getSettings).toHaveBeenCalledTimes(2);
  });

  it('rate-limited: at most one refresh per minRefreshMs (default 10 s), then allowed again', async () => {
    const s = settingsPort([server(HOST, 'pw-1')]);
    const c = clock();
    const p = new MetaSipPassword({ settings: s.port, hostname: HOST, ttlMs: 3_600_000, log: spyLogger().logger, now: c.now });
    await p.get();
    s.set([server(HOST, 'pw-2')]);
    expect(await p.refresh()).toEqual({ fetched: true, changed: true });
    s.set([server(HOST, 'pw-3')]);
    c.advance(9_999);
    expect(await p.refresh()).toEqual({ fetched: false, changed: false }); // too soon: nothing fetched
    expect(s.getSettings).toHaveBeenCalledTimes(2);
    expect(await p.get()).toBe('pw-2');
    c.advance(1);
    expect(await p.refresh()).toEqual({ fetched: true, changed: true });
    expect(await p.get()).toBe('pw-3');
    expect(s.getSettings).toHaveBeenCalledTimes(3);
  });

  it('minRefreshMs is configurable', async () => {
    const s = settingsPort([server(HOST, 'pw-1')]);
    const c = clock();
    const p = new MetaSipPassword({ settings: s.port, hostname: HOST, ttlMs: 3_600_000, minRefreshMs: 60_000, log: spyLogger().logger, now: c.now });
    await p.get();
    s.set([server(HOST, 'pw-2')]);
    expect(await p.refresh()).toEqual({ fetched: true, changed: true });
    s.set([server(HOST, 'pw-3')]);
    c.advance(30_000);
    expect(await p.refresh()).toEqual({ fetched: false, changed: false });
    c.advance(30_000);
    expect(await p.refresh()).toEqual({ fetched: true, changed: true });
  });
});

describe('the password never reaches a log', () => {
  it('not on fetch, change, unchanged refresh, or failure; the spy did see the log lines', async () => {
    const OLD = 'S3cr3t-Old-Pa55word';
    const NEW = 'S3cr3t-New-Pa55word';
    const { logger, lines } = spyLogger();
    const s = settingsPort([server(HOST, OLD)]);
    const c = clock();
    const p = new MetaSipPassword({ settings: s.port, hostname: HOST, ttlMs: 1_000, log: logger, now: c.now });
    await p.get();
    s.set([server(HOST, NEW)]);
    expect(await p.refresh()).toEqual({ fetched: true, changed: true }); // warn: a new password was fetched
    c.advance(20_000);
    expect(await p.refresh()).toEqual({ fetched: true, changed: false }); // error: same password again
    c.advance(20_000);
    s.getSettings.mockRejectedValueOnce(new Error('Graph 500'));
    expect(await p.refresh()).toEqual({ fetched: true, changed: false });
    await p.get();
    expect(lines.some((l) => l.startsWith('warn '))).toBe(true);
    expect(lines.some((l) => l.startsWith('error '))).toBe(true);
    for (const l of lines) {
      expect(l).not.toContain(OLD);
      expect(l).not.toContain(NEW);
    }
  });
});
