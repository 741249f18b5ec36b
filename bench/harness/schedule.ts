// Open-model load: requests are started on a fixed schedule whether or not earlier ones returned, so a slow
// system shows up as latency instead of being hidden by a slower request rate (coordinated omission).
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Calls fire(i, scheduledAtMs) for i = 0..rate*seconds-1 at its scheduled time. Latency should be measured
 * from scheduledAtMs, not from when fire ran. Resolves when the last one was started.
 */
export async function openLoop(
  ratePerSec: number,
  durationMs: number,
  fire: (i: number, scheduledAtMs: number) => void,
  onTick?: (started: number) => void,
): Promise<number> {
  const total = Math.floor((ratePerSec * durationMs) / 1000);
  const start = performance.now();
  const interval = 1000 / ratePerSec;
  let i = 0;
  while (i < total) {
    const now = performance.now();
    while (i < total && start + i * interval <= now) {
      fire(i, start + i * interval);
      i++;
    }
    onTick?.(i);
    await delay(Math.max(1, Math.min(5, start + i * interval - performance.now())));
  }
  return total;
}
