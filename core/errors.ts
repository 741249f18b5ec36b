// Typed errors with stable codes. Retryability is part of the error: consumers nak retryable failures with
// a delay and terminate (with a dead letter) terminal ones; the gRPC edge maps codes to statuses.

export const ErrorCode = {
  InvalidArgument: 'INVALID_ARGUMENT',
  NotFound: 'NOT_FOUND',
  AlreadyExists: 'ALREADY_EXISTS',
  FailedPrecondition: 'FAILED_PRECONDITION',
  ResourceExhausted: 'RESOURCE_EXHAUSTED',
  Unavailable: 'UNAVAILABLE',
  Unauthenticated: 'UNAUTHENTICATED',
  PermissionDenied: 'PERMISSION_DENIED',
  DeadlineExceeded: 'DEADLINE_EXCEEDED',
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const RETRYABLE: ReadonlySet<ErrorCode> = new Set([
  ErrorCode.Unavailable,
  ErrorCode.ResourceExhausted,
  ErrorCode.DeadlineExceeded,
]);

export class PortstreamError extends Error {
  readonly code: ErrorCode;
  /** For INVALID_ARGUMENT: the path of the offending field, e.g. "events[3].equipment.container_number". */
  readonly field: string | undefined;
  /** For RESOURCE_EXHAUSTED from a rate limit: when a retry may succeed (gRPC trailer, HTTP Retry-After). */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { field?: string; cause?: unknown; retryAfterMs?: number } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'PortstreamError';
    this.code = code;
    this.field = opts.field;
    this.retryAfterMs = opts.retryAfterMs;
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}

export function invalidArgument(field: string, reason: string): PortstreamError {
  return new PortstreamError(ErrorCode.InvalidArgument, `${field}: ${reason}`, { field });
}

export function unavailable(message: string, cause?: unknown): PortstreamError {
  return new PortstreamError(ErrorCode.Unavailable, message, { cause });
}

export function isRetryable(err: unknown): boolean {
  return err instanceof PortstreamError ? err.retryable : false;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The HTTP status of each code, for every HTTP/JSON surface (the API, the notify service). */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  [ErrorCode.InvalidArgument]: 400,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.AlreadyExists]: 409,
  [ErrorCode.FailedPrecondition]: 412,
  [ErrorCode.ResourceExhausted]: 429,
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.PermissionDenied]: 403,
  [ErrorCode.DeadlineExceeded]: 504,
  [ErrorCode.Internal]: 500,
};
