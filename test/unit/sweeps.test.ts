// The sweeps' schedule (core/nats/compact.ts startSweeps): one at start, then every interval; a sweep that stopped
// at a cap is followed soon after instead, until one is not; stop() ends the schedule.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startSweeps } from '../../core/nats/compact.js';

const HOUR = 3_600_000;

describe('sweep schedule', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('follows a capped sweep soon, and otherwise waits for the interval', async () => {
    const capped = [true, true, false, false];
    let calls = 0;
    const sweeps = startSweeps(
      () => {
        calls++;
        return Promise.resolve(capped[calls - 1] ?? false);
      },
      { intervalMs: HOUR, soonMs: 60_000, more: (r) => r, onError: () => undefined },
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toBe(3);
    // The third found no cap: nothing until the interval.
    await vi.advanceTimersByTimeAsync(HOUR - 121_000);
    expect(calls).toBe(3);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toBe(4);
    await sweeps.stop();
  });

  it('stops following up once stopped, and a failed sweep waits for the interval', async () => {
    let calls = 0;
    const errors: unknown[] = [];
    const sweeps = startSweeps(
      () => {
        calls++;
        return calls === 1 ? Promise.reject(new Error('nats down')) : Promise.resolve(true);
      },
      { intervalMs: HOUR, soonMs: 60_000, more: (r) => r, onError: (e) => errors.push(e) },
    );
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toBe(1);
    expect(errors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(HOUR - 60_000);
    expect(calls).toBe(2);
    await sweeps.stop();
    await vi.advanceTimersByTimeAsync(2 * HOUR);
    expect(calls).toBe(2);
  });
});
