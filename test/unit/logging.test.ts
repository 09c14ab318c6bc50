import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging.js';

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
