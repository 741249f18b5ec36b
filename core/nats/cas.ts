// The one compare-and-set helper. A read-modify-write of a KV entry: write with the revision read (0 when the
// key was never written), and re-read and re-apply when another writer got there first. Works over any store
// with a get and an expected-revision write: the pipelined CasBucket on hot paths, the KV client elsewhere.
// isWrongRevision() is the one conflict test for direct KV calls (the sink lease).
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { CasConflictError, type CasEntry } from './pipelined.js';

const MAX_CAS_ATTEMPTS = 20;

export interface CasStore {
  get(key: string): Promise<CasEntry | null>;
  /** Writes if the key's last revision is `expected` (0: never written); rejects with a conflict otherwise. */
  write(key: string, value: Uint8Array, expected: number): Promise<number>;
}

/**
 * Whether a KV create/update/delete with an expected revision was refused because the key moved on (another
 * writer, an expiry): the one test of a compare-and-set conflict for every KV client call.
 */
export function isWrongRevision(err: unknown): boolean {
  return (
    err instanceof CasConflictError ||
    (err instanceof JetStreamApiError &&
      (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
        err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown))
  );
}

/** The KV client as a CasStore (its conflicts surface as CasConflictError). */
export function kvStore(kv: KV): CasStore {
  return {
    async get(key) {
      const e = await kv.get(key);
      return e === null ? null : { value: e.value, revision: e.revision, operation: e.operation };
    },
    async write(key, value, expected) {
      try {
        return expected > 0 ? await kv.update(key, value, expected) : await kv.create(key, value);
      } catch (err) {
        if (isWrongRevision(err)) {
          throw new CasConflictError(key, (err as Error).message);
        }
        throw err;
      }
    },
  };
}

/**
 * Applies `change` to the entry's current value (undefined when absent or deleted) and writes the result only
 * if nobody wrote in between. `change` returns undefined when there is nothing to write. Resolves with the
 * value written (or the current one when nothing changed) once it is stored.
 */
export async function readModifyWrite<T>(
  store: CasStore,
  key: string,
  codec: { decode(bytes: Uint8Array): T; encode(value: T): Uint8Array },
  change: (prev: T | undefined) => T | undefined | Promise<T | undefined>,
): Promise<T | undefined> {
  let lastErr: unknown;
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    const entry = await store.get(key);
    const live = entry !== null && entry.operation === 'PUT' && entry.value.length > 0;
    const prev = live ? codec.decode(entry.value) : undefined;
    const next = await change(prev);
    if (next === undefined) return prev;
    try {
      await store.write(key, codec.encode(next), entry?.revision ?? 0);
      return next;
    } catch (err) {
      // Another writer got there first: re-read and apply again. Anything else is the caller's to retry.
      if (!(err instanceof CasConflictError)) throw err;
      lastErr = err;
      // Writers that keep colliding spread out (jittered, growing to ~64 ms) instead of retrying in lockstep.
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * 2 ** Math.min(attempt, 6)));
    }
  }
  throw new Error(`${key}: too many concurrent writers`, { cause: lastErr });
}
