// The sink against a real nats-server and the real ClickHouse engine: every record lands once, whatever the
// duplicates (the same event id in several messages) and redeliveries (the consumer replayed from the start).
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import {
  STREAM_CUSTOMS,
  STREAM_DEADLETTERS,
  STREAM_DECISIONS,
  STREAM_EVENTS,
} from '../../core/nats/topology.js';
import { SINK_CONSUMER, startSink, type SinkHandle } from '../../sink/index.js';
import { Channel, ClearanceStatus } from '../../proto/gen/portstream/v1/customs.js';
import { DeclarationAction } from '../../proto/gen/portstream/v1/records.js';
import { discBatch } from '../../test-kit/events.js';
import { waitFor } from '../../test-kit/poll.js';
import {
  allAcked,
  countRows,
  publishCommand,
  publishDecision,
  publishEvents,
  SINK_CONFIG,
  startClickHouse,
  startNats,
  type ChFixture,
  type NatsFixture,
} from './sink-fixture.js';

describe('ClickHouse sink: exactly once in effect', () => {
  let n: NatsFixture;
  let f: ChFixture;
  let sink: SinkHandle;
  const start = (): Promise<SinkHandle> =>
    startSink({ nc: n.nc, ch: f.ch, config: SINK_CONFIG, log: silentLogger(), logIntervalMs: 0 });

  beforeAll(async () => {
    [n, f] = await Promise.all([startNats(), startClickHouse()]);
    sink = await start();
  });
  afterAll(async () => {
    await sink.stop();
    await n.cleanup();
    await f.cleanup();
  });

  it('writes each event id once across duplicate messages and a full replay of the stream', async () => {
    const events = discBatch('dup', 150);
    await publishEvents(n.js, events.slice(0, 100));
    await publishEvents(n.js, events.slice(50, 150)); // a client retry overlapping the first batch
    await publishEvents(n.js, events.slice(0, 100)); // the first batch again, as a new message
    await waitFor(() => allAcked(n.nc, STREAM_EVENTS, SINK_CONSUMER), { what: 'events acked' });
    expect(await countRows(f.ch, 'events')).toBe(150);
    const minute = await f.ch.query<{ n: number }>(
      `SELECT sum(events) AS n FROM ${f.ch.database}.events_per_minute`,
    );
    expect(minute).toEqual([{ n: 150 }]);

    // Every message delivered again, as after a crash between the INSERT and the acks.
    await sink.stop();
    const jsm = await jetstreamManager(n.nc);
    await jsm.consumers.delete(STREAM_EVENTS, SINK_CONSUMER);
    sink = await start();
    await waitFor(() => allAcked(n.nc, STREAM_EVENTS, SINK_CONSUMER), { what: 'replay acked' });
    expect(await countRows(f.ch, 'events')).toBe(150);
    expect(await f.ch.query(`SELECT sum(events) AS n FROM ${f.ch.database}.events_per_minute`)).toEqual([
      { n: 150 },
    ]);
    const skipped = await sink.metrics.duplicatesSkipped.get();
    expect(skipped.values.find((v) => v.labels.table === 'events')?.value).toBe(300);
  });

  it('writes declarations and decisions once, and their clearance rollup counts each decision once', async () => {
    const declaration = (n: string) => ({
      commandId: `cmd-${n}`,
      action: DeclarationAction.SUBMIT,
      receivedTime: new Date(),
      source: 'test',
      declaration: undefined,
      declarationNumber: n,
      reason: '',
      outcome: 0,
      inspector: '',
      unmanifestedBillNumbers: [],
      ledger: undefined,
    });
    const decision = (n: string, channel: Channel) => ({
      declarationNumber: n,
      revision: 1,
      channel,
      status: ClearanceStatus.CLEARED,
      rules: [],
      ruleSetVersion: 'v1',
      decidedTime: new Date(),
      decisionLatencyUs: 1500,
      position: 0,
      note: '',
      nextSteps: [],
      selectionSecretVersion: '',
    });
    await publishCommand(n.js, declaration('300000000001'));
    await publishCommand(n.js, declaration('300000000001'));
    await publishCommand(n.js, declaration('300000000002'));
    await publishDecision(n.js, decision('300000000001', Channel.GREEN));
    await publishDecision(n.js, decision('300000000001', Channel.GREEN));
    await publishDecision(n.js, decision('300000000002', Channel.RED));
    await waitFor(() => allAcked(n.nc, STREAM_CUSTOMS, SINK_CONSUMER), { what: 'commands acked' });
    await waitFor(() => allAcked(n.nc, STREAM_DECISIONS, SINK_CONSUMER), { what: 'decisions acked' });
    expect(await countRows(f.ch, 'declarations')).toBe(2);
    expect(await countRows(f.ch, 'decisions')).toBe(2);
    const hourly = await f.ch.query<{ decisions: number; green: number; red: number }>(
      `SELECT sum(decisions) AS decisions, sum(green) AS green, sum(red) AS red
       FROM ${f.ch.database}.clearance_hourly`,
    );
    expect(hourly).toEqual([{ decisions: 2, green: 1, red: 1 }]);
    // The position of a decision is its stream sequence when the payload carries none.
    const positions = await f.ch.query<{ position: number }>(
      `SELECT position FROM ${f.ch.database}.decisions ORDER BY position`,
    );
    expect(positions).toEqual([{ position: 1 }, { position: 3 }]);
    // What the API's /metrics will show.
    const exposition = await sink.metrics.registry.metrics();
    expect(exposition).toContain('portstream_sink_rows_inserted_total{table="decisions"} 2');
    expect(exposition).toContain('portstream_sink_duplicates_skipped_total{table="decisions"} 1');
    expect(exposition).toContain('portstream_sink_consumer_lag{stream="PS_DECISIONS"} 0');
  });

  it('dead-letters an undecodable message and goes on with the next', async () => {
    await n.js.publish('ps.customs.commands.999999999999', new Uint8Array([0xff, 0xff, 0xff]));
    await publishCommand(n.js, {
      commandId: 'cmd-after-poison',
      action: DeclarationAction.CANCEL,
      receivedTime: new Date(),
      source: 'test',
      declaration: undefined,
      declarationNumber: '300000000002',
      reason: 'withdrawn',
      outcome: 0,
      inspector: '',
      unmanifestedBillNumbers: [],
      ledger: undefined,
    });
    await waitFor(() => allAcked(n.nc, STREAM_CUSTOMS, SINK_CONSUMER), { what: 'commands acked' });
    expect(await countRows(f.ch, 'declarations', "command_id = 'cmd-after-poison'")).toBe(1);
    const dl = await (await jetstreamManager(n.nc)).streams.info(STREAM_DEADLETTERS);
    expect(dl.state.messages).toBe(1);
  });
  it('a re-created consumer inserts nothing twice, however old: the keys gone, the floor still holds', async () => {
    const tables = ['events', 'declarations', 'decisions'];
    const before = await Promise.all(tables.map((t) => countRows(f.ch, t)));
    const hourly = `SELECT sum(decisions) AS decisions FROM ${f.ch.database}.clearance_hourly`;
    const hourlyBefore = await f.ch.query(hourly);
    await sink.stop();
    // As if the 30 days of sink_keys had passed: PS_CUSTOMS and PS_DECISIONS keep a year.
    await f.ch.query(`TRUNCATE TABLE ${f.ch.database}.sink_keys`);
    const jsm = await jetstreamManager(n.nc);
    for (const stream of [STREAM_EVENTS, STREAM_CUSTOMS, STREAM_DECISIONS]) {
      await jsm.consumers.delete(stream, SINK_CONSUMER);
    }
    sink = await start();
    for (const stream of [STREAM_EVENTS, STREAM_CUSTOMS, STREAM_DECISIONS]) {
      await waitFor(() => allAcked(n.nc, stream, SINK_CONSUMER), { what: `${stream} replayed` });
    }
    expect(await Promise.all(tables.map((t) => countRows(f.ch, t)))).toEqual(before);
    expect(await f.ch.query(hourly)).toEqual(hourlyBefore);
    const inserted = await sink.metrics.rowsInserted.get();
    expect(inserted.values.reduce((a, v) => a + v.value, 0)).toBe(0);
  });
});
