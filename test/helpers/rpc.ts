// Unary gRPC calls as promises with a deadline, and the status code of a refused one, for any generated client.
import { Metadata, type CallOptions, type ServiceError } from '@grpc/grpc-js';

type Callback<Res> = (err: ServiceError | null, res?: Res) => void;
type Unary<Req, Res> = (req: Req, md: Metadata, opts: Partial<CallOptions>, cb: Callback<Res>) => unknown;

/** Calls `method` (bound to its client) with a deadline and resolves with the response. */
export function unary<Req, Res>(method: Unary<Req, Res>, req: Req, timeoutMs = 10_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    method(req, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err) reject(err);
      else resolve(res as Res);
    });
  });
}

/** The gRPC status code and message a call was refused with; throws when it succeeded. */
export async function refusal(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as ServiceError;
    return { code: e.code, details: e.details };
  }
  throw new Error('the call succeeded');
}
