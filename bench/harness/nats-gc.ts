// nats-server's garbage collections during a bench run, from the Go runtime's own trace (GODEBUG=gctrace=1: one
// line on stderr per cycle, written as the cycle's marking ends), each placed on this process's clock when its
// line arrives. The full run's clearance tail follows these cycles (bench/README, seventh round): marking the heap
// of the keys in KV takes seconds of nats-server's CPU with write barriers on, on a machine with no core to
// spare. The bench reports the run's cycles and the ones that overlap the clearance, so each run says whether its
// tail had a collection in it.
import { round } from './measure.js';

/** What to add to nats-server's environment for the trace. */
export const GC_TRACE_ENV = { GODEBUG: 'gctrace=1' };

interface Cycle {
  /** performance.now() when the line arrived: the end of the cycle's marking. */
  endMs: number;
  /** Wall time of the marking, both stop-the-world phases included. */
  markMs: number;
  /** CPU of the cycle across the server's threads (assists, background and idle marking, the pauses). */
  cpuMs: number;
  /** Mark assists: time goroutines that allocate spend marking before they may go on. */
  assistMs: number;
  /** Heap marked live by the cycle. */
  liveMb: number;
}

// gc 12 @3.456s 2%: 0.018+1.2+0.004 ms clock, 0.037+0.5/1.1/0.9+0.008 ms cpu, 4->4->2 MB, 5 MB goal, ...
const LINE =
  /^gc \d+ @[\d.]+s \d+%: ([\d.]+)\+([\d.]+)\+([\d.]+) ms clock, ([\d.]+)\+([\d.]+)\/([\d.]+)\/([\d.]+)\+([\d.]+) ms cpu, \d+->\d+->(\d+) MB/;

/** Parses one gctrace line; undefined for any other line. */
export function parseGcLine(line: string, endMs: number): Cycle | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  const n = m.slice(1).map(Number);
  const [stw1 = 0, mark = 0, stw2 = 0, cpuStw1 = 0, assist = 0, background = 0, idle = 0, cpuStw2 = 0] = n;
  return {
    endMs,
    markMs: stw1 + mark + stw2,
    cpuMs: cpuStw1 + assist + background + idle + cpuStw2,
    assistMs: assist,
    liveMb: n[8] ?? 0,
  };
}

export class NatsGcTrace {
  private readonly cycles: Cycle[] = [];

  /** `now`: the clock a line's arrival is read on (performance.now(), the clock of the windows asked about). */
  constructor(private readonly now: () => number = () => performance.now()) {}

  /** The server's stderr lines go here (LocalNatsOptions.onStderrLine). */
  readonly onLine = (line: string): void => {
    const c = parseGcLine(line.trim(), this.now());
    if (c) this.cycles.push(c);
  };

  /** The whole run: cycles, their CPU and marking, the largest live heap. */
  summary(): { cycles: number; cpu_s: number; mark_s: number; assist_s: number; live_heap_mb_max: number } {
    const sum = (f: (c: Cycle) => number): number => this.cycles.reduce((a, c) => a + f(c), 0);
    return {
      cycles: this.cycles.length,
      cpu_s: round(sum((c) => c.cpuMs) / 1000, 1),
      mark_s: round(sum((c) => c.markMs) / 1000, 1),
      assist_s: round(sum((c) => c.assistMs) / 1000, 1),
      live_heap_mb_max: Math.max(0, ...this.cycles.map((c) => c.liveMb)),
    };
  }

  /**
   * The cycles whose marking overlapped [fromMs, toMs) (performance.now() times), each as "start-end" seconds
   * from fromMs, with their CPU, marking and assists.
   */
  during(
    fromMs: number,
    toMs: number,
  ): { cycles: number; cpu_s: number; mark_s: number; assist_s: number; marking_s: string[] } {
    const inside = this.cycles.filter((c) => c.endMs > fromMs && c.endMs - c.markMs < toMs);
    const s = (ms: number): string => ((ms - fromMs) / 1000).toFixed(1);
    return {
      cycles: inside.length,
      cpu_s: round(inside.reduce((a, c) => a + c.cpuMs, 0) / 1000, 2),
      mark_s: round(inside.reduce((a, c) => a + c.markMs, 0) / 1000, 2),
      assist_s: round(inside.reduce((a, c) => a + c.assistMs, 0) / 1000, 2),
      marking_s: inside.map((c) => `${s(c.endMs - c.markMs)}-${s(c.endMs)}`),
    };
  }
}
