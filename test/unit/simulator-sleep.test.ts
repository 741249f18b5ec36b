// The simulator's abortable sleep: many sleeps on one signal (hundreds of inspections wait at once in a run)
// all end when it aborts, and they add one listener to the signal, not one each (which made Node warn
// MaxListenersExceededWarning in the `up` terminal).
import { describe, expect, it } from 'vitest';
import { sleep } from '../../simulator/retry.js';

describe('simulator sleep', () => {
  it('ends every pending sleep on abort without a listener per sleep', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w.name);
    };
    process.on('warning', onWarning);
    try {
      const abort = new AbortController();
      const sleeps = Array.from({ length: 200 }, () => sleep(3_600_000, abort.signal));
      const short = await Promise.race([sleep(1, abort.signal).then(() => 'short'), sleeps[0]]);
      expect(short).toBe('short');
      abort.abort();
      await Promise.all(sleeps);
      // Process warnings are emitted on a later tick.
      await new Promise((r) => setImmediate(r));
      expect(warnings).toEqual([]);
      // An aborted signal ends a new sleep at once.
      await sleep(3_600_000, abort.signal);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
