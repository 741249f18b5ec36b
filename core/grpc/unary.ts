// A unary gRPC handler from an async function: its result is the response, anything it throws is mapped to a
// status at the edge (core/grpc/status.ts), internal causes logged, never sent.
import type { handleUnaryCall, ServerUnaryCall } from '@grpc/grpc-js';
import type { Logger } from '../logger.js';
import { toServiceError } from './status.js';

export function unaryHandler<Req, Res>(
  log: Logger,
  fn: (call: ServerUnaryCall<Req, Res>) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call).then(
      (res) => {
        callback(null, res);
      },
      (err: unknown) => {
        callback(toServiceError(err, log));
      },
    );
  };
}
