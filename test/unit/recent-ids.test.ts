// The gateway's recent-id cache: bounded, forgets in the order ids were first added, a repeated add neither
// refreshes nor double counts, and capacity 0 remembers nothing.
import { describe, expect, it } from 'vitest';
import { RecentIds } from '../../ingest/gateway/recent-ids.js';

describe('RecentIds', () => {
  it('keeps the last `capacity` ids and forgets the oldest first', () => {
    const r = new RecentIds(3);
    for (const id of ['a', 'b', 'c', 'd']) r.add(id);
    expect(['a', 'b', 'c', 'd'].map((id) => r.has(id))).toEqual([false, true, true, true]);
    expect(r.size).toBe(3);
    r.add('b');
    r.add('e');
    // 'b' was already there: adding it again took no slot and did not make it newer, so it went first.
    expect(['b', 'c', 'd', 'e'].map((id) => r.has(id))).toEqual([false, true, true, true]);
    expect(r.size).toBe(3);
  });

  it('stays exact over many rounds of the ring', () => {
    const r = new RecentIds(1000);
    for (let i = 0; i < 10_500; i++) r.add(`id-${i}`);
    expect(r.size).toBe(1000);
    expect(r.has('id-9499')).toBe(false);
    expect(r.has('id-9500')).toBe(true);
    expect(r.has('id-10499')).toBe(true);
  });

  it('remembers nothing with capacity 0', () => {
    const r = new RecentIds(0);
    r.add('a');
    expect(r.has('a')).toBe(false);
    expect(r.size).toBe(0);
  });
});
