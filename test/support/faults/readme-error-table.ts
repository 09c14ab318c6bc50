/**
 * The README's error table ("Error table", between the error-table markers), read as a PBX admin
 * reads it: what SIP response each WhatsApp failure becomes. Fault tests compare what the PBX got
 * with this, not with the code that produces it.
 */
import { readFileSync } from 'node:fs';

export interface ReadmeErrorRow {
  /** First column as written: "613", "138021, 138022, 138023", "Graph timeout", "other 5xx", ... */
  key: string;
  status: number;
  reason: string;
  /** Seconds, or undefined when the column is empty. */
  retryAfter?: number;
}

export function readmeErrorTable(file = 'README.md'): ReadmeErrorRow[] {
  const readme = readFileSync(file, 'utf8');
  const block = /<!-- error-table:start[^>]*-->([\s\S]*?)<!-- error-table:end -->/.exec(readme)?.[1] ?? '';
  const rows: ReadmeErrorRow[] = [];
  for (const line of block.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const sip = /^(\d{3}) (.+?)(?: \(|$)/.exec(cells[3] ?? '');
    if (!sip || cells[1] === 'WhatsApp code') continue;
    const retry = cells[4] ? Number(cells[4]) : undefined;
    rows.push({ key: cells[1]!, status: Number(sip[1]), reason: sip[2]!, ...(retry !== undefined ? { retryAfter: retry } : {}) });
  }
  return rows;
}

/** The row whose first column is `key` or lists it among comma-separated codes. */
export function readmeRow(key: string | number): ReadmeErrorRow {
  const k = String(key);
  const row = readmeErrorTable().find((r) => r.key === k || r.key.split(/,\s*/).includes(k));
  if (!row) throw new Error(`README error table has no row for ${k}`);
  return row;
}
