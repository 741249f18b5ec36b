// One source key's step of the list index projection: read the source's latest value, work out the index keys it
// is listed under, and bring the index from what was recorded for it to that, so that concurrent projections
// (several processors) can never leave a key out that the latest value needs.
//
// The order is what makes it safe: (1) the revisions of the keys to remove are read, (2) the keys to add are put,
// (3) the record of the source key's index keys (`r.<c|d>.<id>`) is compare-and-set, (4) the keys to remove are
// deleted only if still at the revision read in (1). Another projection that needs a removed key again adds it
// only after it read the record written in (3), hence after (1): its put has a newer revision, so the delete in
// (4) fails and the key stays. Losing the compare-and-set in (3) starts over from the new record. A projection
// that stops between (3) and (4) leaves extra keys behind: harmless, since readers check every candidate.
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { CasConflictError, type CasBucket, type CasEntry } from '../../core/nats/pipelined.js';
import { reverseKey, type Listed } from '../../core/state/list-index.js';

const MAX_ATTEMPTS = 20;
const ONE = new TextEncoder().encode('1');

interface Reverse {
  /** The source revision these keys were worked out from. */
  rev: number;
  keys: string[];
}

const live = (e: CasEntry | null): e is CasEntry => e !== null && e.operation === 'PUT' && e.value.length > 0;

function decodeReverse(e: CasEntry | null): Reverse {
  if (!live(e)) return { rev: 0, keys: [] };
  const v = JSON.parse(new TextDecoder().decode(e.value)) as Partial<Reverse>;
  return { rev: v.rev ?? 0, keys: Array.isArray(v.keys) ? v.keys : [] };
}

export interface IndexTarget {
  /** Pipelined reads and the compare-and-set of the record. */
  cas: CasBucket;
  /** Puts and conditional deletes of index keys. */
  kv: KV;
}

/**
 * Brings the index up to date with the source key's latest value. `keysOf` gives the index keys of a live
 * value. Resolves once the index holds at least every key that value needs.
 */
export async function projectKey(
  what: Listed,
  id: string,
  source: CasBucket,
  index: IndexTarget,
  keysOf: (value: Uint8Array) => Promise<string[]>,
): Promise<void> {
  const recordKey = reverseKey(what, id);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const [src, recordEntry] = await Promise.all([source.get(id), index.cas.get(recordKey)]);
    const prev = decodeReverse(recordEntry);
    const rev = src?.revision ?? 0;
    if (live(recordEntry) && prev.rev >= rev) return;
    const next = live(src) ? await keysOf(src.value) : [];
    const keep = new Set(next);
    const had = new Set(prev.keys);
    const removed = prev.keys.filter((k) => !keep.has(k));
    const seen = await Promise.all(removed.map((k) => index.cas.get(k)));
    await Promise.all(next.filter((k) => !had.has(k)).map((k) => index.kv.put(k, ONE)));
    try {
      const record: Reverse = { rev, keys: next };
      await index.cas.write(
        recordKey,
        new TextEncoder().encode(JSON.stringify(record)),
        recordEntry?.revision ?? 0,
      );
    } catch (err) {
      if (err instanceof CasConflictError) continue;
      throw err;
    }
    await Promise.all(
      removed.map(async (k, i) => {
        const e = seen[i];
        if (!e || e.operation !== 'PUT') return;
        try {
          await index.kv.delete(k, { previousSeq: e.revision });
        } catch (err) {
          // Put again since it was read: another projection needs it.
          if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence)
            return;
          throw err;
        }
      }),
    );
    return;
  }
  throw new Error(`${recordKey}: too many concurrent writers`);
}
