// Migrations on the real engine: an empty database gets every table, a migrated one is left as it is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, runMigrations } from '../../core/clickhouse/migrate.js';
import { silentLogger } from '../../core/logger.js';
import { countRows, startClickHouse, type ChFixture } from './sink-fixture.js';

const TABLES = [
  'clearance_hourly',
  'decisions',
  'decisions_hourly',
  'declarations',
  'events',
  'events_per_minute',
  'events_received_per_minute',
  'schema_migrations',
  'sink_floors',
  'sink_keys',
  'vessel_moves_daily',
  'yard_dwell',
  'yard_stays',
];

describe('ClickHouse migrations', () => {
  let f: ChFixture;
  beforeAll(async () => {
    f = await startClickHouse(false);
  });
  afterAll(async () => {
    await f.cleanup();
  });

  it('apply every version in order on an empty database, then nothing on a migrated one', async () => {
    const versions = loadMigrations(f.ch.database).map((m) => m.version);
    expect(versions.length).toBeGreaterThanOrEqual(2);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));

    const first = await runMigrations(f.ch, silentLogger());
    expect(first).toEqual({ applied: versions, alreadyApplied: [] });
    const tables = await f.ch.query<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = {db:String} AND name NOT LIKE '%_mv' ORDER BY name`,
      { db: f.ch.database },
    );
    expect(tables.map((t) => t.name)).toEqual(TABLES);
    // Only events keep a key view: declarations and decisions are looked up in their own tables (0009).
    const keyViews = await f.ch.query<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = {db:String} AND name LIKE '%_keys_mv' ORDER BY name`,
      { db: f.ch.database },
    );
    expect(keyViews.map((t) => t.name)).toEqual(['events_keys_mv']);

    await f.ch.insert('sink_keys', [{ kind: 'event', key: 'kept' }], 'test:kept');
    const second = await runMigrations(f.ch, silentLogger());
    expect(second).toEqual({ applied: [], alreadyApplied: versions });
    expect(await countRows(f.ch, 'schema_migrations')).toBe(versions.length);
    expect(await countRows(f.ch, 'sink_keys')).toBe(1);
  });

  it('name the database in every statement, so two databases side by side stay apart', () => {
    for (const m of loadMigrations('other_db')) {
      for (const s of m.statements) {
        expect(s).not.toContain('${db}');
        if (/^CREATE/.test(s)) expect(s).toMatch(/other_db\./);
      }
    }
  });
});
