// Migration 0004 on a database the previous version wrote: its rows stay readable, and from then on the same
// event id from two sources is two rows (events' ReplacingMergeTree key and sink_keys include the source),
// while a second copy from one source is still one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerHistory } from '../../core/clickhouse/queries.js';
import { loadMigrations, runMigrations } from '../../core/clickhouse/migrate.js';
import { silentLogger } from '../../core/logger.js';
import { MAPPINGS } from '../../sink/rows.js';
import { writeBatch } from '../../sink/writer.js';
import { EventGroup } from '../../proto/gen/portstream/v1/records.js';
import { containerNumber, equipmentEvent } from '../../test-kit/events.js';
import { countRows, startClickHouse, type ChFixture } from './sink-fixture.js';

const EVENTS = MAPPINGS.find((m) => m.table === 'events');
const N = containerNumber('MSC', 730_001);

function rows(source: string, id: string, seq: number) {
  const data = EventGroup.encode({
    receivedTime: new Date(),
    source,
    events: [equipmentEvent(id, 730_001, { eventTime: new Date('2026-11-01T00:00:00Z') })],
  }).finish();
  if (!EVENTS) throw new Error('no events mapping');
  return EVENTS.toRows(data, seq);
}

describe('events keyed by source and event id (migration 0004)', () => {
  let f: ChFixture;
  beforeAll(async () => {
    f = await startClickHouse(false);
  });
  afterAll(async () => {
    await f.cleanup();
  });

  it('keeps the rows written before it and stores the same id from two sources once each', async () => {
    // The schema of the previous version, and a row it wrote (no dedupe_source column yet).
    await f.ch.command(`CREATE DATABASE IF NOT EXISTS ${f.ch.database}`);
    for (const m of loadMigrations(f.ch.database).filter((x) => x.version < 4)) {
      for (const s of m.statements) await f.ch.command(s);
    }
    await f.ch.command(
      `INSERT INTO ${f.ch.database}.events (event_id, event_time, container_number, source)
       VALUES ('OLD-1', '2026-10-01 00:00:00.000', {n:String}, 'hict-operator')`,
      { n: N },
    );
    await runMigrations(f.ch, silentLogger());
    if (!EVENTS) throw new Error('no events mapping');

    await writeBatch(f.ch, EVENTS, [
      ...rows('hict-operator', 'SAME-1', 1),
      ...rows('tvct-operator', 'SAME-1', 2),
    ]);
    // A second copy of each (a redelivery) is skipped by sink_keys.
    await writeBatch(f.ch, EVENTS, [
      ...rows('hict-operator', 'SAME-1', 3),
      ...rows('tvct-operator', 'SAME-1', 4),
    ]);
    expect(await countRows(f.ch, 'events', `event_id = 'SAME-1'`)).toBe(2);
    expect(
      await countRows(f.ch, 'sink_keys', `key IN ('hict-operator/SAME-1', 'tvct-operator/SAME-1')`),
    ).toBe(2);
    // A copy that got past sink_keys is merged away by the table key, which tells the two sources apart.
    await f.ch.insert(
      'events',
      rows('hict-operator', 'SAME-1', 5).map((r) => r.row),
      'test:copy',
    );
    expect(await countRows(f.ch, 'events FINAL', `event_id = 'SAME-1'`)).toBe(2);
    const page = await containerHistory(f.ch, N, { limit: 1 });
    expect(page.items.map((r) => r.event_id)).toEqual(['OLD-1']);
    const rest = await containerHistory(f.ch, N, { limit: 1, cursor: page.nextCursor as string });
    const last = await containerHistory(f.ch, N, { limit: 1, cursor: rest.nextCursor as string });
    // Same time, same id, two sources: paging by (time, id, source) gives each once.
    expect([rest.items[0]?.dedupe_source, last.items[0]?.dedupe_source]).toEqual([
      'hict-operator',
      'tvct-operator',
    ]);
    expect(last.nextCursor).toBeUndefined();
  });
});
