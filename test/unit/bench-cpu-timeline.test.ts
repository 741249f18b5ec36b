// The bench's cores per interval of each process (bench/harness/cpu.ts, CpuTimeline), read from /proc for this
// test's own process while it works, and for a process that is gone.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { CpuTimeline } from '../../bench/harness/cpu.js';

/** Keeps this process busy in short bursts (so the timeline's timer still runs) until `done` says so. */
async function busyUntil(done: () => boolean, deadlineMs: number): Promise<void> {
  const end = performance.now() + deadlineMs;
  while (!done()) {
    if (performance.now() > end) throw new Error('the timeline took no samples in time');
    const burst = performance.now() + 20;
    let x = 0;
    while (performance.now() < burst) x += Math.sqrt(x + 1);
    expect(x).toBeGreaterThan(0);
    await yieldLoop();
  }
}

describe('CpuTimeline', () => {
  it('records the cores a busy process keeps, interval by interval, and nothing impossible', async () => {
    const timeline = new CpuTimeline(
      () =>
        new Map([
          ['self', process.pid],
          // A pid above pid_max (4,194,304 at most on Linux): no such process, so 0 CPU throughout.
          ['gone', 5_000_000],
        ]),
      100,
    );
    timeline.start();
    await busyUntil(() => (timeline.cores.get('self')?.length ?? 0) >= 4, 10_000);
    const cores = timeline.stop();
    const self = cores.get('self') ?? [];
    expect(self.length).toBeGreaterThanOrEqual(4);
    // Busy bursts with short yields: most of a core when the machine has one to give, and well above nothing on
    // a machine the other test files keep busy (ticks are 10 ms, intervals 100).
    const mean = self.reduce((a, b) => a + b, 0) / self.length;
    expect(mean).toBeGreaterThan(0.1);
    for (const c of self) {
      expect(c).toBeGreaterThanOrEqual(0);
      expect(c).toBeLessThanOrEqual(availableParallelism() + 0.5);
    }
    expect(cores.get('gone')?.every((c) => c === 0)).toBe(true);
    // The machine's stall shares, one per interval where the kernel keeps pressure figures, none where not.
    const withPsi = ['io', 'cpu', 'memory'].every((r) => existsSync(`/proc/pressure/${r}`));
    for (const name of ['cpu_some', 'io_some', 'io_full', 'memory_some'] as const) {
      const shares = timeline.stalls.get(name) ?? [];
      expect(shares.length).toBe(withPsi ? self.length : 0);
      for (const s of shares) {
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(1);
      }
    }
    // Stopped: no more samples.
    const taken = self.length;
    await busyUntil(() => true, 1000);
    expect(cores.get('self')?.length).toBe(taken);
  });
});
