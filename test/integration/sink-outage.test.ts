// ClickHouse away for a while, then back: nothing is acked while it is away, and afterwards every row is
// there exactly once. Three ways it goes away: the sink is not running; the sink's ClickHouse server (the HTTP
// path) refuses connections; and, with the whole system under load, the ClickHouse server is gone for 30 s
// (test/helpers/clickhouse-http.ts: the real engine behind the HTTP interface, stopped and started again)
// while clearance must go on.
import { createServer } from 'node:net';
import { jetstreamManager } from '@nats-io/jetstream';
import { setTimeout as delay } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse, embeddedPath } from '../../core/clickhouse/client.js';
import { loadConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { STREAM_CUSTOMS, STREAM_DECISIONS, STREAM_EVENTS } from '../../core/nats/topology.js';
import { startIngest } from '../../ingest/main.js';
import { startProcessor } from '../../processor/main.js';
import { SINK_CONSUMER, startSink, type SinkHandle } from '../../sink/index.js';
import { CustomsServiceClient } from '../../proto/gen/portstream/v1/customs.js';
import { IngestServiceClient } from '../../proto/gen/portstream/v1/ingest.js';
import { clientAs, testAuth, TOKENS } from '../../test-kit/auth.js';
import { startClickHouseHttp } from '../helpers/clickhouse-http.js';
import { numberSequence, sampleDeclaration } from '../helpers/declarations.js';
import { discBatch } from '../../test-kit/events.js';
import { latencySummary, streamEventsAtPace, submitAtPace } from '../helpers/grpc-load.js';
import { waitFor } from '../../test-kit/poll.js';
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

  it('ClickHouse server gone for 30 s under load: clearance goes on, nothing acked meanwhile, every row once after', async () => {
    const OUTAGE_MS = 30_000;
    const server = await startClickHouseHttp({ dir: embeddedPath(f.dir) });
    const httpCh = createClickHouse({ ...f.chConfig, CLICKHOUSE_URL: server.url }, silentLogger());
    const config = loadConfig({ INGEST_PORT: '0', SHUTDOWN_TIMEOUT_MS: '5000' });
    const ingest = await startIngest({
      config,
      log: silentLogger(),
      nc: n.nc,
      registry: new Registry(),
      auth: testAuth,
    });
    const processor = await startProcessor({ config, log: silentLogger(), nc: n.nc });
    const consumer = 'sink-under-load';
    // Production ack_wait (5 s, far shorter than the outage): what the sink holds is kept with working().
    const sinkConfig = {
      ...SINK_CONFIG,
      SINK_FLUSH_INTERVAL_MS: 250,
      SINK_RETRY_MAX_MS: 1000,
      SINK_ACK_WAIT_MS: loadConfig({}).SINK_ACK_WAIT_MS,
    };
    let sink: SinkHandle | undefined = await startSink({
      nc: n.nc,
      ch: httpCh,
      ...opts,
      config: sinkConfig,
      consumerName: consumer,
    });
    const sinkMetrics = sink.metrics;
    const ingestClient = clientAs(IngestServiceClient, ingest.address, TOKENS.operator);
    const customsClient = clientAs(CustomsServiceClient, ingest.address, TOKENS.customs);
    const jsm = await jetstreamManager(n.nc);
    const streams = [STREAM_EVENTS, STREAM_CUSTOMS, STREAM_DECISIONS];
    const tables = ['events', 'declarations', 'decisions'];
    const metric = async (m: 'inserts' | 'insertErrors', table: string): Promise<number> =>
      (await sinkMetrics[m].get()).values.find((v) => v.labels.table === table)?.value ?? 0;
    const ackFloors = async (): Promise<number[]> => {
      await n.nc.flush();
      return Promise.all(
        streams.map(async (s) => (await jsm.consumers.info(s, consumer)).ack_floor.stream_seq),
      );
    };
    const ours = "startsWith(event_id, 'ol')";
    let load: { stop(): Promise<void> }[] = [];
    try {
      let phase = 'before';
      const nextNumber = numberSequence(108700000000);
      const kinds = ['green', 'yellow', 'red'] as const;
      let k = 0;
      const decls = submitAtPace(
        customsClient,
        () => sampleDeclaration(kinds[k++ % 3] ?? 'green', nextNumber()),
        {
          intervalMs: 200,
          phase: () => phase,
        },
      );
      const events = streamEventsAtPace(ingestClient, 'ol', {
        batchEvents: 50,
        intervalMs: 200,
        serialBase: 200_000,
      });
      load.push(events);

      // Up: rows arrive.
      await waitFor(
        async () =>
          (await countRows(f.ch, 'events', ours)) >= 200 && (await countRows(f.ch, 'decisions')) >= 5,
        {
          timeoutMs: 20_000,
          what: 'rows flowing before the outage',
        },
      );

      // Gone: the listener closes and open connections drop (an insert in flight loses its reply).
      phase = 'outage';
      const outageEnds = Date.now() + OUTAGE_MS;
      const errorsAtStop = await Promise.all(tables.map((t) => metric('insertErrors', t)));
      await server.stop();
      // Every table's writer has failed since: whatever it wrote before is acked by now, nothing after.
      await waitFor(
        async () =>
          (
            await Promise.all(
              tables.map((t, i) => metric('insertErrors', t).then((e) => e > (errorsAtStop[i] ?? 0))),
            )
          ).every(Boolean),
        {
          what: 'every table failing to insert',
        },
      );
      await waitFor(() => server.stats.running === 0, { what: 'statements in flight done' });
      const floors = await ackFloors();
      const inserts = await Promise.all(tables.map((t) => metric('inserts', t)));
      const rowsAtStop = await countRows(f.ch, 'events', ours);
      let checks = 0;
      // The fault lasts OUTAGE_MS whatever happens; meanwhile the sink must ack and write nothing.
      while (Date.now() < outageEnds) {
        expect(await ackFloors()).toEqual(floors);
        expect(await Promise.all(tables.map((t) => metric('inserts', t)))).toEqual(inserts);
        checks++;
        await delay(Math.min(1000, Math.max(0, outageEnds - Date.now())));
      }
      expect(await countRows(f.ch, 'events', ours)).toBe(rowsAtStop);
      const pendingInOutage = (await jsm.consumers.info(STREAM_EVENTS, consumer)).num_ack_pending;
      expect(pendingInOutage).toBeGreaterThan(0);

      // Back: the sink resumes by itself (its retry backoff is at most 1 s).
      await server.start();
      phase = 'after';
      const resumedAt = Date.now();
      await waitFor(async () => ((await ackFloors())[0] ?? 0) > (floors[0] ?? 0), {
        timeoutMs: 30_000,
        what: 'acks resumed',
      });
      const catchUpMs = Date.now() - resumedAt;
      await waitFor(() => decls.submissions.filter((s) => s.phase === 'after').length >= 10, {
        what: 'load after',
      });
      load = [];
      await Promise.all([decls.stop(), events.stop()]);

      expect(events.error).toBeUndefined();
      expect(events.batchesAnswered).toBe(events.batchesWritten);
      const submitted = decls.submissions;
      expect(submitted.filter((s) => s.error !== undefined || !s.decided)).toEqual([]);
      const during = submitted.filter((s) => s.phase === 'outage');
      expect(during.length).toBeGreaterThan(30);

      for (const s of streams) {
        await waitFor(() => allAcked(n.nc, s, consumer), {
          timeoutMs: 30_000,
          what: `${s} acked after the outage`,
        });
      }
      await sink.stop();
      sink = undefined;
      const db = f.ch.database;
      const [ev] = await f.ch.query<{ raw: number }>(`SELECT count() AS raw FROM ${db}.events WHERE ${ours}`);
      const [evFinal] = await f.ch.query<{ n: number; u: number }>(
        `SELECT count() AS n, uniqExact(event_id) AS u FROM ${db}.events FINAL WHERE ${ours}`,
      );
      const accepted = events.accepted.length;
      expect(new Set(events.accepted).size).toBe(accepted);
      expect({ raw: ev?.raw, final: evFinal?.n, unique: evFinal?.u }).toEqual({
        raw: accepted,
        final: accepted,
        unique: accepted,
      });
      const numbers = submitted.map((s) => s.declarationNumber);
      for (const table of ['declarations', 'decisions']) {
        const [raw] = await f.ch.query<{ n: number }>(
          `SELECT count() AS n FROM ${db}.${table} WHERE declaration_number IN {numbers:Array(String)}`,
          { numbers },
        );
        const [fin] = await f.ch.query<{ n: number; u: number }>(
          `SELECT count() AS n, uniqExact(declaration_number) AS u FROM ${db}.${table} FINAL WHERE declaration_number IN {numbers:Array(String)}`,
          { numbers },
        );
        expect({ table, raw: raw?.n, final: fin?.n, unique: fin?.u }).toEqual({
          table,
          raw: numbers.length,
          final: numbers.length,
          unique: numbers.length,
        });
      }
      const lat = (p: string) =>
        latencySummary(submitted.filter((s) => s.phase === p).map((s) => s.latencyMs ?? 0));
      console.log(
        `clickhouse outage ${OUTAGE_MS / 1000} s: clearance latency ms before ${JSON.stringify(lat('before'))}, ` +
          `during ${JSON.stringify(lat('outage'))}, after ${JSON.stringify(lat('after'))}; ` +
          `${accepted} events and ${numbers.length} declarations/decisions acked, each in ClickHouse once ` +
          `(raw = FINAL); ${checks} checks during the outage saw no ack and no insert; ` +
          `${pendingInOutage} event messages held unacked; acks resumed ${catchUpMs} ms after ClickHouse ` +
          `came back (first ack); ${server.stats.dropped} replies lost at the stop`,
      );
    } finally {
      await Promise.all(load.map((l) => l.stop()));
      await sink?.stop(1000);
      ingestClient.close();
      customsClient.close();
      await ingest.stop();
      await processor.stop();
      await httpCh.close();
      await server.close();
    }
  }, 150_000);
});
