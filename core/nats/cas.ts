// The one compare-and-set helper. A read-modify-write of a KV entry: write with the revision read (0 when the
// key was never written), and re-read and re-apply when another writer got there first. Works over any store
// with a get and an expected-revision write: the pipelined CasBucket on hot paths, the KV client elsewhere.
// isWrongRevision() is the one conflict test for direct KV calls (the sink lease).
//
// The revision guard. A write that expects a key's revision (Nats-Expected-Last-Subject-Sequence) is checked by a
// clustered stream's leader against what it has stored, not against writes it has proposed and not yet applied:
// on nats-server 2.9.10 two writers that read the same revision are then both acked, and the second overwrites
// the first (bench/cas-race.ts loses 27-78 of 600-800 acked updates on a 3-node cluster, none on one node). So a
// guarded write also carries the message id `<key>@<revision it replaces>`. The stream drops a message whose id it
// already holds (within its duplicate window) and answers it as a duplicate, in the order of its log, so of two
// writes racing for one revision the second is not stored whichever passed the leader's check; the duplicate is
// then a conflict like a refused revision. (nats-server 2.9.10 answered every such duplicate with the sequence of
// the write stored before it, `bench/cas-race.ts ... msgid`; a server that records ids when it proposes answers
// sequence 0 while the first is in flight, CasConflictError.claimedInFlight.) So one write, at most, replaces a
// given revision of a key: after the window the stored revision has long moved on and the revision check refuses
// a late writer. Writes are guarded on a clustered server (where the leader's check has that gap), and always on
// the low-rate paths that write through the KV client.
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Bucket, type KV } from '@nats-io/kv';
import { headers as natsHeaders } from '@nats-io/nats-core';
import { CasConflictError, replacedConflict, revisionGuardId, type CasEntry } from './pipelined.js';

const MAX_CAS_ATTEMPTS = 20;

/**
 * A read-modify-write that kept meeting conflicts. When the last was a revision claimed by a write the stream has
 * not stored, that claim may be a write lost with its leader, which holds the revision for the stream's duplicate
 * window (2 minutes for a bucket): `claimedInFlight` says so, and consumers retry such a key seldom enough that
 * their deliveries outlast the window (core/consumer/errors.ts).
 */
export class CasContendedError extends Error {
  readonly claimedInFlight: boolean;
  constructor(key: string, cause: unknown) {
    super(`${key}: too many concurrent writers`, { cause });
    this.name = 'CasContendedError';
    this.claimedInFlight = cause instanceof CasConflictError && cause.claimedInFlight;
  }
}

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

/**
 * Writes a KV entry (or, with `op` DEL, its delete marker) if the key's last revision is still `expected` (0: it
 * has none), through the bucket's JetStream client and with the revision guard; CasConflictError otherwise.
 * Resolves with the new revision.
 */
export async function kvWriteGuarded(
  kv: KV,
  key: string,
  value: Uint8Array,
  expected: number,
  op?: 'DEL',
): Promise<number> {
  if (!(kv instanceof Bucket)) throw new Error('kvWriteGuarded needs a bucket opened with Kvm');
  const h = natsHeaders();
  if (op !== undefined) h.set('KV-Operation', op);
  try {
    const ack = await kv.js.publish(kv.subjectForKey(key, true), value, {
      headers: h,
      msgID: revisionGuardId(key, expected),
      expect: { lastSubjectSequence: expected },
    });
    if (ack.duplicate) throw replacedConflict(key, expected, ack.seq);
    return ack.seq;
  } catch (err) {
    if (isWrongRevision(err) && !(err instanceof CasConflictError)) {
      throw new CasConflictError(key, (err as Error).message);
    }
    throw err;
  }
}

/** The KV client as a CasStore, its writes guarded (its conflicts surface as CasConflictError). */
export function kvStore(kv: KV): CasStore {
  return {
    async get(key) {
      const e = await kv.get(key);
      return e === null ? null : { value: e.value, revision: e.revision, operation: e.operation };
    },
    write: (key, value, expected) => kvWriteGuarded(kv, key, value, expected),
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
  throw new CasContendedError(key, lastErr);
}
