import { stringify } from 'yaml';
import { canonicalJson } from '../control/settings/settings-diff.js';

/** Where a CLI command writes: lines to stdout (`out`) and warnings to stderr (`err`). */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

export const processIo: CliIo = {
  out: (line) => { process.stdout.write(`${line}\n`); },
  err: (line) => { process.stderr.write(`${line}\n`); },
};

/** A short one-line form of a settings value: strings bare, anything else as compact JSON. */
export function brief(v: unknown): string {
  if (v === undefined) return '(not set)';
  if (typeof v === 'string') return v;
  return canonicalJson(v);
}

/** A YAML block indented by `indent` spaces (settings read as people write them in the config). */
export function yamlBlock(v: unknown, indent = 2): string[] {
  const pad = ' '.repeat(indent);
  return stringify(v).trimEnd().split('\n').map((l) => `${pad}${l}`);
}

export function printJson(io: CliIo, v: unknown): void {
  io.out(JSON.stringify(v, null, 2));
}

/** Exit codes of the control commands. */
export const EXIT = { ok: 0, failed: 1, config: 2, differences: 3 } as const;
