// What a consumer's handler failure means for its message, decided by the error's type and never by its text:
// retryable (nak with a growing delay; dead-lettered once the deliveries are used up) or permanent (terminated
// at once with a dead-letter record). ConsumerError.from() classifies anything a handler may throw.
import { ErrorCode, PortstreamError } from '../errors.js';
import { CasContendedError } from '../nats/cas.js';
import { CasConflictError } from '../nats/pipelined.js';

export const FailureKind = {
  /** Worth another delivery: a store away, a timeout, a lost compare-and-set race. */
  Retryable: 'retryable',
  /** Can never succeed, however often delivered: an undecodable record, a refused value. */
  Permanent: 'permanent',
} as const;
export type FailureKind = (typeof FailureKind)[keyof typeof FailureKind];

/**
 * The nak delay of a key whose revision stayed claimed by a write the stream has not stored: such a claim, when
 * its write was lost with its leader, lasts the bucket's duplicate window (2 minutes), and 9 redeliveries 15 s
 * apart outlast it within max_deliver (10) instead of dead-lettering the message.
 */
export const CLAIMED_REVISION_RETRY_MS = 15_000;

/** PortstreamError codes that another delivery cannot fix. */
const PERMANENT_CODES: ReadonlySet<ErrorCode> = new Set([
  ErrorCode.InvalidArgument,
  ErrorCode.FailedPrecondition,
  ErrorCode.AlreadyExists,
  ErrorCode.NotFound,
  ErrorCode.PermissionDenied,
  ErrorCode.Unauthenticated,
]);

export class ConsumerError extends Error {
  readonly kind: FailureKind;
  /**
   * A retryable failure that knows when it is worth trying again (a state not there yet, a paused webhook)
   * names the nak delay itself; otherwise the consumer's retry delay (ConsumerOptions.retryDelayMs) applies.
   */
  readonly retryAfterMs: number | undefined;

  constructor(kind: FailureKind, message: string, cause?: unknown, retryAfterMs?: number) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ConsumerError';
    this.kind = kind;
    this.retryAfterMs = kind === FailureKind.Retryable ? retryAfterMs : undefined;
  }

  get retryable(): boolean {
    return this.kind === FailureKind.Retryable;
  }

  static retryable(message: string, cause?: unknown, retryAfterMs?: number): ConsumerError {
    return new ConsumerError(FailureKind.Retryable, message, cause, retryAfterMs);
  }

  static permanent(message: string, cause?: unknown): ConsumerError {
    return new ConsumerError(FailureKind.Permanent, message, cause);
  }

  /**
   * Any thrown value as a ConsumerError. Typed errors say what they are (a PortstreamError by its code, a
   * compare-and-set conflict is retryable); anything else is taken as transient: another delivery is tried,
   * and max_deliver bounds how often before the message is dead-lettered.
   */
  static from(err: unknown): ConsumerError {
    if (err instanceof ConsumerError) return err;
    if (err instanceof PortstreamError) {
      return new ConsumerError(
        PERMANENT_CODES.has(err.code) ? FailureKind.Permanent : FailureKind.Retryable,
        err.message,
        err,
      );
    }
    if (err instanceof CasContendedError && err.claimedInFlight) {
      return ConsumerError.retryable(err.message, err, CLAIMED_REVISION_RETRY_MS);
    }
    if (err instanceof CasConflictError) return ConsumerError.retryable(err.message, err);
    if (err instanceof Error) return ConsumerError.retryable(err.message, err);
    return ConsumerError.retryable(String(err), err);
  }
}
