// Requests that do not decode. grpc-js answers a request its deserializer throws on with INTERNAL, which
// tells the client "our fault, retry" for what is the client's bad input (truncated bytes, wrong wire types,
// groups nested past the decoder's recursion limit, 64-bit values beyond 2^53). Here the deserializers of
// every served method return a MalformedRequest marker instead of throwing, and one server interceptor
// answers the marker with INVALID_ARGUMENT naming the request message, before any handler sees it.
import {
  Metadata,
  ServerInterceptingCall,
  status,
  type MethodDefinition,
  type ServerInterceptor,
  type ServiceDefinition,
} from '@grpc/grpc-js';

/** What a tolerant deserializer returns for bytes that are not a valid request message. */
export class MalformedRequest {
  constructor(readonly reason: string) {}
}

function reasonOf(err: unknown): string {
  // Decoder messages ("premature EOF", "cant skip wire type 7", "maximum recursion depth reached") say what
  // is wrong with the bytes and nothing about the server; a stack overflow says only that it nested too deep.
  if (err instanceof RangeError) return 'nested too deeply';
  return err instanceof Error ? err.message : 'undecodable';
}

/** The same service with deserializers that never throw (see MalformedRequest). */
export function tolerantDefinition(def: ServiceDefinition): ServiceDefinition {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, m] of Object.entries(def) as [string, MethodDefinition<unknown, unknown>][]) {
    const decode = m.requestDeserialize;
    out[name] = {
      ...m,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return decode(bytes);
        } catch (err) {
          return new MalformedRequest(reasonOf(err));
        }
      },
    };
  }
  return out;
}

/** Ends a call whose request (or any message of a request stream) did not decode, with INVALID_ARGUMENT. */
export const rejectMalformed: ServerInterceptor = (_method, call) =>
  new ServerInterceptingCall(call, {
    start(next) {
      next({
        onReceiveMessage(message, forward) {
          if (!(message instanceof MalformedRequest)) {
            forward(message);
            return;
          }
          const metadata = new Metadata();
          metadata.set('field', 'request');
          call.sendStatus({
            code: status.INVALID_ARGUMENT,
            details: `request: not a valid protobuf message of the method's request type (${message.reason})`,
            metadata,
          });
        },
      });
    },
  });
