// Writes one batch of keyed rows to ClickHouse at most once per key. Rows whose key is already written (by an
// earlier batch, whose acks may have been lost) or earlier in the same batch are dropped before the INSERT, so
// the rollups' materialized views never see a second copy. Events' keys are looked up in <db>.sink_keys (a key
// view fills it); declarations' and decisions' in their own tables, whose sort keys start with the declaration
// number. The INSERT carries a token derived from the keys it writes: if it succeeded but the answer was lost
// (timeout, crash of the connection), the retry is recognised by ClickHouse and dropped for the table and its
// views alike.
import { createHash } from 'node:crypto';
import type { ClickHouse } from '../core/clickhouse/client.js';
import type { KeyedRow, RecordKind, RecordMapping } from './rows.js';

/**
 * Keys per lookup query. Over HTTP the parameter travels in the URL, so it stays well under URL limits;
 * embedded, each call's result crosses back to the event loop, so fewer, larger calls are cheaper.
 */
const LOOKUP_CHUNK = { http: 2000, embedded: 50_000 } as const;

export interface WriteResult {
  inserted: number;
  skipped: number;
}

export async function writeBatch(
  ch: ClickHouse,
  mapping: RecordMapping,
  rows: readonly KeyedRow[],
  redelivered: ReadonlySet<string> = new Set(),
): Promise<WriteResult> {
  const unique = new Map<string, KeyedRow>();
  for (const r of rows) if (!unique.has(r.key)) unique.set(r.key, r);
  let fresh: KeyedRow[];
  if (mapping.kind === 'event') {
    const seen = await existingKeys(ch, mapping.kind, [...unique.keys()]);
    fresh = [...unique.values()].filter((r) => !seen.has(r.key));
    const recheck = fresh.filter((r) => redelivered.has(r.key));
    if (recheck.length > 0) {
      const present = await presentRows(ch, mapping.kind, recheck);
      fresh = fresh.filter((r) => !present.has(r.key));
    }
  } else {
    // A customs table is its own record of what was written (migration 0009).
    const present = await presentRows(ch, mapping.kind, [...unique.values()]);
    fresh = [...unique.values()].filter((r) => !present.has(r.key));
  }
  if (fresh.length > 0) {
    const keys = fresh.map((r) => r.key).sort();
    const token = `${mapping.kind}:${createHash('sha256').update(keys.join('\n')).digest('hex')}`;
    await ch.insert(
      mapping.table,
      fresh.map((r) => r.row),
      token,
    );
  }
  return { inserted: fresh.length, skipped: rows.length - fresh.length };
}

/**
 * Keys of rows already in the table itself, looked up through its sort key (container or declaration number
 * first: a range read each). For declarations and decisions, every row's. For events only the rows of
 * redelivered messages: the key view is written after the table within one INSERT, so a sink killed in between
 * leaves rows whose keys are missing, and the next sink must not insert them again (process-faults found such
 * doubles in events).
 */
async function presentRows(
  ch: ClickHouse,
  kind: RecordKind,
  rows: readonly KeyedRow[],
): Promise<Set<string>> {
  const chunk = ch.embedded ? LOOKUP_CHUNK.embedded : LOOKUP_CHUNK.http;
  const found = new Set<string>();
  for (let i = 0; i < rows.length; i += chunk) {
    for (const key of await presentChunk(ch, kind, rows.slice(i, i + chunk))) found.add(key);
  }
  return found;
}

async function presentChunk(ch: ClickHouse, kind: RecordKind, rows: readonly KeyedRow[]): Promise<string[]> {
  const column = kind === 'event' ? 'container_number' : 'declaration_number';
  const narrow = [
    ...new Set(
      rows.map((r) => {
        const v = r.row[column];
        return typeof v === 'string' ? v : '';
      }),
    ),
  ];
  const params = { narrow, keys: rows.map((r) => r.key) };
  let found: { key: string }[];
  switch (kind) {
    case 'event':
      found = await ch.query<{ key: string }>(
        `SELECT concat(dedupe_source, '/', event_id) AS key FROM ${ch.database}.events
         WHERE container_number IN (SELECT arrayJoin({narrow:Array(String)}))
           AND concat(dedupe_source, '/', event_id) IN (SELECT arrayJoin({keys:Array(String)}))`,
        params,
      );
      break;
    case 'declaration':
      found = await ch.query<{ key: string }>(
        `SELECT command_id AS key FROM ${ch.database}.declarations
         WHERE declaration_number IN (SELECT arrayJoin({narrow:Array(String)}))
           AND command_id IN (SELECT arrayJoin({keys:Array(String)}))`,
        params,
      );
      break;
    case 'decision':
      found = await ch.query<{ key: string }>(
        `SELECT concat(declaration_number, '/', toString(revision), '/', status) AS key FROM ${ch.database}.decisions
         WHERE declaration_number IN (SELECT arrayJoin({narrow:Array(String)}))
           AND concat(declaration_number, '/', toString(revision), '/', status)
               IN (SELECT arrayJoin({keys:Array(String)}))`,
        params,
      );
      break;
    default: {
      const never: never = kind;
      throw new Error(`unknown record kind ${String(never)}`);
    }
  }
  return found.map((r) => r.key);
}

export async function existingKeys(ch: ClickHouse, kind: string, keys: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  const chunk = ch.embedded ? LOOKUP_CHUNK.embedded : LOOKUP_CHUNK.http;
  for (let i = 0; i < keys.length; i += chunk) {
    const rows = await ch.query<{ key: string }>(
      // The keys go through a subquery so that IN builds a hash set. `key IN {keys:Array(String)}` compares
      // each row with every element of the array: with 50,000 keys that is O(rows x keys), 17 s of CPU against
      // 100k rows and growing with the table (bench/sink-growth.ts); the set makes it about 100 ms, flat.
      `SELECT key FROM ${ch.database}.sink_keys
       WHERE kind = {kind:String} AND key IN (SELECT arrayJoin({keys:Array(String)}))`,
      { kind, keys: keys.slice(i, i + chunk) },
    );
    for (const r of rows) found.add(r.key);
  }
  return found;
}
