// Versioned schema migrations: plain SQL files in ./migrations named NNNN_name.sql, applied in order and
// recorded in <db>.schema_migrations. Each statement is idempotent (IF NOT EXISTS), so a run interrupted
// half-way, or two services starting at once, converge on the same schema. Run at start-up and by the CLI.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.js';
import type { ClickHouse } from './client.js';

export interface Migration {
  version: number;
  name: string;
  statements: string[];
  checksum: string;
}

export interface MigrationResult {
  applied: number[];
  alreadyApplied: number[];
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** The SQL files sit beside this module in the source tree; a compiled build finds them there too. */
export function migrationsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'migrations');
  if (existsSync(beside)) return beside;
  // dist/core/clickhouse -> core/clickhouse (tsc does not copy .sql files).
  return path.resolve(here, '../../../core/clickhouse/migrations');
}

export function loadMigrations(database: string, dir = migrationsDir()): Migration[] {
  return readdirSync(dir)
    .flatMap((file) => {
      const m = FILE.exec(file);
      if (!m?.[1] || !m[2]) return [];
      const text = readFileSync(path.join(dir, file), 'utf8');
      return [
        {
          version: Number(m[1]),
          name: m[2],
          checksum: createHash('sha256').update(text).digest('hex').slice(0, 16),
          statements: splitStatements(text.replaceAll('${db}', database)),
        },
      ];
    })
    .sort((a, b) => a.version - b.version);
}

/** One statement per request (the HTTP interface takes no more): split at semicolons ending a line. */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;[ \t]*$/m)
    .map((s) =>
      s
        .split('\n')
        .filter((line) => !line.trim().startsWith('--'))
        .join('\n')
        .trim(),
    )
    .filter((s) => s.length > 0);
}

export async function runMigrations(ch: ClickHouse, log: Logger): Promise<MigrationResult> {
  const db = ch.database;
  await ch.command(`CREATE DATABASE IF NOT EXISTS ${db}`);
  await ch.command(
    `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations
     (version UInt32, name String, checksum String, applied_time DateTime64(3, 'UTC') DEFAULT now64(3))
     ENGINE = MergeTree ORDER BY version SETTINGS non_replicated_deduplication_window = 100`,
  );
  const done = new Map(
    (
      await ch.query<{ version: number; checksum: string }>(
        `SELECT version, any(checksum) AS checksum FROM ${db}.schema_migrations GROUP BY version`,
      )
    ).map((r) => [r.version, r.checksum]),
  );
  const result: MigrationResult = { applied: [], alreadyApplied: [] };
  for (const m of loadMigrations(db)) {
    const recorded = done.get(m.version);
    if (recorded !== undefined) {
      // An applied file that changed would leave databases migrated at different times different.
      if (recorded !== m.checksum) {
        throw new Error(`migration ${m.version}_${m.name} changed after it was applied; add a new migration`);
      }
      result.alreadyApplied.push(m.version);
      continue;
    }
    const started = Date.now();
    for (const statement of m.statements) await ch.command(statement);
    // The token makes a concurrent runner's record of the same version a duplicate, not a second row.
    await ch.insert(
      'schema_migrations',
      [{ version: m.version, name: m.name, checksum: m.checksum }],
      `migration:${m.version}:${m.checksum}`,
    );
    log.info(
      { version: m.version, migration: m.name, ms: Date.now() - started },
      'clickhouse migration applied',
    );
    result.applied.push(m.version);
  }
  return result;
}
