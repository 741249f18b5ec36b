// A short-lived cache of declarations in front of the store. Every firm read of a container checks the parties
// of the container's declarations; without the cache that is a second KV round trip per request, which halves
// the rate one API process sustains. Parties of a declaration rarely change (an amendment may change the
// trader), so a visibility answer at most ttlMs old is accepted; decisions and status are never cached.
import type { Declaration } from '../../proto/gen/portstream/v1/customs.js';
import type { TrackingStore } from './store.js';

interface Entry {
  value: Declaration | undefined;
  at: number;
}

export function withDeclarationCache(store: TrackingStore, ttlMs = 5000, maxEntries = 50_000): TrackingStore {
  const entries = new Map<string, Entry>();
  // One lookup in flight per declaration: a burst of reads of the same one costs one round trip.
  const loading = new Map<string, Promise<Declaration | undefined>>();

  async function load(no: string): Promise<Declaration | undefined> {
    const value = await store.declaration(no);
    if (entries.size >= maxEntries) {
      // Map iteration order is insertion order: drop the oldest tenth at once rather than one per insert.
      let drop = Math.ceil(maxEntries / 10);
      for (const k of entries.keys()) {
        entries.delete(k);
        if (--drop === 0) break;
      }
    }
    entries.set(no, { value, at: performance.now() });
    return value;
  }

  return {
    container: (n) => store.container(n),
    watchContainer: (n) => store.watchContainer(n),
    vesselVisit: (id) => store.vesselVisit(id),
    vesselVisitIds: () => store.vesselVisitIds(),
    decisions: (no) => store.decisions(no),
    // Lists show the current state: never cached.
    declarationState: (no) => store.declarationState(no),
    listed: (prefix) => store.listed(prefix),
    every: (what) => store.every(what),
    declaration: (no) => {
      const e = entries.get(no);
      if (e && performance.now() - e.at < ttlMs) return Promise.resolve(e.value);
      let p = loading.get(no);
      if (!p) {
        p = load(no).finally(() => loading.delete(no));
        loading.set(no, p);
      }
      return p;
    },
  };
}
