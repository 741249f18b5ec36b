// ClickHouse away for a while, then back: nothing is acked while it is away, and afterwards every row is
// there exactly once. Two ways it goes away: the sink is not running, and the sink's ClickHouse server
// (the HTTP path) refuses connections.
import { createServer } from 'node:net';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { silentLogger } from '../../core/logger.js';
import { STREAM_EVENTS } from '../../core/nats/topology.js';
import { SINK_CONSUMER, startSink } from '../../processor/sink/index.js';
import { discBatch } from '../helpers/events.js';
import { waitFor } from '../helpers/poll.js';
import {
  allAcked,
  countRows,
  publishEvents,
  SINK_CONFIG,
  startClickHouse,
  startNats,
  type ChFixture,
  type NatsFixture,
} from './sink-fixture.js';

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

describe('ClickHouse sink: ClickHouse unavailable, then back', () => {
  let n: NatsFixture;
  let f: ChFixture;
  const opts = { config: SINK_CONFIG, log: silentLogger(), logIntervalMs: 0 };

  beforeAll(async () => {
    [n, f] = await Promise.all([startNats(), startClickHouse()]);
  });
  afterAll(async () => {
    await n.cleanup();
    await f.cleanup();
  });

  it('catches up after the sink was stopped, writing each event once', async () => {
    const events = discBatch('stopped', 300);
    let sink = await startSink({ nc: n.nc, ch: f.ch, ...opts });
    await publishEvents(n.js, events.slice(0, 100));
    await waitFor(() => allAcked(n.nc, STREAM_EVENTS, SINK_CONSUMER), { what: 'first part acked' });
    await sink.stop();

    // While no sink runs, publishing goes on at full speed; one message repeats ids already written.
    await publishEvents(n.js, events.slice(50, 200));
    await publishEvents(n.js, events.slice(200, 300));
    expect(await countRows(f.ch, 'events')).toBe(100);

    sink = await startSink({ nc: n.nc, ch: f.ch, ...opts });
    await waitFor(() => allAcked(n.nc, STREAM_EVENTS, SINK_CONSUMER), { what: 'backlog acked' });
    await sink.stop();
    expect(await countRows(f.ch, 'events', "startsWith(event_id, 'stopped-')")).toBe(300);
    expect(await countRows(f.ch, 'sink_keys', "kind = 'event'")).toBe(300);
  });

  it('holds the messages unacked while its ClickHouse server refuses connections, and loses none', async () => {
    const down = createClickHouse(
      { ...f.chConfig, CLICKHOUSE_URL: `http://127.0.0.1:${await closedPort()}` },
      silentLogger(),
    );
    // The schema is in place (migrations ran against it before it went away); the sink starts anyway.
    const sink = await startSink({ nc: n.nc, ch: down, ...opts, migrate: false });
    const events = discBatch('outage', 200);
    await publishEvents(n.js, events.slice(0, 120));
    await publishEvents(n.js, events.slice(80, 200));
    await waitFor(
      async () =>
        ((await sink.metrics.insertErrors.get()).values.find((v) => v.labels.table === 'events')?.value ??
          0) >= 3,
      { what: 'insert retries' },
    );
    const jsm = await jetstreamManager(n.nc);
    expect((await jsm.consumers.info(STREAM_EVENTS, SINK_CONSUMER)).num_ack_pending).toBe(2);
    // Stopping while ClickHouse is away leaves the batch unacked (redelivered after ack_wait), never acked.
    await sink.stop(300);
    await down.close();
    expect(await allAcked(n.nc, STREAM_EVENTS, SINK_CONSUMER)).toBe(false);

    const back = await startSink({ nc: n.nc, ch: f.ch, ...opts });
    await waitFor(() => allAcked(n.nc, STREAM_EVENTS, SINK_CONSUMER), { what: 'acked after outage' });
    await back.stop();
    expect(await countRows(f.ch, 'events', "startsWith(event_id, 'outage-')")).toBe(200);
    const perMinute = await f.ch.query<{ n: number }>(
      `SELECT sum(events) AS n FROM ${f.ch.database}.events_per_minute`,
    );
    expect(perMinute).toEqual([{ n: 500 }]);
  });
});
