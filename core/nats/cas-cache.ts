// Compare-and-set without the read, for keys this process writes most: a CasStore that remembers the entry
// it last read or wrote for each key (up to a bound, least recently used first out), so readModifyWrite
// starts from memory and sends only the write. The write still names the revision it expects, so memory can
// be stale without harm: when another writer (another instance, the customs projector linking a declaration,
// retention retiring a container) moved the key on, the write is refused, the key is forgotten and the retry
// reads the store. What it costs is one refused write per stale key; what it saves is a read per key per
// batch while a key is written by this process alone, which is the common case for a container in the yard.
import { LRUCache } from 'lru-cache';
import type { CasStore } from './cas.js';
import type { CasEntry } from './pipelined.js';

export interface CasCacheStats {
  /** Reads answered from memory. */
  hits: number;
  /** Reads that went to the store. */
  reads: number;
  /** Writes that failed: mostly refused because the key had moved on (memory was stale, another writer). */
  failedWrites: number;
}

export class RememberingCasStore implements CasStore {
  private readonly entries: LRUCache<string, CasEntry>;
  /** Keys whose next read must go to the store (a write with the remembered revision was refused). */
  private readonly stale = new Set<string>();
  readonly stats: CasCacheStats = { hits: 0, reads: 0, failedWrites: 0 };

  constructor(
    private readonly store: CasStore,
    maxEntries: number,
  ) {
    this.entries = new LRUCache({ max: maxEntries });
  }

  /** Whether the key's entry is in memory (a read would not go to the store). */
  has(key: string): boolean {
    return !this.stale.has(key) && this.entries.has(key);
  }

  async get(key: string): Promise<CasEntry | null> {
    if (!this.stale.delete(key)) {
      const known = this.entries.get(key);
      if (known !== undefined) {
        this.stats.hits += 1;
        return known;
      }
    }
    this.stats.reads += 1;
    const read = await this.store.get(key);
    // A read's bytes may be a view into a larger buffer of the connection: keep a copy of just the value.
    if (read !== null) this.entries.set(key, { ...read, value: read.value.slice() });
    else this.entries.delete(key);
    return read;
  }

  async write(key: string, value: Uint8Array, expected: number): Promise<number> {
    try {
      const revision = await this.store.write(key, value, expected);
      this.entries.set(key, { value, revision, operation: 'PUT' });
      return revision;
    } catch (err) {
      // Whatever went wrong (a conflict, a lost reply after the write was stored), memory no longer knows
      // the key's revision.
      this.entries.delete(key);
      this.stale.add(key);
      this.stats.failedWrites += 1;
      throw err;
    }
  }

  /**
   * Presumes the key absent without asking the store: the caller's write then expects revision 0, which the
   * store refuses if the key exists, and the next read of the key goes to the store. For keys that are
   * usually new (a container discharged or gated in), this saves the read the first write would need.
   */
  presumeAbsent(key: string): void {
    if (!this.has(key)) this.entries.set(key, ABSENT);
  }
}

/** A remembered "no entry": readModifyWrite treats an empty value as absent and expects revision 0. */
const ABSENT: CasEntry = { value: new Uint8Array(0), revision: 0, operation: 'PUT' };
