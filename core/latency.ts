// Latency distribution recorder over node's built-in histogram, reporting percentiles in milliseconds.
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

export class Latency {
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
}
