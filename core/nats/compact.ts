// Keeping KV buckets from growing with history. nats-server holds every subject of a stream in memory (about 290
// bytes a key, bench/README), and a KV delete leaves a delete marker: a key that stays. The processor's sweeps
// (processor/state/retention.ts, processor/index/compaction.ts) read each key's latest message in one pass and
// remove the ones no reader needs any more.
//
// A message is removed by its stream sequence (`$JS.API.STREAM.MSG.DELETE`), never by a purge restricted to its
// subject: with nats-server 2.9 such a purge moves every consumer whose filter covers that subject (the list index
// durable reads all of `$KV.ps_containers.>`) past the purge's last sequence, so one that was behind silently
// skips the changes of other keys in between (test/integration/key-compaction.test.ts pins what the delete does
// instead). Deleting the sequence judged touches nothing else: a write made since has a sequence of its own and
// stays. A reader that had read the deleted message and then writes by compare-and-set on its revision is refused
// (the key's last sequence is no longer that revision) and reads again, as after any other writer.
import {
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';

export interface ScanOptions {
  /** The stream, e.g. `KV_ps_containers`. */
  stream: string;
  /** The subjects to read, e.g. `$KV.ps_containers.>`. */
  filter: string;
  /** Messages per fetch. */
  batch?: number;
}

/**
 * Calls `visit` with each subject's latest message, in one pass over the stream: an ordered consumer with
 * deliver_policy last_per_subject, deleted on the server once read. `visit` (awaited when it returns a promise,
 * so a caller may act on what it has gathered before reading on) returns false to stop after the
 * batch in hand.
 */
export async function scanLatest(
  js: JetStreamClient,
  jsm: JetStreamManager,
  opts: ScanOptions,
  visit: (m: JsMsg) => boolean | Promise<boolean>,
): Promise<void> {
  // An empty stream answers no fetch before it expires: nothing to wait for.
  if ((await jsm.streams.info(opts.stream)).state.messages === 0) return;
  const oc = await js.consumers.get(opts.stream, {
    filter_subjects: opts.filter,
    deliver_policy: DeliverPolicy.LastPerSubject,
  });
  try {
    let more = true;
    while (more) {
      const batch = await oc.fetch({ max_messages: opts.batch ?? 500, expires: 1000 });
      let n = 0;
      let pending = -1;
      for await (const m of batch) {
        n++;
        pending = m.info.pending;
        if (more && !(await visit(m))) more = false;
      }
      if (n === 0 || pending === 0) break;
    }
  } finally {
    // The server removes an idle ordered consumer by itself; a failed delete only leaves it for that long.
    await oc.delete().catch(() => false);
  }
}

/**
 * Deletes the stream's message at `seq` (not erased on disk: it is a marker or a record nobody reads). False when
 * it was gone already (a newer write to a one-version key replaced it, or another sweep deleted it).
 */
export async function deleteStored(jsm: JetStreamManager, stream: string, seq: number): Promise<boolean> {
  try {
    return await jsm.streams.deleteMessage(stream, seq, false);
  } catch (err) {
    // nats-server answers a failed delete with one code (10057), whether the message was gone or the store
    // failed: gone only if a read of that sequence finds nothing.
    if (!(err instanceof JetStreamApiError) || (await stored(jsm, stream, seq))) throw err;
    return false;
  }
}

async function stored(jsm: JetStreamManager, stream: string, seq: number): Promise<boolean> {
  try {
    return (await jsm.streams.getMessage(stream, { seq })) !== null;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.NoMessageFound) return false;
    throw err;
  }
}

/**
 * The stream sequence below which the durable has acked every message (0 when it does not exist): nothing at or
 * below it can be delivered to that consumer again.
 */
export async function ackFloor(jsm: JetStreamManager, stream: string, durable: string): Promise<number> {
  try {
    return (await jsm.consumers.info(stream, durable)).ack_floor.stream_seq;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound) return 0;
    throw err;
  }
}

/** Deletes (and reads before them) a sweep keeps in flight at once. */
export const SWEEP_WIDTH = 32;

/** Runs `work` over `items`, at most `width` at a time; resolves with the results in order. */
export async function inBatches<T, R>(
  items: readonly T[],
  width: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width) {
    out.push(...(await Promise.all(items.slice(i, i + width).map(work))));
  }
  return out;
}

export interface Sweeps<R> {
  /** One sweep now (also what the timer runs); sweeps never overlap. */
  sweep(): Promise<R>;
  /** No more sweeps; waits for the one running, which ends early (`stopping()` turns true). */
  stop(): Promise<void>;
}

/**
 * Runs `once` at start and every `intervalMs` (unless `timer` is false: only when sweep() is called), one at a
 * time; a failed sweep goes to `onError` and the next one tries again. A timed sweep whose result `more` says it
 * stopped at a cap is followed by the next one `soonMs` later instead of a full interval, so a backlog (the first
 * sweeps after an upgrade) is worked off in hours, not days, with a pause between sweeps.
 */
export function startSweeps<R>(
  once: (stopping: () => boolean) => Promise<R>,
  opts: {
    intervalMs: number;
    timer?: boolean;
    onError: (err: unknown) => void;
    more?: (result: R) => boolean;
    soonMs?: number;
  },
): Sweeps<R> {
  let stopping = false;
  let running: Promise<R> | undefined;
  let soon: NodeJS.Timeout | undefined;
  const sweep = (): Promise<R> => {
    running ??= once(() => stopping).finally(() => {
      running = undefined;
    });
    return running;
  };
  const tick = (): void => {
    sweep().then((r) => {
      if (stopping || soon !== undefined || opts.more?.(r) !== true) return;
      soon = setTimeout(() => {
        soon = undefined;
        tick();
      }, opts.soonMs ?? 60_000);
      soon.unref();
    }, opts.onError);
  };
  const timer = opts.timer === false ? undefined : setInterval(tick, opts.intervalMs);
  timer?.unref();
  if (timer) tick();
  return {
    sweep,
    async stop() {
      stopping = true;
      clearInterval(timer);
      clearTimeout(soon);
      await running?.catch(() => undefined);
    },
  };
}
