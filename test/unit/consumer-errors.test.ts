// The consumer failure policy is decided by the error's type: ConsumerError.from classifies what handlers throw.
import { describe, expect, it } from 'vitest';
import { ConsumerError } from '../../core/consumer/errors.js';
import { ErrorCode, PortstreamError } from '../../core/errors.js';
import { CLAIMED_REVISION_RETRY_MS } from '../../core/consumer/errors.js';
import { CasContendedError, readModifyWrite, type CasStore } from '../../core/nats/cas.js';
import { CasConflictError, replacedConflict } from '../../core/nats/pipelined.js';

/** A store whose every write is answered as a duplicate of a write stored at `seq` (0: not stored). */
function claimedStore(seq: number): CasStore {
  return {
    get: () => Promise.resolve({ value: new Uint8Array([1]), revision: 7, operation: 'PUT' }),
    write: (key, _value, expected) => Promise.reject(replacedConflict(key, expected, seq)),
  };
}
const bytes = { decode: (b: Uint8Array): number => b[0] ?? 0, encode: (n: number) => new Uint8Array([n]) };

describe('ConsumerError.from', () => {
  it('keeps a ConsumerError as it is', () => {
    const e = ConsumerError.permanent('bad record');
    expect(ConsumerError.from(e)).toBe(e);
  });

  it('reads a PortstreamError by its code', () => {
    expect(ConsumerError.from(new PortstreamError(ErrorCode.InvalidArgument, 'x: bad')).retryable).toBe(
      false,
    );
    expect(ConsumerError.from(new PortstreamError(ErrorCode.FailedPrecondition, 'no')).retryable).toBe(false);
    expect(ConsumerError.from(new PortstreamError(ErrorCode.Unavailable, 'away')).retryable).toBe(true);
    expect(ConsumerError.from(new PortstreamError(ErrorCode.Internal, 'oops')).retryable).toBe(true);
  });

  it('retries a compare-and-set conflict and anything unknown, keeping the cause', () => {
    const conflict = new CasConflictError('k', 'wrong last sequence');
    expect(ConsumerError.from(conflict).retryable).toBe(true);
    expect(ConsumerError.from(conflict).cause).toBe(conflict);
    expect(ConsumerError.from(new Error('socket closed')).retryable).toBe(true);
    expect(ConsumerError.from('a string').message).toBe('a string');
  });

  it('keeps a retry delay only on a retryable failure', () => {
    expect(ConsumerError.retryable('later', undefined, 250).retryAfterMs).toBe(250);
    expect(ConsumerError.retryable('later').retryAfterMs).toBeUndefined();
    expect(new ConsumerError('permanent', 'never', undefined, 250).retryAfterMs).toBeUndefined();
  });

  it('retries a key whose revision stays claimed by an unstored write seldom enough to outlast the claim', async () => {
    const claimed = await readModifyWrite(claimedStore(0), 'k', bytes, (n) => (n ?? 0) + 1).catch(
      (e: unknown) => e,
    );
    expect(claimed).toBeInstanceOf(CasContendedError);
    expect((claimed as CasContendedError).claimedInFlight).toBe(true);
    expect(ConsumerError.from(claimed).retryAfterMs).toBe(CLAIMED_REVISION_RETRY_MS);
    // Nine naks that far apart outlast a bucket's two-minute duplicate window.
    expect(9 * CLAIMED_REVISION_RETRY_MS).toBeGreaterThan(120_000);

    // A revision replaced by a stored write is an ordinary race: the usual growing delay.
    const replaced = await readModifyWrite(claimedStore(42), 'k', bytes, (n) => (n ?? 0) + 1).catch(
      (e: unknown) => e,
    );
    expect(replaced).toBeInstanceOf(CasContendedError);
    expect((replaced as CasContendedError).claimedInFlight).toBe(false);
    expect(ConsumerError.from(replaced).retryable).toBe(true);
    expect(ConsumerError.from(replaced).retryAfterMs).toBeUndefined();
  });
});
