// CPU time of processes, from /proc (Linux): user + system seconds. CPU spent per event is a steadier figure
// than wall-clock rates on a shared, noisy machine, and it says which process the time goes to.
import { readFileSync } from 'node:fs';
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

/**
 * Read and write system calls the process has made so far (syscr and syscw of /proc/<pid>/io; zeros when it is
 * gone). On a VM where a loopback write that wakes another process is expensive, their count per unit of work says
 * more than their bytes.
 */
export async function syscalls(pid: number): Promise<{ reads: number; writes: number }> {
  try {
    const io = await readFile(`/proc/${pid}/io`, 'utf8');
    const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? 0);
    return { reads: field('syscr'), writes: field('syscw') };
  } catch {
    return { reads: 0, writes: 0 };
  }
}

/**
 * User + system CPU seconds of a Node process's main thread (the JavaScript event loop) so far, this process's
 * by default: without the native threads beside it (embedded ClickHouse, libuv's pool, V8's GC helpers), which
 * process-wide figures include. 0 when it is gone.
 */
export function mainThreadCpuSeconds(pid = process.pid): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
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

/** cpuSeconds, read synchronously: the time it was read is then known to within microseconds. */
function cpuSecondsNow(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / TICKS_PER_S;
  } catch {
    return 0;
  }
}

/**
 * Cores each named process kept busy, interval by interval (CPU seconds over the wall seconds between two
 * readings of that process): where in a scenario a process was busy, to set beside where its latency fell. Each
 * reading is synchronous and timed at once, so a late timer or a busy event loop stretches an interval without
 * skewing its figure.
 */
/** The machine-wide stall totals a timeline follows: Linux's pressure stall information (PSI). */
const STALLS = [
  ['cpu_some', 'cpu', 'some'],
  ['io_some', 'io', 'some'],
  ['io_full', 'io', 'full'],
  ['memory_some', 'memory', 'some'],
] as const;
export type StallName = (typeof STALLS)[number][0];

/**
 * Microseconds so far that some (or all) runnable tasks of the machine stalled waiting for the resource
 * (/proc/pressure/<resource>, total=); undefined where the kernel keeps no such figure.
 */
function stallMicrosNow(resource: 'cpu' | 'io' | 'memory', kind: 'some' | 'full'): number | undefined {
  try {
    const text = readFileSync(`/proc/pressure/${resource}`, 'utf8');
    const total = new RegExp(`^${kind} .*total=(\\d+)`, 'm').exec(text)?.[1];
    return total === undefined ? undefined : Number(total);
  } catch {
    return undefined;
  }
}

export class CpuTimeline {
  readonly cores = new Map<string, number[]>();
  /**
   * Share of each interval (0-1) in which some runnable task of the machine waited for a core (cpu_some), some
   * task waited for the disk (io_some), or every non-idle task did (io_full), or some task waited for memory to
   * be reclaimed or compacted (memory_some): a second whose tail had the disk or the memory manager stalling
   * everyone shows here rather than as busy cores. Empty without PSI.
   */
  readonly stalls = new Map<StallName, number[]>();
  private last = new Map<string, { cpu: number; at: number }>();
  private lastStalls = new Map<StallName, { micros: number; at: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pids: () => Map<string, number>,
    private readonly intervalMs = 1000,
  ) {}

  private read(): Map<string, { cpu: number; at: number }> {
    const now = new Map<string, { cpu: number; at: number }>();
    for (const [name, pid] of this.pids()) now.set(name, { cpu: cpuSecondsNow(pid), at: performance.now() });
    return now;
  }

  private readStalls(): Map<StallName, { micros: number; at: number }> {
    const now = new Map<StallName, { micros: number; at: number }>();
    for (const [name, resource, kind] of STALLS) {
      const micros = stallMicrosNow(resource, kind);
      if (micros !== undefined) now.set(name, { micros, at: performance.now() });
    }
    return now;
  }

  start(): void {
    this.last = this.read();
    this.lastStalls = this.readStalls();
    this.timer = setInterval(() => {
      this.sample();
    }, this.intervalMs);
  }

  private sample(): void {
    const now = this.read();
    for (const [name, r] of now) {
      const before = this.last.get(name);
      if (before === undefined) continue;
      let row = this.cores.get(name);
      if (row === undefined) this.cores.set(name, (row = []));
      row.push((r.cpu - before.cpu) / Math.max(0.001, (r.at - before.at) / 1000));
    }
    this.last = now;
    const stalls = this.readStalls();
    for (const [name, r] of stalls) {
      const before = this.lastStalls.get(name);
      if (before === undefined) continue;
      let row = this.stalls.get(name);
      if (row === undefined) this.stalls.set(name, (row = []));
      const share = (r.micros - before.micros) / 1000 / Math.max(1, r.at - before.at);
      row.push(Math.min(1, Math.max(0, share)));
    }
    this.lastStalls = stalls;
  }

  stop(): Map<string, number[]> {
    clearInterval(this.timer);
    return this.cores;
  }
}

/** Busy and total jiffies of the whole machine so far (/proc/stat, first line). */
async function machineTicks(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n', 1)[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  // idle and iowait are the 4th and 5th values.
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * Waits until the machine as a whole uses less than `maxBusyCores` over a one-second window (what an earlier
 * scenario left behind, such as ClickHouse merging the parts it wrote, has finished), or until `timeoutMs`.
 * Resolves with the seconds waited and the busy cores of the last window.
 */
export async function settle(
  maxBusyCores: number,
  timeoutMs: number,
): Promise<{ waitedS: number; busyCores: number }> {
  const start = performance.now();
  const cores = Math.max(1, (await readFile('/proc/cpuinfo', 'utf8')).split('\nprocessor').length);
  for (;;) {
    const a = await machineTicks();
    await new Promise((r) => setTimeout(r, 1000));
    const b = await machineTicks();
    const busyCores = ((b.busy - a.busy) / Math.max(1, b.total - a.total)) * cores;
    const waitedS = (performance.now() - start) / 1000;
    if (busyCores < maxBusyCores || waitedS * 1000 >= timeoutMs) return { waitedS, busyCores };
  }
}
