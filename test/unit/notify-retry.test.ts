// A failing webhook is retried with its own backoff (the consumer runtime's retryDelayMs option):
// NOTIFY_RETRY_MIN_MS on the first failed delivery, doubling, never above NOTIFY_RETRY_MAX_MS.
import { describe, expect, it } from 'vitest';
import { webhookRetryDelayMs } from '../../notify/deliver.js';

describe('webhook retry backoff', () => {
  it('doubles from the minimum up to the maximum', () => {
    const s = { retryMinMs: 1000, retryMaxMs: 300_000 };
    expect([1, 2, 3, 4].map((n) => webhookRetryDelayMs(s, n))).toEqual([1000, 2000, 4000, 8000]);
    expect(webhookRetryDelayMs(s, 9)).toBe(256_000);
    expect(webhookRetryDelayMs(s, 10)).toBe(300_000);
    expect(webhookRetryDelayMs(s, 10_000)).toBe(300_000);
  });

  it('reads a delivery count below one as the first', () => {
    expect(webhookRetryDelayMs({ retryMinMs: 50, retryMaxMs: 200 }, 0)).toBe(50);
  });
});
