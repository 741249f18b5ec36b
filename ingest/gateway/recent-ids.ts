// A bounded memory of event ids this gateway has seen persisted, so that a client's retry is answered
// DUPLICATE without publishing again. It is an optimisation and an answer to the client, not the guarantee:
// the processor and the ClickHouse sink dedupe by event id whatever this cache says.
//
// Oldest-first eviction uses a ring of the ids in insertion order beside the set. Evicting through the set's own
// iterator (values().next()) looks O(1) but is not: V8 leaves deleted entries as holes until it rehashes, and
// the iterator walks past them from the start, so at capacity every insert cost time in proportion to the size.
export class RecentIds {
  private readonly ids = new Set<string>();
  private readonly ring: (string | undefined)[];
  private next = 0;

  constructor(private readonly capacity: number) {
    this.ring = new Array<string | undefined>(capacity);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    if (this.capacity === 0 || this.ids.has(id)) return;
    const evicted = this.ring[this.next];
    if (evicted !== undefined) this.ids.delete(evicted);
    this.ring[this.next] = id;
    this.next = (this.next + 1) % this.capacity;
    this.ids.add(id);
  }

  get size(): number {
    return this.ids.size;
  }
}
