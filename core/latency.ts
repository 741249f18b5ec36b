// Latency distribution recorder over node's built-in histogram, reporting percentiles in milliseconds.
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** What a recorded distribution answers: its count, percentiles and maximum in milliseconds. */
export interface LatencyView {
  readonly count: number;
  ms(p: number): number;
  readonly maxMs: number;
}

/** Percentiles of a distribution as sent between processes (JSON): p -> milliseconds. */
export interface LatencySnapshot {
  count: number;
  max_ms: number;
  percentiles: Record<string, number>;
}

/** The percentiles a snapshot carries unless asked for others. */
export const SNAPSHOT_PERCENTILES = [50, 90, 99, 99.9] as const;

export class Latency implements LatencyView {
  private readonly h: RecordableHistogram = createHistogram();

  /** Records a duration given in milliseconds. */
  record(ms: number): void {
    this.h.record(Math.max(1, Math.round(ms * 1e6)));
  }

  get count(): number {
    return this.h.count;
  }

  /** Percentile in milliseconds (p in 0..100). */
  ms(p: number): number {
    return this.h.count === 0 ? 0 : this.h.percentile(p) / 1e6;
  }

  get maxMs(): number {
    return this.h.count === 0 ? 0 : this.h.max / 1e6;
  }

  snapshot(percentiles: readonly number[] = SNAPSHOT_PERCENTILES): LatencySnapshot {
    return {
      count: this.count,
      max_ms: this.maxMs,
      percentiles: Object.fromEntries(percentiles.map((p) => [String(p), this.ms(p)])),
    };
  }
}

/** A distribution read back from a snapshot: only the percentiles it carries can be asked for. */
export function fromSnapshot(s: LatencySnapshot): LatencyView {
  return {
    count: s.count,
    maxMs: s.max_ms,
    ms(p: number): number {
      const v = s.percentiles[String(p)];
      if (v === undefined) throw new Error(`p${String(p)} was not recorded in this snapshot`);
      return v;
    },
  };
}
