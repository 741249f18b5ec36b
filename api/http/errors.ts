// One error body for every HTTP failure: { "error": { "code", "message", "field"? } }, with the HTTP status
// that matches the code. Internal causes are logged, never sent.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode, HTTP_STATUS, PortstreamError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string };
}

export function errorBody(code: ErrorCode, message: string, field?: string): ErrorBody {
  return { error: { code, message, ...(field === undefined ? {} : { field }) } };
}

/** Fastify's own errors (body too large, bad JSON, ...) carry a 4xx statusCode; keep their meaning. */
function fromFastify(err: FastifyError): { status: number; body: ErrorBody } | undefined {
  const sc = err.statusCode;
  if (sc === undefined || sc >= 500) return undefined;
  if (sc === 413)
    return { status: 413, body: errorBody(ErrorCode.ResourceExhausted, 'request body too large') };
  if (sc === 404) return { status: 404, body: errorBody(ErrorCode.NotFound, err.message) };
  return { status: 400, body: errorBody(ErrorCode.InvalidArgument, err.message) };
}

export function errorHandler(log: Logger) {
  return (err: unknown, _req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (err instanceof PortstreamError) {
      if (err.code === ErrorCode.Internal || err.code === ErrorCode.Unavailable) {
        log.warn({ err, code: err.code }, 'request failed');
      }
      const status = HTTP_STATUS[err.code];
      if (err.code === ErrorCode.Unauthenticated) void reply.header('www-authenticate', 'Bearer');
      // Retry-After is in whole seconds: round up, so a client that honours it is not refused again.
      if (err.retryAfterMs !== undefined) {
        void reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
      }
      return reply.code(status).send(errorBody(err.code, err.message, err.field));
    }
    const known = err instanceof Error && 'statusCode' in err ? fromFastify(err as FastifyError) : undefined;
    if (known) return reply.code(known.status).send(known.body);
    log.error({ err }, 'unexpected error in HTTP handler');
    return reply.code(500).send(errorBody(ErrorCode.Internal, 'internal error'));
  };
}
