// The one place where thrown values become gRPC statuses. Typed errors keep their code and message (and the
// field path, in the `field` trailer); anything else is logged and answered INTERNAL without details.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ErrorCode, PortstreamError } from '../errors.js';
import type { Logger } from '../logger.js';

const CODE_TO_STATUS: Record<ErrorCode, status> = {
  [ErrorCode.InvalidArgument]: status.INVALID_ARGUMENT,
  [ErrorCode.NotFound]: status.NOT_FOUND,
  [ErrorCode.AlreadyExists]: status.ALREADY_EXISTS,
  [ErrorCode.FailedPrecondition]: status.FAILED_PRECONDITION,
  [ErrorCode.ResourceExhausted]: status.RESOURCE_EXHAUSTED,
  [ErrorCode.Unavailable]: status.UNAVAILABLE,
  [ErrorCode.Unauthenticated]: status.UNAUTHENTICATED,
  [ErrorCode.PermissionDenied]: status.PERMISSION_DENIED,
  [ErrorCode.DeadlineExceeded]: status.DEADLINE_EXCEEDED,
  [ErrorCode.Internal]: status.INTERNAL,
};

/**
 * Longest status message sent. Messages may quote the client's input ("vessel visit <id> not found"), and the
 * message travels in an HTTP/2 trailer: a 100 KB one exceeds the client's header list limit, which breaks the
 * whole connection, stalling every other call on it.
 */
export const MAX_DETAILS_CHARS = 512;

function bounded(message: string): string {
  return message.length <= MAX_DETAILS_CHARS ? message : `${message.slice(0, MAX_DETAILS_CHARS - 1)}…`;
}

export function toServiceError(err: unknown, log: Logger): Partial<ServiceError> {
  if (err instanceof PortstreamError) {
    const metadata = new Metadata();
    if (err.field !== undefined) metadata.set('field', err.field);
    if (err.retryAfterMs !== undefined) metadata.set('retry-after-ms', String(err.retryAfterMs));
    if (err.code === ErrorCode.Internal || err.code === ErrorCode.Unavailable) {
      log.warn({ err, code: err.code }, 'request failed');
    }
    return { code: CODE_TO_STATUS[err.code], details: bounded(err.message), metadata };
  }
  log.error({ err }, 'unexpected error in request handler');
  return { code: status.INTERNAL, details: 'internal error' };
}
