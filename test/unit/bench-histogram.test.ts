// The bench reads a service's Prometheus histogram twice and reports what was recorded in between: the mean and
// the bucket each quantile falls in, from the text a prom-client registry serves.
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { histogramDelta, histogramFrom } from '../../bench/harness/measure.js';

describe('bench histogram snapshots', () => {
  it('reads one labelled series of a served histogram and the quantiles recorded between two reads', async () => {
    const registry = new Registry();
    const h = new Histogram({
      name: 'demo_seconds',
      help: 'demo',
      labelNames: ['command', 'outcome'] as const,
      buckets: [0.001, 0.01, 0.1, 1],
      registers: [registry],
    });
    h.observe({ command: 'submit', outcome: 'decided' }, 0.5);
    h.observe({ command: 'cancel', outcome: 'decided' }, 0.0005);
    const before = histogramFrom(await registry.metrics(), 'demo_seconds', {
      command: 'submit',
      outcome: 'decided',
    });
    expect(before.count).toBe(1);
    for (let i = 0; i < 98; i++) h.observe({ command: 'submit', outcome: 'decided' }, 0.005);
    h.observe({ command: 'submit', outcome: 'decided' }, 0.05);
    h.observe({ command: 'submit', outcome: 'decided' }, 2);
    // Another series of the same histogram is not counted.
    h.observe({ command: 'submit', outcome: 'error' }, 3);
    const after = histogramFrom(await registry.metrics(), 'demo_seconds', {
      command: 'submit',
      outcome: 'decided',
    });
    const d = histogramDelta(before, after, [0.5, 0.99, 1]);
    expect(d.count).toBe(100);
    expect(d.mean).toBeCloseTo((98 * 0.005 + 0.05 + 2) / 100, 9);
    expect(d.upperBounds).toEqual([0.01, 0.1, Infinity]);
  });
});
