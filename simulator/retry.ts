// Which gRPC failures a client retries, and how long it waits: transient transport and availability
// failures are retried with capped exponential backoff and jitter; auth and validation errors are not.
import { status } from '@grpc/grpc-js';

const RETRYABLE: ReadonlySet<number> = new Set([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.RESOURCE_EXHAUSTED,
  status.ABORTED,
  status.INTERNAL,
  // A dropped connection surfaces as CANCELLED or UNKNOWN on a stream the client did not cancel.
  status.CANCELLED,
  status.UNKNOWN,
]);

export function grpcCode(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number')
    return err.code;
  return undefined;
}

export function isRetryable(err: unknown): boolean {
  const code = grpcCode(err);
  return code === undefined || RETRYABLE.has(code);
}

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 100, maxMs: 5_000 };

/** Delay before attempt n (1-based). Jitter uses the caller's random source to stay deterministic in tests. */
export function backoffDelay(b: Backoff, attempt: number, random: () => number): number {
  const cap = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(attempt - 1, 20));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/**
 * What to run when each signal aborts. One 'abort' listener per signal, however many sleeps wait on it: a run
 * holds hundreds of pending sleeps (inspections due hours later in simulated time), and a listener each would
 * trip Node's MaxListenersExceededWarning although nothing leaks.
 */
const onAbort = new WeakMap<AbortSignal, Set<() => void>>();

function whenAborted(signal: AbortSignal, run: () => void): () => void {
  let waiting = onAbort.get(signal);
  if (!waiting) {
    const set = new Set<() => void>();
    waiting = set;
    onAbort.set(signal, set);
    signal.addEventListener(
      'abort',
      () => {
        for (const f of [...set]) f();
        set.clear();
      },
      { once: true },
    );
  }
  const set = waiting;
  set.add(run);
  return () => set.delete(run);
}

/** Resolves after ms, or early (without error) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      forget();
      resolve();
    };
    const timer = setTimeout(done, ms);
    const forget = signal ? whenAborted(signal, done) : () => false;
  });
}
