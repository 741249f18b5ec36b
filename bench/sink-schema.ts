// The embedded ClickHouse the sink benches write into: a new folder, the project's migrations, and variants of the
// events table's schema with parts taken away to price them (the projections, the rollup views, both).
import { mkdtemp } from 'node:fs/promises';
import path from 'node:path';
import { createClickHouse, type ClickHouse } from '../core/clickhouse/client.js';
import { runMigrations } from '../core/clickhouse/migrate.js';
import { silentLogger } from '../core/logger.js';

export type SchemaVariant = 'default' | 'no-projections' | 'keys-only' | 'bare';

export function schemaVariant(name: string): SchemaVariant {
  if (name === 'default' || name === 'no-projections' || name === 'keys-only' || name === 'bare') return name;
  throw new Error(`unknown variant ${name}: default, no-projections, keys-only or bare`);
}

/** Database `bench` migrated in a new folder under `parent`; the caller removes `dir` when done. */
export async function benchClickHouse(
  parent: string,
  prefix: string,
  variant: SchemaVariant,
): Promise<{ dir: string; ch: ClickHouse }> {
  const dir = await mkdtemp(path.join(parent, prefix));
  const ch = createClickHouse(
    {
      CLICKHOUSE_USER: 'default',
      CLICKHOUSE_DATABASE: 'bench',
      CLICKHOUSE_REQUEST_TIMEOUT_MS: 600_000,
      PORTSTREAM_DATA_DIR: dir,
    },
    silentLogger(),
  );
  await runMigrations(ch, silentLogger());
  if (variant === 'no-projections' || variant === 'bare') {
    await ch.command('ALTER TABLE bench.events DROP PROJECTION by_visit');
    await ch.command('ALTER TABLE bench.events DROP PROJECTION by_terminal');
  }
  if (variant === 'bare' || variant === 'keys-only') {
    await ch.command('DROP VIEW bench.events_per_minute_mv');
    await ch.command('DROP VIEW bench.vessel_moves_daily_mv');
    await ch.command('DROP VIEW bench.yard_stays_mv');
    await ch.command('DROP VIEW bench.events_received_per_minute_mv');
  }
  return { dir, ch };
}
