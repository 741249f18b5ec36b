// RSS over time per process, for the memory soak: samples at a fixed interval, then reports each process's
// peak and its growth trend as the least-squares slope (MB per minute) of the samples after a warm-up, so
// "flat over a 10-minute run" is a number rather than a look at a chart.
import { rssMb } from './measure.js';

export interface RssTrend {
  peak_mb: number;
  /** Mean of the first and last few samples after the warm-up. */
  start_mb: number;
  end_mb: number;
  slope_mb_per_min: number;
  samples: number;
}

export class RssSeries {
  /** name -> [seconds since start, MB]; a process that has exited (RSS 0) is not sampled. */
  readonly samples = new Map<string, [number, number][]>();
  private timer: NodeJS.Timeout | undefined;
  private readonly t0 = performance.now();

  constructor(private readonly pids: () => Map<string, number>) {}

  start(intervalMs: number): void {
    let busy = false;
    const sample = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      const t = (performance.now() - this.t0) / 1000;
      for (const [name, pid] of this.pids()) {
        const mb = await rssMb(pid);
        if (mb === 0) continue;
        let s = this.samples.get(name);
        if (!s) this.samples.set(name, (s = []));
        s.push([t, mb]);
      }
      busy = false;
    };
    void sample();
    this.timer = setInterval(() => void sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Trend of each process from `fromSec` on (peak over the whole run). */
  trends(fromSec: number): Record<string, RssTrend> {
    const out: Record<string, RssTrend> = {};
    for (const [name, all] of this.samples) {
      const s = all.filter(([t]) => t >= fromSec);
      const edge = Math.max(1, Math.min(3, Math.floor(s.length / 4)));
      const mean = (xs: [number, number][]): number =>
        xs.length === 0 ? 0 : xs.reduce((a, [, mb]) => a + mb, 0) / xs.length;
      out[name] = {
        peak_mb: Math.max(0, ...all.map(([, mb]) => mb)),
        start_mb: mean(s.slice(0, edge)),
        end_mb: mean(s.slice(-edge)),
        slope_mb_per_min: slopePerMinute(s),
        samples: s.length,
      };
    }
    return out;
  }
}

/** Least-squares slope of MB over time, in MB per minute; 0 with fewer than 3 samples. */
export function slopePerMinute(points: [seconds: number, mb: number][]): number {
  const n = points.length;
  if (n < 3) return 0;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60;
}
