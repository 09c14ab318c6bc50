import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GRAPH_ERROR_TABLE } from '../../src/calls/failure-mapping.js';

/** PBX admins read the README's error table: it must say what the code does. */
describe('README error table', () => {
  const readme = readFileSync('README.md', 'utf8');
  const block = /<!-- error-table:start[^>]*-->([\s\S]*?)<!-- error-table:end -->/.exec(readme)?.[1] ?? '';
  const rows = block.split('\n').filter((l) => /^\| \d/.test(l)).map((l) => l.split('|').map((c) => c.trim()));

  it('has a row for every Graph error code watrunk maps', () => {
    expect(rows.length).toBeGreaterThan(10);
    for (const [code, row] of Object.entries(GRAPH_ERROR_TABLE)) {
      const line = rows.find((r) => (r[1] ?? '').split(/,\s*/).includes(code));
      expect(line, `README row for ${code}`).toBeDefined();
      expect(line![3], `SIP response for ${code}`).toContain(`${row.status} ${row.reason}`);
      expect(line![4] ?? '', `Retry-After for ${code}`).toBe(row.retryAfter !== undefined ? String(row.retryAfter) : '');
    }
  });

  it('names the two commands, and .ci/run calls the test one', () => {
    expect(readme).toContain('`npm run bridge`');
    expect(readme).toContain('`npm run test:full`');
    expect(readFileSync('.ci/run', 'utf8')).toContain('npm run test:full');
  });
});
