// Per-caller rate limits: one token bucket per principal name, so a terminal (or firm) that sends too much is
// refused with RESOURCE_EXHAUSTED while every other caller keeps its own allowance. Buckets refill
// continuously at `perSecond` up to `burst`. Principals come from the tokens file, so the set is finite; the
// map is still capped (least recently used buckets go first: a forgotten bucket restarts full, which only errs
// towards letting a caller through).
import type { Authenticator } from './auth/tokens.js';
import { ErrorCode, PortstreamError } from './errors.js';

export interface RateLimit {
  /** Tokens added per second; 0 turns the limit off. */
  perSecond: number;
  /** Bucket size: what a caller may spend at once after being idle. */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const DEFAULT_MAX_KEYS = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  /** `what` names the limit in refusals, e.g. "events". */
  constructor(
    readonly what: string,
    private readonly limit: RateLimit,
    private readonly maxKeys = DEFAULT_MAX_KEYS,
  ) {}

  get enabled(): boolean {
    return this.limit.perSecond > 0;
  }

  /** Buckets held now (for tests of the memory bound). */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Spends `cost` tokens of `key`'s bucket, or returns how long until it could (ms). A cost above the burst
   * is charged as the burst, so a single large batch is possible after a pause, never forever refused.
   */
  tryTake(key: string, cost = 1, now = Date.now()): { ok: true } | { ok: false; retryAfterMs: number } {
    if (!this.enabled) return { ok: true };
    const { perSecond, burst } = this.limit;
    const need = Math.min(cost, burst);
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { tokens: burst, at: now };
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next();
        if (oldest.done !== true) this.buckets.delete(oldest.value);
      }
    } else {
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
      b.at = now;
      // Re-inserting keeps the map in least-recently-used order.
      this.buckets.delete(key);
    }
    this.buckets.set(key, b);
    if (b.tokens >= need) {
      b.tokens -= need;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil(((need - b.tokens) / perSecond) * 1000) };
  }

  /** Like tryTake, but throws RESOURCE_EXHAUSTED naming the limit and when to retry. */
  take(key: string, cost = 1): void {
    const r = this.tryTake(key, cost);
    if (r.ok) return;
    const { perSecond, burst } = this.limit;
    throw new PortstreamError(
      ErrorCode.ResourceExhausted,
      `rate limit for ${this.what} exceeded by ${key} (${perSecond}/s, burst ${burst}); retry in ${r.retryAfterMs} ms`,
      { retryAfterMs: r.retryAfterMs },
    );
  }
}

/** An authenticator that also spends one request of the caller's allowance on every call it authenticates. */
export function rateLimited(auth: Authenticator, limiter: RateLimiter): Authenticator {
  if (!limiter.enabled) return auth;
  return {
    authenticate: (header) => {
      const p = auth.authenticate(header);
      limiter.take(p.name);
      return p;
    },
  };
}
