// Each rollup answers a known input correctly, on the real ClickHouse engine, and a second copy of every
// record (in the same batch, and written again as after a lost ack) changes no rollup.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clearanceMetrics,
  containerHistory,
  throughput,
  vesselVisitMoves,
} from '../../core/clickhouse/queries.js';
import { Channel, ClearanceStatus, type Decision } from '../../proto/gen/portstream/v1/customs.js';
import { EquipmentEventType, EventClassifier, type Event } from '../../proto/gen/portstream/v1/events.js';
import { decisionRow, eventRow, MAPPINGS } from '../../sink/rows.js';
import { writeBatch } from '../../sink/writer.js';
import { arrivalEvent, containerNumber, equipmentEvent } from '../../test-kit/events.js';
import { countRows, startClickHouse, type ChFixture } from './sink-fixture.js';

const T0 = Date.parse('2026-01-10T08:00:30Z');
const at = (s: number): Date => new Date(T0 + s * 1000);

function equipment(id: string, serial: number, type: EquipmentEventType, s: number, iso = '45G1'): Event {
  const e = equipmentEvent(id, serial, { eventTime: at(s) });
  if (e.payload?.$case === 'equipment') {
    e.payload.value.type = type;
    e.payload.value.isoSizeType = iso;
  }
  return e;
}

const EVENTS: Event[] = [
  { ...arrivalEvent('arri-1'), eventTime: at(-90) }, // 07:59
  equipment('e1', 1, EquipmentEventType.DISC, 0, 'L5G1'), // container 1 into the yard, 45 ft: 2.25 TEU
  equipment('e2', 2, EquipmentEventType.DISC, 10, '22G1'), // 1 TEU
  equipment('e3', 3, EquipmentEventType.LOAD, 35, '45G1'), // 08:01, 40 ft high cube: 2 TEU
  equipment('e4', 1, EquipmentEventType.GTOT, 40), // container 1 leaves after 40 s
  { ...equipment('e5', 4, EquipmentEventType.LOAD, 90), classifier: EventClassifier.PLANNED },
  equipment('e6', 1, EquipmentEventType.GTIN, 3570), // container 1 back at 09:00:00
  equipment('e7', 1, EquipmentEventType.GTOT, 5370), // and out at 09:30:00
];

function decision(n: string, channel: Channel, latencyUs: number, note = ''): Decision {
  return {
    declarationNumber: n,
    revision: 1,
    channel,
    status: note === '' ? ClearanceStatus.CLEARED : ClearanceStatus.REFUSED,
    rules: [],
    ruleSetVersion: 'v1',
    decidedTime: at(60),
    decisionLatencyUs: latencyUs,
    position: 0,
    note,
    nextSteps: [],
    selectionSecretVersion: '',
  };
}

const DECISIONS: Decision[] = [
  decision('100000000001', Channel.GREEN, 100),
  decision('100000000002', Channel.YELLOW, 200),
  decision('100000000003', Channel.RED, 300),
  decision('100000000004', Channel.GREEN, 400),
  decision('100000000003', Channel.RED, 9_000_000, 'inspection failed'),
];

describe('ClickHouse rollups', () => {
  let f: ChFixture;
  const eventsMapping = MAPPINGS.find((m) => m.table === 'events');
  const decisionsMapping = MAPPINGS.find((m) => m.table === 'decisions');

  beforeAll(async () => {
    f = await startClickHouse();
    if (!eventsMapping || !decisionsMapping) throw new Error('mappings missing');
    const rows = EVENTS.map((e, i) => eventRow(e, new Date(), 'test', i + 1));
    const decisionRows = DECISIONS.map((d, i) => decisionRow(d, i + 1));
    // Every record twice in the batch, then the whole batch again (as after a crash before the acks).
    expect(await writeBatch(f.ch, eventsMapping, [...rows, ...rows])).toEqual({ inserted: 8, skipped: 8 });
    expect(await writeBatch(f.ch, eventsMapping, rows)).toEqual({ inserted: 0, skipped: 8 });
    expect(await writeBatch(f.ch, decisionsMapping, [...decisionRows, ...decisionRows])).toEqual({
      inserted: 5,
      skipped: 5,
    });
    expect(await writeBatch(f.ch, decisionsMapping, decisionRows)).toEqual({ inserted: 0, skipped: 5 });
  });
  afterAll(async () => {
    await f.cleanup();
  });

  it('keeps one row per event and decision', async () => {
    const [r] = await f.ch.query<{ n: string; ids: string }>(
      `SELECT count() AS n, uniqExact(event_id) AS ids FROM ${f.ch.database}.events`,
    );
    expect(r).toEqual({ n: 8, ids: 8 });
    expect(await countRows(f.ch, 'decisions')).toBe(5);
    // Decisions are found in their own table (migration 0009): sink_keys holds only the events' keys.
    const kinds = await f.ch.query<{ kind: string; n: string }>(
      `SELECT kind, count() AS n FROM ${f.ch.database}.sink_keys GROUP BY kind ORDER BY kind`,
    );
    expect(kinds.map((k) => [k.kind, Number(k.n)])).toEqual([['event', 8]]);
  });

  it('counts actual events per minute, terminal and kind', async () => {
    const rows = await f.ch.query<{ minute: string; kind: string; event_type: string; events: string }>(
      `SELECT minute, kind, event_type, sum(events) AS events FROM ${f.ch.database}.events_per_minute
       GROUP BY minute, kind, event_type ORDER BY minute, event_type`,
    );
    expect(rows).toEqual([
      { minute: '2026-01-10 07:59:00', kind: 'transport', event_type: 'ARRI', events: 1 },
      { minute: '2026-01-10 08:00:00', kind: 'equipment', event_type: 'DISC', events: 2 },
      { minute: '2026-01-10 08:01:00', kind: 'equipment', event_type: 'GTOT', events: 1 },
      { minute: '2026-01-10 08:01:00', kind: 'equipment', event_type: 'LOAD', events: 1 },
      { minute: '2026-01-10 09:00:00', kind: 'equipment', event_type: 'GTIN', events: 1 },
      { minute: '2026-01-10 09:30:00', kind: 'equipment', event_type: 'GTOT', events: 1 },
    ]);
  });

  it('counts moves and TEU per vessel visit and day', async () => {
    const rows = await f.ch.query<Record<string, unknown>>(
      `SELECT imo_number, voyage, day, sum(moves) AS moves, sum(loads) AS loads, sum(discharges) AS discharges,
              sum(teu) AS teu
       FROM ${f.ch.database}.vessel_moves_daily GROUP BY imo_number, voyage, day`,
    );
    expect(rows).toEqual([
      {
        imo_number: '9811000',
        voyage: '1234W',
        day: '2026-01-10',
        moves: 3,
        loads: 1,
        discharges: 2,
        teu: 5.25,
      },
    ]);
  });

  it('gives clearance latency quantiles and channel shares per hour', async () => {
    const rows = await f.ch.query<Record<string, unknown>>(
      `SELECT hour, sum(decisions) AS decisions, sum(green) AS green, sum(yellow) AS yellow, sum(red) AS red,
              quantilesMerge(0.5, 0.9, 0.99)(latency_us) AS q
       FROM ${f.ch.database}.clearance_hourly GROUP BY hour`,
    );
    // Four risk assessments (the inspection outcome is not one); quantiles interpolate between samples.
    const { q, ...counts } = rows[0] ?? {};
    expect(rows).toHaveLength(1);
    expect(counts).toEqual({ hour: '2026-01-10 08:00:00', decisions: 4, green: 2, yellow: 1, red: 1 });
    expect(q).toEqual([250, 370, expect.closeTo(397, 6)]);
  });

  it('pairs each yard exit with the entry before it for dwell time', async () => {
    const rows = await f.ch.query<Record<string, unknown>>(
      `SELECT container_number, in_time, out_time, dwell_seconds FROM ${f.ch.database}.yard_dwell
       ORDER BY out_time`,
    );
    expect(rows).toEqual([
      {
        container_number: containerNumber('MSC', 1),
        in_time: '2026-01-10 08:00:30.000',
        out_time: '2026-01-10 08:01:10.000',
        dwell_seconds: 40,
      },
      {
        container_number: containerNumber('MSC', 1),
        in_time: '2026-01-10 09:00:00.000',
        out_time: '2026-01-10 09:30:00.000',
        dwell_seconds: 1800,
      },
    ]);
  });

  it('drops an INSERT repeated with the same token (answer lost) from the table and every rollup', async () => {
    const late = eventRow(
      {
        ...equipment('retry-1', 9, EquipmentEventType.DISC, 86_400),
        facility: { unLocode: 'VNHPH', terminalCode: 'TCIT' },
      },
      new Date(),
      'test',
      99,
    );
    // Straight to the insert, past the key lookup: what a retry after a timed-out INSERT does.
    await f.ch.insert('events', [late.row], 'events:retry-1');
    await f.ch.insert('events', [late.row], 'events:retry-1');
    const [r] = await f.ch.query<{ log: number; minute: number; moves: number }>(
      `SELECT
         (SELECT count() FROM ${f.ch.database}.events WHERE event_id = 'retry-1') AS log,
         (SELECT sum(events) FROM ${f.ch.database}.events_per_minute WHERE terminal_code = 'TCIT') AS minute,
         (SELECT sum(moves) FROM ${f.ch.database}.vessel_moves_daily WHERE terminal_code = 'TCIT') AS moves`,
    );
    expect(r).toEqual({ log: 1, minute: 1, moves: 1 });
  });

  it('serve the API: a container history in pages, throughput and clearance per bucket, visit moves', async () => {
    const container = containerNumber('MSC', 1);
    const first = await containerHistory(f.ch, container, { limit: 3 });
    expect(first.items.map((e) => e.event_id)).toEqual(['e1', 'e4', 'e6']);
    expect(first.nextCursor).toBeDefined();
    const second = await containerHistory(f.ch, container, {
      limit: 3,
      ...(first.nextCursor ? { cursor: first.nextCursor } : {}),
    });
    expect(second.items.map((e) => e.event_id)).toEqual(['e7']);
    expect(second.nextCursor).toBeUndefined();
    await expect(containerHistory(f.ch, container, { cursor: 'bm9wZQ' })).rejects.toThrow('invalid cursor');

    const range = { from: '2026-01-10 07:00:00', to: '2026-01-10 10:00:00', bucketSeconds: 3600 };
    const hourly = await throughput(f.ch, range);
    expect(hourly.map((r) => [r.bucket, r.kind, r.events])).toEqual([
      ['2026-01-10 07:00:00', 'transport', 1],
      ['2026-01-10 08:00:00', 'equipment', 4],
      ['2026-01-10 09:00:00', 'equipment', 2],
    ]);
    const clearance = await clearanceMetrics(f.ch, range);
    expect(clearance.map((r) => [r.bucket, r.decisions, r.green, r.yellow, r.red, r.latency_us[0]])).toEqual([
      ['2026-01-10 08:00:00', 4, 2, 1, 1, 250],
    ]);
    // (The retry test above adds a discharge at another terminal on the 11th to the same visit.)
    expect(await vesselVisitMoves(f.ch, '9811000', '1234W')).toContainEqual({
      day: '2026-01-10',
      moves: 3,
      loads: 1,
      discharges: 2,
      teu: 5.25,
    });
  });
});
