// Read helper for the operator dashboard's yard dwell chart: stays that ended per bucket and terminal, with
// dwell quantiles, from the yard_dwell view (migration 0002). Only containers moved since the window's start can
// have a stay ending in it, so the view is narrowed to those first (a key-column filter it pushes down) rather
// than pairing every stay the port has kept.
import type { ClickHouse } from './client.js';
import type { TimeRange } from './queries.js';

export interface YardDwellRow {
  bucket: string;
  terminal_code: string;
  stays: number;
  /** p50, p90 in seconds. */
  dwell: [number, number];
  dwell_max: number;
}

export function yardDwell(ch: ClickHouse, r: TimeRange): Promise<YardDwellRow[]> {
  return ch.query<YardDwellRow>(
    `SELECT toStartOfInterval(out_time, toIntervalSecond({bucket:UInt32})) AS bucket, terminal_code,
            count() AS stays, quantiles(0.5, 0.9)(dwell_seconds) AS dwell, max(dwell_seconds) AS dwell_max
     FROM ${ch.database}.yard_dwell
     WHERE container_number IN (
             SELECT container_number FROM ${ch.database}.yard_stays WHERE last_move >= {from:DateTime('UTC')})
       AND out_time >= {from:DateTime('UTC')} AND out_time < {to:DateTime('UTC')}
     GROUP BY bucket, terminal_code
     ORDER BY bucket, terminal_code`,
    { bucket: Math.max(3600, r.bucketSeconds), from: r.from, to: r.to },
  );
}
