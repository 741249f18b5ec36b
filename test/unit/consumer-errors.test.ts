// The consumer failure policy is decided by the error's type: ConsumerError.from classifies what handlers throw.
import { describe, expect, it } from 'vitest';
import { ConsumerError } from '../../core/consumer/errors.js';
import { ErrorCode, PortstreamError } from '../../core/errors.js';
import { CasConflictError } from '../../core/nats/pipelined.js';

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
});
