import { describe, expect, it } from 'vitest';
import { ErrorCode, PortstreamError } from '../../core/errors.js';
import { RateLimiter } from '../../core/rate-limit.js';

describe('RateLimiter', () => {
  it('allows the burst, then refills at the rate, per key', () => {
    const l = new RateLimiter('events', { perSecond: 10, burst: 20 });
    expect(l.tryTake('a', 20, 0)).toEqual({ ok: true });
    expect(l.tryTake('a', 1, 0)).toEqual({ ok: false, retryAfterMs: 100 });
    // Another caller has its own bucket.
    expect(l.tryTake('b', 20, 0)).toEqual({ ok: true });
    // Half a second later five tokens are back.
    expect(l.tryTake('a', 5, 500)).toEqual({ ok: true });
    expect(l.tryTake('a', 1, 500).ok).toBe(false);
    // Never more than the burst, however long the pause.
    expect(l.tryTake('a', 20, 1_000_000)).toEqual({ ok: true });
    expect(l.tryTake('a', 1, 1_000_000).ok).toBe(false);
  });

  it('charges a cost above the burst as the burst, so a large batch passes after a pause', () => {
    const l = new RateLimiter('events', { perSecond: 100, burst: 50 });
    expect(l.tryTake('a', 500, 0)).toEqual({ ok: true });
    expect(l.tryTake('a', 500, 100)).toEqual({ ok: false, retryAfterMs: 400 });
  });

  it('is off at rate 0', () => {
    const l = new RateLimiter('events', { perSecond: 0, burst: 1 });
    for (let i = 0; i < 100; i++) expect(l.tryTake('a', 1000, 0).ok).toBe(true);
    expect(l.size).toBe(0);
  });

  it('keeps at most maxKeys buckets, dropping the least recently used', () => {
    const l = new RateLimiter('events', { perSecond: 1, burst: 1 }, 3);
    for (const k of ['a', 'b', 'c']) l.tryTake(k, 1, 0);
    l.tryTake('a', 1, 0); // a is now the most recent (and empty)
    l.tryTake('d', 1, 0); // evicts b
    expect(l.size).toBe(3);
    expect(l.tryTake('a', 1, 0).ok).toBe(false);
    expect(l.tryTake('b', 1, 0).ok).toBe(true); // b restarted full
  });

  it('throws RESOURCE_EXHAUSTED naming the limit, the caller and the retry time', () => {
    const l = new RateLimiter('customs calls', { perSecond: 0.5, burst: 1 });
    l.take('hp-customs');
    let err: unknown;
    try {
      l.take('hp-customs');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PortstreamError);
    const pe = err as PortstreamError;
    expect(pe.code).toBe(ErrorCode.ResourceExhausted);
    expect(pe.message).toMatch(
      /^rate limit for customs calls exceeded by hp-customs \(0\.5\/s, burst 1\); retry in \d+ ms$/,
    );
    expect(pe.retryAfterMs).toBeGreaterThan(1000);
    expect(pe.retryAfterMs).toBeLessThanOrEqual(2000);
  });
});
