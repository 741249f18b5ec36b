// Counting what the pipeline made of the load, per id, to prove "exactly once": event ids applied to container
// state (the ids each KV record remembers), decisions per declaration on PS_DECISIONS, and rows per key in
// ClickHouse (plain count(), no FINAL: a duplicate would show).
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { KV } from '@nats-io/kv';
import type { ClickHouse } from '../../core/clickhouse/client.js';
import { clientEventId } from '../../core/event-key.js';
import { STREAM_DECISIONS } from '../../core/nats/topology.js';
import { decodeContainerRecord } from '../../core/state/container.js';
import { Decision } from '../../proto/gen/portstream/v1/customs.js';

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

/**
 * Every event id applied to a container record (the client's id: records remember the sourced id), with how
 * many times it is recorded there.
 */
export async function appliedEventIds(containers: KV): Promise<Map<string, number>> {
  const keys: string[] = [];
  for await (const k of await containers.keys()) keys.push(k);
  const counts = new Map<string, number>();
  for (let i = 0; i < keys.length; i += 50) {
    const entries = await Promise.all(keys.slice(i, i + 50).map((k) => containers.get(k)));
    for (const e of entries) {
      if (e?.operation !== 'PUT') continue;
      for (const id of decodeContainerRecord(e.value).bookkeeping.recentEventIds)
        bump(counts, clientEventId(id));
    }
  }
  return counts;
}

/** Decisions per declaration number on PS_DECISIONS. */
export async function decisionsOnStream(nc: NatsConnection): Promise<Map<string, number>> {
  const jsm = await jetstreamManager(nc);
  const total = (await jsm.streams.info(STREAM_DECISIONS)).state.messages;
  const counts = new Map<string, number>();
  if (total === 0) return counts;
  const consumer = await jetstream(nc).consumers.get(STREAM_DECISIONS, { deliver_policy: DeliverPolicy.All });
  const messages = await consumer.consume();
  let seen = 0;
  for await (const m of messages) {
    bump(counts, Decision.decode(m.data).declarationNumber);
    if (++seen >= total) break;
  }
  await messages.close();
  return counts;
}

/** Rows per key of a ClickHouse table. */
export async function rowsPerKey(
  ch: ClickHouse,
  table: string,
  column: string,
): Promise<Map<string, number>> {
  const rows = await ch.query<{ k: string; n: number | string }>(
    `SELECT ${column} AS k, count() AS n FROM ${ch.database}.${table} GROUP BY k`,
  );
  return new Map(rows.map((r) => [r.k, Number(r.n)]));
}

/** The ids not present exactly once (missing: 0, doubled: 2+), as "id:count", for a readable failure. */
export function notExactlyOnce(expected: Iterable<string>, counts: Map<string, number>): string[] {
  const bad: string[] = [];
  for (const id of expected) {
    const n = counts.get(id) ?? 0;
    if (n !== 1) bad.push(`${id}:${n}`);
  }
  return bad;
}

/** Sum of the counts (to check nothing beyond the expected ids was written). */
export function total(counts: Map<string, number>): number {
  let n = 0;
  for (const v of counts.values()) n += v;
  return n;
}
