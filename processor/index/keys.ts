// One source key's step of the list index projection: bring the index from what was recorded for the key to what
// its latest value needs, so that concurrent projections (several processors) never leave out a key that the
// latest value needs, and leave no key it does not once they are done.
//
// Most changes to a container or a declaration do not change where it is listed (a yard move, a decision), so a
// step starts from the change it was delivered (the KV message: value and revision) and reads only the record of
// the source key's index keys (`r.<c|d>.<id>`). A change that needs exactly the recorded keys writes nothing. A
// key never projected gets its keys put and its record created from the change (a change whose write expected
// an empty key is presumed to be such a key, without reading its record: a refused creation corrects it, the
// keys it put carried as removals). Any other step reads the source's latest value and goes:
//
// (1) the revisions of the keys to remove are read, (2) the keys to add are put, (3) the record is
// compare-and-set, (4) the source is read again, and (5) the keys to remove are deleted only if still at the
// revision read in (1) and the source has not moved on since it was read; when it has, the step starts over from
// the newer value, carrying the removals along. Another projection that needs a removed key again adds it only
// after it read the record written in (3), hence after (1): its put has a newer revision, so the delete in (5)
// fails and the key stays. Losing the compare-and-set in (3) starts over from the new record.
//
// Why writing nothing is safe: a projection P of the latest change found the record listing what that change
// needs. A writer W can replace that record only by a compare-and-set from the version P read, so after P's read,
// which came after the latest change was stored; W's (4) therefore sees the latest change, and W projects that
// before it removes anything. Creating from a change is safe because a projection of any later change that reads
// the created record finds it listing other keys, or no record, and projects the latest value itself. A
// projection that stops between (3) and (5) leaves extra keys behind: harmless, since readers check every
// candidate, and the key's next change removes them.
import type { CasBucket, CasEntry } from '../../core/nats/pipelined.js';
import { CasContendedError } from '../../core/nats/cas.js';
import { CasConflictError } from '../../core/nats/pipelined.js';
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

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((k) => set.has(k));
}

/** A delivered change, and whether its write expected an empty key (it was the key's first message). */
export interface DeliveredChange extends CasEntry {
  first?: boolean;
}

/**
 * Brings the index (the list index bucket) up to date with the source key. `change` is the change that was
 * delivered (its value and revision; null when unknown, e.g. a back-fill), `source` the source bucket, `keysOf`
 * the index keys of a live value. Resolves once the index holds at least every key the latest value needs.
 *
 * A change marked `first` (its writer expected an empty key) needs a record created, almost always: its keys are
 * put and the record created expecting none, without reading the record first. If one exists after all (a
 * redelivery of the change, a key that lived before), the creation is refused and the step goes on as any other,
 * from the latest value, the keys it put carried along as removals should that value not need them.
 */
export async function projectKey(
  what: Listed,
  id: string,
  change: DeliveredChange | null,
  source: CasBucket,
  index: CasBucket,
  keysOf: (value: Uint8Array) => Promise<string[]>,
): Promise<void> {
  const recordKey = reverseKey(what, id);
  // Keys a previous attempt set out to remove, with the revisions it read before it put anything.
  const carried = new Map<string, CasEntry | null>();
  // The value worked from: the delivered change, until the latest value is called for (undefined: read it).
  let from: CasEntry | null | undefined = change ?? undefined;
  let lastConflict: CasConflictError | undefined;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const fresh = from === undefined;
    // The first attempt at a key's first change presumes there is no record (no read); a refused creation
    // corrects it.
    const presumeNew = attempt === 0 && change?.first === true && live(change);
    const [recordEntry, src] = presumeNew
      ? [null, change]
      : await Promise.all([
          index.get(recordKey),
          from === undefined ? source.get(id) : Promise.resolve(from),
        ]);
    const prev = decodeReverse(recordEntry);
    const rev = src?.revision ?? 0;
    if (live(recordEntry) && prev.rev >= rev) {
      if (carried.size === 0) return;
      // The record is ahead of the source as read here: read again.
      if (prev.rev > rev) {
        from = undefined;
        continue;
      }
      // The record lists what the latest value needs; left to remove: the keys a refused creation put that it
      // does not list.
      const listed = new Set(prev.keys);
      for (const k of listed) carried.delete(k);
      await removeCarried(index, carried);
      return;
    }
    const next = live(src) ? await keysOf(src.value) : [];
    if (live(recordEntry) && carried.size === 0 && sameKeys(next, prev.keys)) return;
    // A key never projected needs its record created, from whichever change came first; any other step works
    // from the latest value.
    const creating = recordEntry === null;
    if (!fresh && !creating) {
      from = undefined;
      continue;
    }
    const keep = new Set(next);
    const removed = prev.keys.filter((k) => !keep.has(k) && !carried.has(k));
    for (const k of keep) carried.delete(k);
    const seen = await Promise.all(removed.map((k) => index.get(k)));
    removed.forEach((k, i) => carried.set(k, seen[i] ?? null));
    const had = new Set(prev.keys);
    const added = next.filter((k) => !had.has(k));
    const addedAt = await Promise.all(added.map((k) => index.put(k, ONE)));
    try {
      const record: Reverse = { rev, keys: next };
      await index.write(
        recordKey,
        new TextEncoder().encode(JSON.stringify(record)),
        recordEntry?.revision ?? 0,
      );
    } catch (err) {
      if (!(err instanceof CasConflictError)) throw err;
      lastConflict = err;
      // The record that listed these removals was replaced: what to remove is worked out from the new one.
      for (const k of removed) carried.delete(k);
      // A creation that was refused put keys no record lists: removed later unless the latest value needs them
      // (and only if still at the revision put here).
      if (creating) {
        added.forEach((k, i) => {
          if (!carried.has(k)) carried.set(k, { value: ONE, revision: addedAt[i] ?? 0, operation: 'PUT' });
        });
      }
      from = undefined;
      continue;
    }
    // Created: nothing was listed before, so nothing to remove; a projection racing to create it lost the
    // compare-and-set and works from the latest value.
    if (creating) return;
    const after = await source.get(id);
    if ((after?.revision ?? 0) !== rev) {
      from = undefined;
      continue;
    }
    await removeCarried(index, carried);
    return;
  }
  throw new CasContendedError(recordKey, lastConflict);
}

/** Deletes each carried key if it is still at the revision carried (one put since was made for a reason). */
async function removeCarried(index: CasBucket, carried: ReadonlyMap<string, CasEntry | null>): Promise<void> {
  await Promise.all(
    [...carried].map(async ([k, e]) => {
      if (!e || e.operation !== 'PUT') return;
      try {
        await index.delete(k, e.revision);
      } catch (err) {
        // Put again since it was read: another projection needs it.
        if (err instanceof CasConflictError) return;
        throw err;
      }
    }),
  );
}
