// The ClickHouse access layer: one @clickhouse/client over either embedded chDB (chdb/connection, data under
// the data folder) or a ClickHouse server over HTTP. Callers write the same SQL for both; values always go as
// server-side query parameters ({name:Type}), identifiers only from the validated database name.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  createClient,
  type ClickHouseClient,
  type ClickHouseClientConfigOptions,
  type ClickHouseSettings,
  type ErrorLogParams,
  type Logger as ClientLogger,
  type LogParams,
  type WarnLogParams,
} from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';

export interface ClickHouseConfig {
  CLICKHOUSE_URL?: string | undefined;
  CLICKHOUSE_USER: string;
  CLICKHOUSE_PASSWORD?: string | undefined;
  CLICKHOUSE_DATABASE: string;
  CLICKHOUSE_REQUEST_TIMEOUT_MS: number;
  PORTSTREAM_DATA_DIR: string;
}

export interface ClickHouse {
  readonly client: ClickHouseClient;
  /** Database holding every portstream table; names in SQL are qualified with it. */
  readonly database: string;
  /** Embedded chDB (true) or a server over HTTP (false). */
  readonly embedded: boolean;
  /** Rows of a SELECT, decoded from JSONEachRow. */
  query<T>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  /** A statement without a result (DDL). */
  command(sql: string, params?: Record<string, unknown>): Promise<void>;
  /**
   * Inserts rows as one INSERT. The token makes a repeated insert of the same rows a no-op, for the table
   * and every materialized view fed by it.
   */
  insert(table: string, rows: readonly object[], dedupToken: string): Promise<void>;
  close(): Promise<void>;
}

type ChdbClientConnection = NonNullable<ClickHouseClientConfigOptions['connection']>;
type RawInsert = (p: {
  table: string;
  columns: string[];
  values: Buffer;
  format: 'JSONCompactEachRow';
  settings: Record<string, string | number>;
}) => Promise<unknown>;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function embeddedPath(dataDir: string): string {
  return path.resolve(dataDir, 'clickhouse');
}

/** The client's own log lines go to our logger (its default writes to the console). */
function clientLogger(log: Logger): new () => ClientLogger {
  const fields = (p: LogParams, err?: Error): object => ({
    module: p.module,
    ...p.args,
    ...(err === undefined ? {} : { err: errorMessage(err) }),
  });
  return class implements ClientLogger {
    trace(p: LogParams): void {
      log.trace(fields(p), p.message);
    }
    debug(p: LogParams): void {
      log.debug(fields(p), p.message);
    }
    info(p: LogParams): void {
      log.info(fields(p), p.message);
    }
    warn(p: WarnLogParams): void {
      log.warn(fields(p, p.err), p.message);
    }
    error(p: ErrorLogParams): void {
      log.error(fields(p, p.err), p.message);
    }
  };
}

export function createClickHouse(config: ClickHouseConfig, log?: Logger): ClickHouse {
  const database = config.CLICKHOUSE_DATABASE;
  if (!IDENTIFIER.test(database)) throw new Error(`CLICKHOUSE_DATABASE is not an identifier: ${database}`);
  const url = config.CLICKHOUSE_URL;
  let client: ClickHouseClient;
  let rawInsert: RawInsert | undefined;
  if (url === undefined) {
    const dir = embeddedPath(config.PORTSTREAM_DATA_DIR);
    mkdirSync(dir, { recursive: true });
    // chdb types the connection against @clickhouse/client-common, which the client now bundles as its own
    // copy: same shape, but a class with a private field makes the two nominally different.
    const chdb = createChdbConnection({ path: dir });
    const connection = chdb as unknown as ChdbClientConnection;
    client = createClient({ connection, clickhouse_settings: CLIENT_SETTINGS, ...logOption(log) });
    rawInsert = (p) => chdb.chdb.rawInsert(p);
  } else {
    // No `database` on the client: it may not exist before the migrations create it.
    client = createClient({
      url,
      username: config.CLICKHOUSE_USER,
      ...(config.CLICKHOUSE_PASSWORD === undefined ? {} : { password: config.CLICKHOUSE_PASSWORD }),
      request_timeout: config.CLICKHOUSE_REQUEST_TIMEOUT_MS,
      application: 'portstream',
      clickhouse_settings: CLIENT_SETTINGS,
      ...logOption(log),
    });
  }
  return wrap(client, database, rawInsert);
}

// Both backends answer 64-bit integers as JSON numbers (a server quotes them by default, chDB does not): our
// 64-bit values are counts, microseconds and stream sequences, far below 2^53.
const CLIENT_SETTINGS: ClickHouseSettings = { output_format_json_quote_64bit_integers: 0 };

function logOption(log: Logger | undefined): { log?: { LoggerClass: new () => ClientLogger } } {
  return log === undefined
    ? {}
    : { log: { LoggerClass: clientLogger(log.child({ component: 'clickhouse' })) } };
}

function wrap(client: ClickHouseClient, database: string, rawInsert: RawInsert | undefined): ClickHouse {
  return {
    client,
    database,
    embedded: rawInsert !== undefined,
    async query<T>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
      const rs = await client.query({ query: sql, format: 'JSONEachRow', query_params: params });
      return rs.json<T>();
    },
    async command(sql: string, params: Record<string, unknown> = {}): Promise<void> {
      await client.command({ query: sql, query_params: params });
    },
    async insert(table: string, rows: readonly object[], dedupToken: string): Promise<void> {
      if (rows.length === 0) return;
      if (rawInsert) {
        // chDB's raw insert hands the bytes to the engine's parser and takes the settings as the INSERT's own
        // SETTINGS clause: 2-3x faster than the generic path, which rebuilds the statement as one big string
        // and applies settings with SET on the shared session (where a token would outlive the insert).
        // Rows of one shape (the sink builds each kind's rows as one object literal) go as arrays of values
        // under one column list: no field names to write or for the parser to match, row after row.
        // Rows of several shapes go as one INSERT per shape, in the order the shapes first appear (the same for
        // the same rows), each under its own token: two INSERTs under one token would drop the second.
        const groups = byShape(rows);
        for (const [i, { columns, rows: group }] of groups.entries()) {
          await rawInsert({
            table: `${database}.${table}`,
            columns,
            values: Buffer.from(group.map((r) => JSON.stringify(Object.values(r))).join('\n')),
            format: 'JSONCompactEachRow',
            settings: insertSettings(groups.length === 1 ? dedupToken : `${dedupToken}:${i}`),
          });
        }
        return;
      }
      await client.insert({
        table: `${database}.${table}`,
        values: rows,
        format: 'JSONEachRow',
        clickhouse_settings: insertSettings(dedupToken),
      });
    },
    async close(): Promise<void> {
      await client.close();
    },
  };
}

/** Rows grouped by their keys in order, each group with its column list, in the order they first appear. */
function byShape(rows: readonly object[]): { columns: string[]; rows: object[] }[] {
  // Compared key by key with the few shapes seen so far (property names are interned strings, so each
  // comparison is a pointer check): joining each row's keys into one string cost a microsecond a row.
  const groups: { columns: string[]; rows: object[] }[] = [];
  let last: { columns: string[]; rows: object[] } | undefined;
  for (const r of rows) {
    const columns = Object.keys(r);
    const g =
      last !== undefined && sameColumns(last.columns, columns)
        ? last
        : groups.find((x) => sameColumns(x.columns, columns));
    if (g) g.rows.push(r);
    else groups.push({ columns, rows: [r] });
    last = g ?? groups.at(-1);
  }
  return groups;
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function insertSettings(token: string): Record<string, string | number> {
  return {
    insert_deduplicate: 1,
    insert_deduplication_token: token,
    deduplicate_blocks_in_dependent_materialized_views: 1,
    // Synchronous inserts: "accepted" must mean written before the sink acks JetStream.
    async_insert: 0,
    // No replacing or summing pass over the block before it is written: our INSERTs never hold two rows with
    // one sort key (the sink drops repeated keys within a batch, sink/writer.ts; a view's GROUP BY already
    // folds its block; the floors are read with max), so the pass only sorted and compared for nothing. It
    // was about a quarter of the INSERT's CPU into events (bench/insert-format.ts). Merges still replace and
    // sum as before.
    optimize_on_insert: 0,
  };
}
