// The sink's time text (sink/rows.ts chTime) read back by the real engine as the same instant, on both sides of
// the boundary where it switches between Unix seconds and calendar text, into DateTime64(3) and DateTime64(6),
// through the sink's own INSERT path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chTime } from '../../sink/rows.js';
import { startClickHouse, type ChFixture } from './sink-fixture.js';

const TIMES = [
  undefined,
  new Date('1999-12-31T23:59:59.999Z'),
  new Date('2001-09-09T01:46:39.999Z'),
  new Date('2001-09-09T01:46:40.000Z'),
  new Date('2026-11-27T03:04:05.008Z'),
  new Date('2026-11-27T03:04:05.070Z'),
  new Date('2026-11-27T03:04:05.678Z'),
  new Date('2026-11-27T03:04:05.000Z'),
  new Date('2099-01-01T00:00:00.001Z'),
];

describe('sink time text', () => {
  let f: ChFixture;
  beforeAll(async () => {
    f = await startClickHouse();
  });
  afterAll(async () => {
    await f.cleanup();
  });

  it('is read by ClickHouse as the instant it was made from', async () => {
    // A table without TTL: the project's tables drop rows older than their retention as they are inserted.
    await f.ch.command(
      `CREATE TABLE ${f.ch.database}.times (i UInt32, t3 DateTime64(3, 'UTC'), t6 DateTime64(6, 'UTC'))
       ENGINE = MergeTree ORDER BY i`,
    );
    await f.ch.insert(
      'times',
      TIMES.map((t, i) => ({ i, t3: chTime(t), t6: chTime(t) })),
      'times',
    );
    const read = await f.ch.query<{ t3: number; t6: number }>(
      `SELECT toUnixTimestamp64Milli(t3) AS t3, toUnixTimestamp64Milli(t6) AS t6
       FROM ${f.ch.database}.times ORDER BY i`,
    );
    const want = TIMES.map((t) => t?.getTime() ?? 0);
    expect(read.map((r) => r.t3)).toEqual(want);
    expect(read.map((r) => r.t6)).toEqual(want);
  });

  it('fills the events and decisions tables with the same instants', async () => {
    const recent = [new Date('2026-11-27T03:04:05.008Z'), new Date(Date.now() - 3600_000)];
    await f.ch.insert(
      'decisions',
      recent.map((t, i) => ({
        declaration_number: `T${i}`,
        revision: 1,
        channel: 'GREEN',
        status: 'CLEARED',
        rules: [],
        rule_set_version: 'v1',
        decided_time: chTime(t),
        decision_latency_us: 1,
        position: i + 1,
        note: '',
      })),
      'decisions',
    );
    await f.ch.insert(
      'events',
      recent.map((t, i) => ({
        event_id: `e${i}`,
        event_time: chTime(t),
        received_time: chTime(t),
        classifier: 'ACTUAL',
        un_locode: 'VNHPH',
        terminal_code: 'HICT',
        source: 'test',
        dedupe_source: 'test',
        stream_seq: i + 1,
        kind: 'transport',
        event_type: 'ARRI',
        imo_number: '9811000',
        vessel_name: '',
        voyage: '',
        transport_location: '',
        berth: '',
        manifest_container_numbers: [],
      })),
      'events',
    );
    const decided = await f.ch.query<{ ms: number }>(
      `SELECT toUnixTimestamp64Milli(decided_time) AS ms FROM ${f.ch.database}.decisions ORDER BY declaration_number`,
    );
    const happened = await f.ch.query<{ ms: number; received: number }>(
      `SELECT toUnixTimestamp64Milli(event_time) AS ms, toUnixTimestamp64Milli(received_time) AS received
       FROM ${f.ch.database}.events ORDER BY event_id`,
    );
    const want = recent.map((t) => t.getTime());
    expect(decided.map((r) => r.ms)).toEqual(want);
    expect(happened.map((r) => r.ms)).toEqual(want);
    expect(happened.map((r) => r.received)).toEqual(want);
  });
});
