// Read helpers for the customs dashboard: the hold queue (declarations whose latest decision holds the goods)
// and customs activity per bucket. Every value is a server-side query parameter; only the database name is
// interpolated.
//
// The queue comes from the `decisions` table: the latest decision per declaration (by decision time, then
// stream position), kept when it is a hold. It is bounded by a look-back (a declaration whose latest decision is
// older is not listed): monthly partitions let the read skip the rest, and a hold that old is a case for
// customs' own records, not a work list. The KV state has no index by status, so listing it would read every
// declaration over NATS.
import { invalidArgument } from '../errors.js';
import type { ClickHouse } from './client.js';
import type { TimeRange } from './queries.js';

/** The statuses that hold goods, and the channel that leads to each. */
export const HOLD_STATUSES = { YELLOW: 'DOCUMENT_CHECK', RED: 'PHYSICAL_INSPECTION' } as const;
export type HoldChannel = keyof typeof HOLD_STATUSES;

export interface HeldRow {
  declaration_number: string;
  revision: number;
  channel: string;
  status: string;
  rules: string[];
  /** ClickHouse DateTime64(6) text, UTC. */
  held_since: string;
}

export interface HoldQueueOptions {
  /** Earliest decision time considered, ClickHouse DateTime text (UTC). */
  since: string;
  channels: readonly HoldChannel[];
  limit: number;
  /** From a previous page's nextCursor. */
  cursor?: string;
}

interface QueueCursor {
  t: string;
  d: string;
}

function encodeQueueCursor(c: QueueCursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

function decodeQueueCursor(s: string): QueueCursor {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    v = undefined;
  }
  if (typeof v === 'object' && v !== null && 't' in v && 'd' in v) {
    const { t, d } = v;
    if (typeof t === 'string' && typeof d === 'string' && /^[\d :.-]{19,26}$/.test(t)) return { t, d };
  }
  throw invalidArgument('page_token', 'invalid page token');
}

/**
 * One page of the hold queue, oldest hold first (keyset on hold time, then declaration number). The inner
 * query is the latest decision of every declaration decided since {since}; both queue reads repeat it as literal
 * text (no SQL is assembled from parts).
 */
export async function holdQueue(
  ch: ClickHouse,
  o: HoldQueueOptions,
): Promise<{ items: HeldRow[]; nextCursor: string | undefined }> {
  const after = o.cursor === undefined ? { t: '1970-01-01 00:00:00', d: '' } : decodeQueueCursor(o.cursor);
  const items = await ch.query<HeldRow>(
    `SELECT declaration_number, last.1 AS revision, last.2 AS channel, last.3 AS status, last.4 AS rules,
            last.5 AS held_since
     FROM (SELECT declaration_number,
             argMax(tuple(revision, channel, status, rules, decided_time), tuple(decided_time, position)) AS last
           FROM ${ch.database}.decisions
           WHERE decided_time >= {since:DateTime64(6, 'UTC')}
           GROUP BY declaration_number)
     WHERE last.3 IN {statuses:Array(String)}
       AND (last.5, declaration_number) > ({t:DateTime64(6, 'UTC')}, {d:String})
     ORDER BY held_since, declaration_number
     LIMIT {limit:UInt32}`,
    {
      since: o.since,
      statuses: o.channels.map((c) => HOLD_STATUSES[c]),
      t: after.t,
      d: after.d,
      limit: o.limit + 1,
    },
  );
  const more = items.length > o.limit;
  const page = more ? items.slice(0, o.limit) : items;
  const last = page.at(-1);
  return {
    items: page,
    nextCursor:
      more && last ? encodeQueueCursor({ t: last.held_since, d: last.declaration_number }) : undefined,
  };
}

/** How many declarations the queue holds, per hold status. */
export async function holdQueueTotals(
  ch: ClickHouse,
  since: string,
): Promise<Partial<Record<string, number>>> {
  const rows = await ch.query<{ status: string; n: number | string }>(
    `SELECT last.3 AS status, count() AS n
     FROM (SELECT declaration_number,
             argMax(tuple(revision, channel, status, rules, decided_time), tuple(decided_time, position)) AS last
           FROM ${ch.database}.decisions
           WHERE decided_time >= {since:DateTime64(6, 'UTC')}
           GROUP BY declaration_number)
     WHERE last.3 IN {statuses:Array(String)}
     GROUP BY status`,
    { since, statuses: Object.values(HOLD_STATUSES) },
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

export interface CustomsActivityRow {
  bucket: string;
  green: number;
  yellow: number;
  red: number;
  document_checks_passed: number;
  document_checks_failed: number;
  inspections_passed: number;
  inspections_failed: number;
  cancelled: number;
}

/** Decisions per bucket (a multiple of an hour) from the hourly rollup (migration 0008). */
export function customsActivity(ch: ClickHouse, r: TimeRange): Promise<CustomsActivityRow[]> {
  return ch.query<CustomsActivityRow>(
    `SELECT toStartOfInterval(hour, toIntervalSecond({bucket:UInt32})) AS bucket,
            sumIf(decisions, kind = 'ASSESSMENT' AND channel = 'GREEN') AS green,
            sumIf(decisions, kind = 'ASSESSMENT' AND channel = 'YELLOW') AS yellow,
            sumIf(decisions, kind = 'ASSESSMENT' AND channel = 'RED') AS red,
            sumIf(decisions, kind = 'OUTCOME' AND channel = 'YELLOW' AND status = 'CLEARED') AS document_checks_passed,
            sumIf(decisions, kind = 'OUTCOME' AND channel = 'YELLOW' AND status = 'REFUSED') AS document_checks_failed,
            sumIf(decisions, kind = 'OUTCOME' AND channel = 'RED' AND status = 'CLEARED') AS inspections_passed,
            sumIf(decisions, kind = 'OUTCOME' AND channel = 'RED' AND status = 'REFUSED') AS inspections_failed,
            sumIf(decisions, kind = 'CANCELLATION') AS cancelled
     FROM ${ch.database}.decisions_hourly
     WHERE hour >= {from:DateTime('UTC')} AND hour < {to:DateTime('UTC')}
     GROUP BY bucket ORDER BY bucket`,
    { bucket: Math.max(3600, r.bucketSeconds), from: r.from, to: r.to },
  );
}
