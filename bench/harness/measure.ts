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
