import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, REDACTED, scrubSecrets } from '../../src/logging.js';

describe('logging', () => {
  it('redacts tokens, secrets, passwords and authorization headers wherever they appear', () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
    const log = createLogger('info', sink as unknown as NodeJS.WritableStream & { write: (s: string) => boolean });
    log.info({
      token: 'EAAG-secret-1', accessToken: 'EAAG-secret-2', appSecret: 'secret-3',
      headers: { authorization: 'Bearer EAAG-secret-4' },
      sip: { servers: [{ sip_user_password: 'secret-5' }] },
      creds: { password: 'secret-6' }, callId: 'wt-1',
    }, 'something');
    const out = lines.join('');
    for (const s of ['secret-1', 'secret-2', 'secret-3', 'secret-4', 'secret-5', 'secret-6']) expect(out).not.toContain(s);
    expect(out).toContain('"callId":"wt-1"');
    expect(out).toContain('[redacted]');
  });
});

describe('scrubSecrets', () => {
  it('blanks secret keys at any depth, in arrays too, whatever their case, without touching the input', () => {
    const input = {
      a: { b: { c: { Password: 'p1', keep: 1 } } },
      list: [{ access_token: 't1' }, 'plain', { headers: { 'D360-API-KEY': 'k1', 'x-hub-signature-256': 's1' } }],
      secret: null,
    };
    const out = scrubSecrets(input);
    expect(out).toEqual({
      a: { b: { c: { Password: REDACTED, keep: 1 } } },
      list: [{ access_token: REDACTED }, 'plain', { headers: { 'D360-API-KEY': REDACTED, 'x-hub-signature-256': REDACTED } }],
      secret: null,
    });
    expect(input.a.b.c.Password).toBe('p1');
    expect(input.list[0]).toEqual({ access_token: 't1' });
  });

  it('returns the very same object when there is nothing to blank (no copy per log line)', () => {
    const cdr = { cdr: true, callId: 'wt-1', nested: { a: [1, 2, { b: 'x' }] } };
    expect(scrubSecrets(cdr)).toBe(cdr);
  });

  it('child bindings are scrubbed too', () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
    createLogger('info', sink as unknown as Parameters<typeof createLogger>[1]).child({ auth: { password: 'child-secret' } }).info('x');
    expect(lines.join('')).not.toContain('child-secret');
  });
});

/** Every key of the top-level object in one raw JSON line, in order, duplicates kept (JSON.parse would hide them). */
function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      let j = i + 1;
      while (line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(line.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = c === '{' && depth === 1;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return keys;
}

describe('log lines: each key once', () => {
  function capture() {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _e, cb) { lines.push(String(chunk)); cb(); } });
    return { lines, log: createLogger('debug', sink as unknown as Parameters<typeof createLogger>[1]) };
  }
  const duplicates = (line: string) => topLevelKeys(line).filter((k, i, all) => all.indexOf(k) !== i);

  it('a child that rebinds a key its parent bound (component control → graph) writes it once, the child\'s value', () => {
    const { lines, log } = capture();
    log.child({ component: 'control' }).child({ component: 'graph' }).info({ op: 'settings.get' }, 'graph request');
    expect(lines).toHaveLength(1);
    expect(duplicates(lines[0]!)).toEqual([]);
    expect(JSON.parse(lines[0]!)).toMatchObject({ component: 'graph', op: 'settings.get', msg: 'graph request' });
  });

  it('a field logged again on a logger that already binds it (waCallId) appears once', () => {
    const { lines, log } = capture();
    const call = log.child({ callId: 'wt-1', waCallId: 'wacid.A' });
    call.error({ waCallId: 'wacid.A', err: 'boom' }, 'terminate on WhatsApp failed');
    call.child({ number: 'sales' }).child({ number: 'sales', waCallId: 'wacid.A' }).warn('again');
    for (const line of lines) expect(duplicates(line), line).toEqual([]);
    expect(JSON.parse(lines[0]!)).toMatchObject({ callId: 'wt-1', waCallId: 'wacid.A', err: 'boom' });
    expect(JSON.parse(lines[1]!)).toMatchObject({ callId: 'wt-1', waCallId: 'wacid.A', number: 'sales', msg: 'again' });
  });

  it('the Graph client under the control plane\'s logger: one component key', async () => {
    const { GraphClient } = await import('../../src/adapters/meta/graph-client.js');
    const { Metrics } = await import('../../src/metrics.js');
    const { lines, log } = capture();
    const graph = new GraphClient({ baseUrl: 'http://127.0.0.1:9', logger: log.child({ component: 'control' }), metrics: new Metrics(), retryDelayMs: 1 });
    const target = { phoneNumberId: '1', graphVersion: 'v24.0', accessToken: 'EAAG-secret-x', timeoutMs: 200 };
    await graph.send(target, { operation: 'get_settings', method: 'GET', edge: 'settings', parse: (b) => b }).catch(() => undefined);
    await graph.close();
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(duplicates(line), line).toEqual([]);
      expect(line).not.toContain('EAAG-secret-x');
    }
  });

  it('redaction still applies to a rebound key', () => {
    const { lines, log } = capture();
    log.child({ token: 'EAAG-secret-7' }).info({ token: 'EAAG-secret-7' }, 'x');
    expect(lines[0]).not.toContain('EAAG-secret-7');
    expect(duplicates(lines[0]!)).toEqual([]);
  });
});
