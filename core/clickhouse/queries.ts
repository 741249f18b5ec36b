// Read helpers the API serves from: the container history page, throughput and clearance metrics per bucket,
// moves per vessel visit. Every value is a server-side query parameter; only the database name (validated at
// start-up) is interpolated.
import { invalidArgument } from '../errors.js';
import type { ClickHouse } from './client.js';

/** One row of `events` as history returns it: every column an accepted event fills. */
export interface HistoryEvent {
  event_id: string;
  event_time: string;
  classifier: string;
  un_locode: string;
  terminal_code: string;
  kind: string;
  event_type: string;
  container_number: string;
  iso_size_type: string;
  empty_indicator: string;
  seals: string[];
  seal_sources: string[];
  imo_number: string;
  vessel_name: string;
  voyage: string;
  yard_block: string;
  yard_bay: number;
  yard_row: number;
  yard_tier: number;
  truck_plate: string;
  transport_location: string;
  berth: string;
  manifest_container_numbers: string[];
}

export interface Page<T> {
  items: T[];
  /** Pass back to get the next page; undefined on the last one. */
  nextCursor: string | undefined;
}

interface Cursor {
  t: string;
  id: string;
  /** dedupe_source: two sources may use the same event id at the same time. */
  s: string;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

/** A cursor we did not issue is rejected rather than silently restarting from the beginning. */
export function decodeCursor(cursor: string): Cursor {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    v = undefined;
  }
  if (typeof v === 'object' && v !== null && 't' in v && 'id' in v) {
    const { t, id } = v;
    const s = 's' in v ? v.s : '';
    if (typeof t === 'string' && typeof id === 'string' && typeof s === 'string') return { t, id, s };
  }
  throw invalidArgument('cursor', 'invalid cursor');
}

export interface HistoryOptions {
  cursor?: string;
  limit?: number;
  /**
   * Only events at these facilities, as "<UN/LOCODE>:<terminal>" or "<UN/LOCODE>:*" (an operator's own
   * terminals); unset: every event.
   */
  facilities?: readonly string[];
}

/**
 * One page of a container's history in time order: its equipment events, and the transport events whose
 * manifest lists it (the vessel call that brought it). Keyset pagination on (event_time, event_id,
 * dedupe_source), the table's own sort order after the container, so each page is a range read however deep;
 * the transport branch reads the (empty) container key range, narrowed by the manifest bloom filter. FINAL:
 * exact under the (rare) duplicate that slipped past the sink. A facility filter applies before the limit, so
 * every page but the last is full.
 */
export async function containerHistory(
  ch: ClickHouse,
  containerNumber: string,
  opts: HistoryOptions = {},
): Promise<Page<HistoryEvent & { dedupe_source: string }>> {
  const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1000);
  const after =
    opts.cursor === undefined ? { t: '1970-01-01 00:00:00.000', id: '', s: '' } : decodeCursor(opts.cursor);
  const facilities = opts.facilities;
  // One literal text (no SQL is assembled from parts); both branches read the same columns.
  const items = await ch.query<HistoryEvent & { dedupe_source: string }>(
    `SELECT * FROM (
       (SELECT event_id, event_time, classifier, un_locode, terminal_code, kind, event_type, container_number,
              iso_size_type, empty_indicator, seals, seal_sources, imo_number, vessel_name, voyage, yard_block,
              yard_bay, yard_row, yard_tier, truck_plate, transport_location, berth, manifest_container_numbers,
              dedupe_source
        FROM ${ch.database}.events FINAL
        WHERE container_number = {container:String}
          AND (event_time, event_id, dedupe_source) > ({t:DateTime64(3, 'UTC')}, {id:String}, {s:String})
          AND ({all:Bool} OR concat(un_locode, ':', terminal_code) IN {facilities:Array(String)}
               OR concat(un_locode, ':*') IN {facilities:Array(String)})
        ORDER BY event_time, event_id, dedupe_source
        LIMIT {limit:UInt32})
       UNION ALL
       (SELECT event_id, event_time, classifier, un_locode, terminal_code, kind, event_type, container_number,
              iso_size_type, empty_indicator, seals, seal_sources, imo_number, vessel_name, voyage, yard_block,
              yard_bay, yard_row, yard_tier, truck_plate, transport_location, berth, manifest_container_numbers,
              dedupe_source
        FROM ${ch.database}.events FINAL
        WHERE container_number = '' AND kind = 'transport' AND has(manifest_container_numbers, {container:String})
          AND (event_time, event_id, dedupe_source) > ({t:DateTime64(3, 'UTC')}, {id:String}, {s:String})
          AND ({all:Bool} OR concat(un_locode, ':', terminal_code) IN {facilities:Array(String)}
               OR concat(un_locode, ':*') IN {facilities:Array(String)})
        ORDER BY event_time, event_id, dedupe_source
        LIMIT {limit:UInt32})
     )
     ORDER BY event_time, event_id, dedupe_source
     LIMIT {limit:UInt32}`,
    {
      container: containerNumber,
      t: after.t,
      id: after.id,
      s: after.s,
      limit: limit + 1,
      all: facilities === undefined,
      facilities: [...(facilities ?? [])],
    },
  );
  const more = items.length > limit;
  const page = more ? items.slice(0, limit) : items;
  const last = page.at(-1);
  return {
    items: page,
    nextCursor:
      more && last
        ? encodeCursor({ t: last.event_time, id: last.event_id, s: last.dedupe_source })
        : undefined,
  };
}

export interface TimeRange {
  /** ClickHouse DateTime text in UTC, e.g. "2026-01-10 08:00:00". */
  from: string;
  to: string;
  bucketSeconds: number;
}

export interface ThroughputRow {
  bucket: string;
  un_locode: string;
  terminal_code: string;
  kind: string;
  events: number;
}

/**
 * Events per bucket (a multiple of a minute), terminal and kind, from a per-minute rollup: by event time
 * (ACTUAL events only) or by the time the gateway received them (every event).
 */
export function throughput(
  ch: ClickHouse,
  r: TimeRange,
  by: 'event' | 'received' = 'event',
): Promise<ThroughputRow[]> {
  const params = { bucket: Math.max(60, r.bucketSeconds), from: r.from, to: r.to };
  // Two literal texts rather than one with the table name filled in: no SQL is assembled from parts.
  if (by === 'received') {
    return ch.query<ThroughputRow>(
      `SELECT toStartOfInterval(minute, toIntervalSecond({bucket:UInt32})) AS bucket, un_locode, terminal_code,
              kind, sum(events) AS events
       FROM ${ch.database}.events_received_per_minute
       WHERE minute >= {from:DateTime('UTC')} AND minute < {to:DateTime('UTC')}
       GROUP BY bucket, un_locode, terminal_code, kind
       ORDER BY bucket, un_locode, terminal_code, kind`,
      params,
    );
  }
  return ch.query<ThroughputRow>(
    `SELECT toStartOfInterval(minute, toIntervalSecond({bucket:UInt32})) AS bucket, un_locode, terminal_code, kind,
            sum(events) AS events
     FROM ${ch.database}.events_per_minute
     WHERE minute >= {from:DateTime('UTC')} AND minute < {to:DateTime('UTC')}
     GROUP BY bucket, un_locode, terminal_code, kind
     ORDER BY bucket, un_locode, terminal_code, kind`,
    params,
  );
}

export interface ClearanceRow {
  bucket: string;
  decisions: number;
  green: number;
  yellow: number;
  red: number;
  /** Decision latency p50, p90, p99 in microseconds. */
  latency_us: [number, number, number];
}

/** Clearance decisions per bucket (a multiple of an hour): channel counts and latency quantiles. */
export function clearanceMetrics(ch: ClickHouse, r: TimeRange): Promise<ClearanceRow[]> {
  return ch.query<ClearanceRow>(
    `SELECT toStartOfInterval(hour, toIntervalSecond({bucket:UInt32})) AS bucket,
            sum(decisions) AS decisions, sum(green) AS green, sum(yellow) AS yellow, sum(red) AS red,
            quantilesMerge(0.5, 0.9, 0.99)(latency_us) AS latency_us
     FROM ${ch.database}.clearance_hourly
     WHERE hour >= {from:DateTime('UTC')} AND hour < {to:DateTime('UTC')}
     GROUP BY bucket ORDER BY bucket`,
    { bucket: Math.max(3600, r.bucketSeconds), from: r.from, to: r.to },
  );
}

export interface VisitMoves {
  day: string;
  moves: number;
  loads: number;
  discharges: number;
  teu: number;
}

/** Quay moves and TEU of one vessel visit, per day. */
export function vesselVisitMoves(ch: ClickHouse, imoNumber: string, voyage: string): Promise<VisitMoves[]> {
  return ch.query<VisitMoves>(
    `SELECT day, sum(moves) AS moves, sum(loads) AS loads, sum(discharges) AS discharges, sum(teu) AS teu
     FROM ${ch.database}.vessel_moves_daily
     WHERE imo_number = {imo:String} AND voyage = {voyage:String}
     GROUP BY day ORDER BY day`,
    { imo: imoNumber, voyage },
  );
}
