// Measuring tools for the bench: RSS of processes and rounding; latency recording is core/latency.ts.
export { Latency } from '../../core/latency.js';
import { readFile } from 'node:fs/promises';

/** Resident set size of a process in MB, from /proc (Linux). */
export async function rssMb(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb === undefined ? 0 : Number(kb) / 1024;
  } catch {
    return 0;
  }
}

/** Samples the peak RSS of named processes until stopped. */
export class RssSampler {
  readonly peakMb = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pids: () => Map<string, number>) {}

  start(intervalMs = 250): void {
    const sample = async (): Promise<void> => {
      for (const [name, pid] of this.pids()) {
        const mb = await rssMb(pid);
        this.peakMb.set(name, Math.max(this.peakMb.get(name) ?? 0, mb));
      }
    };
    void sample();
    this.timer = setInterval(() => void sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** One histogram's cumulative bucket counts (`le` -> count) and its sum and count, from Prometheus text. */
export interface HistogramSnapshot {
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

/** The series of histogram `name` whose labels include every `labels` pair, from a /metrics page. */
export function histogramFrom(text: string, name: string, labels: Record<string, string>): HistogramSnapshot {
  const snap: HistogramSnapshot = { buckets: new Map(), sum: 0, count: 0 };
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || !wanted.every((w) => line.includes(w))) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith(`${name}_bucket`)) {
      const le = /le="([^"]+)"/.exec(line)?.[1];
      if (le !== undefined) snap.buckets.set(le === '+Inf' ? Infinity : Number(le), value);
    } else if (line.startsWith(`${name}_sum`)) snap.sum = value;
    else if (line.startsWith(`${name}_count`)) snap.count = value;
  }
  return snap;
}

/**
 * What a histogram recorded between two snapshots: the mean, and for each quantile the upper bound of the
 * bucket it falls in (the precision the buckets give).
 */
export function histogramDelta(
  before: HistogramSnapshot,
  after: HistogramSnapshot,
  quantiles: readonly number[],
): { count: number; mean: number; upperBounds: number[] } {
  const count = after.count - before.count;
  const bounds = [...after.buckets.keys()].sort((a, b) => a - b);
  const upperBounds = quantiles.map((q) => {
    const need = q * count;
    for (const le of bounds) {
      if ((after.buckets.get(le) ?? 0) - (before.buckets.get(le) ?? 0) >= need) return le;
    }
    return Infinity;
  });
  return { count, mean: count > 0 ? (after.sum - before.sum) / count : 0, upperBounds };
}

/**
 * A Node service's garbage collection between two of its /metrics pages, by kind (prom-client's
 * nodejs_gc_duration_seconds): how many collections and their milliseconds in all. A major collection stops the
 * service's event loop for its whole duration, so a phase's slow second with one in it has its cause.
 */
export function gcBetween(
  pageBefore: string,
  pageAfter: string,
): Record<'minor' | 'major' | 'incremental', { count: number; total_ms: number }> {
  const kind = (k: string): { count: number; total_ms: number } => {
    const d = histogramDelta(
      histogramFrom(pageBefore, 'nodejs_gc_duration_seconds', { kind: k }),
      histogramFrom(pageAfter, 'nodejs_gc_duration_seconds', { kind: k }),
      [],
    );
    return { count: d.count, total_ms: round(d.mean * d.count * 1000) };
  };
  return { minor: kind('minor'), major: kind('major'), incremental: kind('incremental') };
}
