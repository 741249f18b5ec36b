// One read-modify-write of a KV entry with compare-and-set: update with the revision read, create when absent,
// re-read and re-apply when another writer got there first.
import type { KV } from '@nats-io/kv';

const MAX_CAS_ATTEMPTS = 20;

/**
 * Applies `change` to the entry's current value (undefined when absent or deleted) and writes the result only
 * if nobody wrote in between. `change` returns undefined when there is nothing to write. Resolves with the
 * value written (or the current one when nothing changed) once it is stored.
 */
export async function readModifyWrite<T>(
  kv: KV,
  key: string,
  codec: { decode(bytes: Uint8Array): T; encode(value: T): Uint8Array },
  change: (prev: T | undefined) => T | undefined | Promise<T | undefined>,
): Promise<T | undefined> {
  let lastErr: unknown;
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    const entry = await kv.get(key);
    const live = entry !== null && entry.operation === 'PUT' && entry.value.length > 0;
    const prev = live ? codec.decode(entry.value) : undefined;
    const next = await change(prev);
    if (next === undefined) return prev;
    const bytes = codec.encode(next);
    try {
      if (entry !== null) await kv.update(key, bytes, entry.revision);
      else await kv.create(key, bytes);
      return next;
    } catch (err) {
      // Another writer got there first (wrong last sequence): re-read and apply again.
      lastErr = err;
    }
  }
  throw new Error(`${key}: too many concurrent writers`, { cause: lastErr });
}
