// The bench's reading of nats-server's collector trace (bench/harness/nats-gc.ts), on lines nats-server 2.9.10
// wrote with GODEBUG=gctrace=1.
import { describe, expect, it } from 'vitest';
import { NatsGcTrace, parseGcLine } from '../../bench/harness/nats-gc.js';

const LINE =
  'gc 2 @2.952s 0%: 0.018+5.5+0.41 ms clock, 0.036+0/1.2/5.2+0.82 ms cpu, 3->3->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P';
// A cycle of the full run's size: three seconds of marking, a gigabyte live.
const BIG =
  'gc 310 @401.2s 9%: 0.11+3150+0.25 ms clock, 0.22+385/3010/41+0.50 ms cpu, 1180->1234->1052 MB, 1200 MB goal, 0 MB stacks, 0 MB globals, 2 P';

describe('nats-server collector trace', () => {
  it('reads a cycle: marking wall time, CPU, assists and the live heap; anything else is no cycle', () => {
    const c = parseGcLine(LINE, 1000);
    expect(c?.markMs).toBeCloseTo(0.018 + 5.5 + 0.41, 6);
    expect(c?.cpuMs).toBeCloseTo(0.036 + 0 + 1.2 + 5.2 + 0.82, 6);
    expect(c?.assistMs).toBe(0);
    expect(c?.liveMb).toBe(0);
    expect(parseGcLine(BIG, 0)).toMatchObject({ assistMs: 385, liveMb: 1052 });
    expect(parseGcLine('[24800] 2026/11/30 18:35:21.873365 [INF] Starting nats-server', 0)).toBeUndefined();
  });

  it('places the cycles whose marking overlapped a window, in seconds from its start', () => {
    let clock = 1500;
    const trace = new NatsGcTrace(() => clock);
    trace.onLine(LINE);
    trace.onLine('[1] 2026/11/30 [INF] not a cycle');
    // The line arrives when marking ends: this one marked from about 1,800 to 4,950 ms.
    clock = 4950;
    trace.onLine(BIG);
    const inside = trace.during(1000, 31_000);
    expect(inside.cycles).toBe(2);
    expect(inside.marking_s).toEqual(['0.5-0.5', '0.8-4.0']);
    expect(inside.assist_s).toBe(0.39);
    expect(inside.cpu_s).toBe(3.44);
    expect(trace.during(6000, 31_000).cycles).toBe(0);
    expect(trace.during(3950, 5000).marking_s).toEqual(['-2.2-1.0']);
    expect(trace.summary()).toMatchObject({ cycles: 2, live_heap_mb_max: 1052, assist_s: 0.4 });
  });
});
