/**
 * bench:media's step result and how it is printed: one table row per step, and the least-squares
 * fit of bridge-engine CPU against calls whose slope is the per-call cost.
 */
import type { Mode } from './calls.js';
import type { ToneCheck } from './frames.js';

export interface StepResult {
  mode: Mode;
  calls: number;
  windowS: number;
  /** CPU ms per wall second (100 % of one core = 1000). */
  bridgeMsPerS: number;
  peerMsPerS: number;
  genMsPerS: number;
  hostBusyPct: number;
  bridgeThreads: number;
  lossPbxToWa: number;
  lossWaToPbx: number;
  jitterPbxToWa?: number;
  jitterWaToPbx?: number;
  jitterPbxToWaMax?: number;
  jitterWaToPbxMax?: number;
  sendJitter?: number;
  skipped: number;
  setupFailed: number;
  noMedia: number;
  /** Calls that carried media both ways (the per-call figures divide by this). */
  active: number;
  setupMs: { median: number; max: number };
  /** ms from the first ng command to audio both ways (ICE + DTLS between the engines). */
  mediaMs: { median: number; max: number };
  tones: Array<{ label: string; check: ToneCheck }>;
  leftOnEngines: { bridge: number; peer: number };
  saturated: boolean;
  notes: string[];
}

const f1 = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(1));
const f2 = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(2));

const COLUMNS = [
  ['calls', 5], ['bridge %core', 12], ['bridge ms/call-s', 16], ['loss PBX->WA %', 14], ['loss WA->PBX %', 14],
  ['jit PBX->WA ms', 14], ['jit WA->PBX ms', 14], ['peer %core', 10], ['gen %core', 9], ['gen jit ms', 10], ['host busy %', 11],
] as const;

export function header(): string {
  return COLUMNS.map(([name, w]) => name.padStart(w)).join('  ');
}

export function row(r: StepResult): string {
  const cells = [
    String(r.calls), f1(r.bridgeMsPerS / 10), f2(r.bridgeMsPerS / Math.max(1, r.active)), f2(r.lossPbxToWa), f2(r.lossWaToPbx),
    `${f1(r.jitterPbxToWa)}/${f1(r.jitterPbxToWaMax)}`, `${f1(r.jitterWaToPbx)}/${f1(r.jitterWaToPbxMax)}`,
    f1(r.peerMsPerS / 10), f1(r.genMsPerS / 10), f1(r.sendJitter), f1(r.hostBusyPct),
  ];
  return cells.map((c, i) => c.padStart(COLUMNS[i]![1])).join('  ') + (r.saturated ? '  (saturated)' : '');
}

/** Least squares of bridge CPU (ms/s) against calls; the slope is the per-call cost. */
export function fit(points: Array<{ x: number; y: number }>): { slope: number; intercept: number } | undefined {
  if (points.length === 0) return undefined;
  if (points.length === 1) return { slope: points[0]!.y / points[0]!.x, intercept: 0 };
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  if (sxx === 0 || sxy <= 0) return undefined;
  const slope = sxy / sxx;
  return { slope, intercept: Math.max(0, my - slope * mx) };
}

