// CPU time of processes, from /proc (Linux): user + system seconds. CPU spent per event is a steadier figure
// than wall-clock rates on a shared, noisy machine, and it says which process the time goes to.
import { readFile } from 'node:fs/promises';

const TICKS_PER_S = 100;

/** User + system CPU seconds the process has used so far (0 when it is gone). */
export async function cpuSeconds(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at ") "; utime and stime are the 12th and
    // 13th of those.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** CPU seconds per named process between start() and stop(). */
export class CpuMeter {
  private readonly startAt = new Map<string, number>();
  readonly used = new Map<string, number>();

  constructor(private readonly pids: () => Map<string, number>) {}

  async start(): Promise<void> {
    for (const [name, pid] of this.pids()) this.startAt.set(name, await cpuSeconds(pid));
  }

  async stop(): Promise<Map<string, number>> {
    for (const [name, pid] of this.pids()) {
      const s = this.startAt.get(name);
      if (s !== undefined) this.used.set(name, (await cpuSeconds(pid)) - s);
    }
    return this.used;
  }
}
