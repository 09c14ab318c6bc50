/**
 * Percentiles from a Prometheus histogram in /metrics text: the difference of two scrapes gives the
 * observations in between; a quantile is interpolated linearly inside its bucket, as Prometheus'
 * histogram_quantile() does (https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile).
 */

export type Buckets = { le: number; count: number }[];

/** Cumulative buckets of `name` whose labels include `labels`, summed over the other labels. */
export function readBuckets(text: string, name: string, labels: Record<string, string> = {}): Buckets {
  const byLe = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`)) continue;
    const m = /^[^{]+\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const have = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (!Object.entries(labels).every(([k, v]) => have[k] === v)) continue;
    const le = have.le === '+Inf' ? Infinity : Number(have.le);
    byLe.set(le, (byLe.get(le) ?? 0) + Number(m[2]));
  }
  return [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

export function subtract(after: Buckets, before: Buckets): Buckets {
  const prev = new Map(before.map((b) => [b.le, b.count]));
  return after.map((b) => ({ le: b.le, count: b.count - (prev.get(b.le) ?? 0) }));
}

/** The q-quantile (0..1) in the histogram's unit; NaN when empty. */
export function quantile(buckets: Buckets, q: number): number {
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return NaN;
  const rank = q * total;
  let lowerLe = 0;
  let lowerCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return lowerLe;
      const inBucket = b.count - lowerCount;
      return inBucket > 0 ? lowerLe + ((b.le - lowerLe) * (rank - lowerCount)) / inBucket : b.le;
    }
    lowerLe = b.le;
    lowerCount = b.count;
  }
  return lowerLe;
}

export const total = (buckets: Buckets): number => buckets.at(-1)?.count ?? 0;
