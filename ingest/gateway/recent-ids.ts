// A bounded memory of event ids this gateway has seen persisted, so that a client's retry is answered
// DUPLICATE without publishing again. It is an optimisation and an answer to the client, not the guarantee:
// the processor and the ClickHouse sink dedupe by event id whatever this cache says.
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    if (this.capacity === 0) return;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      // A Set iterates in insertion order, so the first entry is the oldest.
      const oldest = this.ids.values().next();
      if (!oldest.done) this.ids.delete(oldest.value);
    }
  }

  get size(): number {
    return this.ids.size;
  }
}
