// The soak's growth trend: the least-squares slope must report growth per minute, ignore noise around a flat
// line, and refuse to invent a trend from too few samples.
import { describe, expect, it } from 'vitest';
import { slopePerMinute } from '../../bench/harness/rss-trend.js';

describe('slopePerMinute', () => {
  it('gives MB per minute for a steady climb sampled in seconds', () => {
    const points = Array.from({ length: 61 }, (_, i): [number, number] => [i * 5, 100 + i * 0.5]);
    // 0.5 MB every 5 s is 6 MB per minute.
    expect(slopePerMinute(points)).toBeCloseTo(6, 9);
  });

  it('is about zero for a flat series with alternating noise', () => {
    const points = Array.from({ length: 120 }, (_, i): [number, number] => [i * 5, 200 + (i % 2 ? 3 : -3)]);
    expect(Math.abs(slopePerMinute(points))).toBeLessThan(0.05);
  });

  it('is negative when memory is given back', () => {
    expect(
      slopePerMinute([
        [0, 300],
        [60, 250],
        [120, 200],
      ]),
    ).toBeCloseTo(-50, 9);
  });

  it('is zero with fewer than three samples', () => {
    expect(
      slopePerMinute([
        [0, 1],
        [60, 100],
      ]),
    ).toBe(0);
  });
});
