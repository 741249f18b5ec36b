// Sink throughput into embedded ClickHouse (chDB), with a same-run baseline of raw JetStream publishing into
// the same stream. Publishes N events (in EventGroup messages of G events, as the gateway does), then starts
// the sink on the backlog and times it until every message is acked; reports rows/s, INSERTs/s and the
// process's CPU per event while it drained.
//   npx tsx bench/sink-throughput.ts [events=200000] [groupSize=500]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { createClickHouse } from '../core/clickhouse/client.js';
import { runMigrations } from '../core/clickhouse/migrate.js';
import { silentLogger } from '../core/logger.js';
import { connectNats } from '../core/nats/connect.js';
import { LocalNatsServer } from '../core/nats/local-server.js';
import { ensureStreams, STREAM_EVENTS, subjects } from '../core/nats/topology.js';
import { SINK_CONSUMER, startSink } from '../sink/index.js';
import {
  EmptyIndicator,
  EquipmentEventType,
  EventClassifier,
  SealSource,
  type Event,
} from '../proto/gen/portstream/v1/events.js';
import { EventGroup } from '../proto/gen/portstream/v1/records.js';

const total = Number(process.argv[2] ?? 200_000);
const groupSize = Number(process.argv[3] ?? 500);
const TYPES = [
  EquipmentEventType.DISC,
  EquipmentEventType.LOAD,
  EquipmentEventType.GTIN,
  EquipmentEventType.GTOT,
];

function event(i: number): Event {
  return {
    eventId: `bench-${i}`,
    eventTime: new Date(Date.now() - (i % 86_400) * 1000),
    classifier: EventClassifier.ACTUAL,
    facility: { unLocode: 'VNHPH', terminalCode: i % 2 ? 'HICT' : 'TCIT' },
    payload: {
      $case: 'equipment',
      value: {
        type: TYPES[i % TYPES.length] ?? EquipmentEventType.DISC,
        containerNumber: `MSCU${String(i % 1_000_000).padStart(7, '0')}`,
        isoSizeType: i % 3 ? '45G1' : '22G1',
        emptyIndicator: EmptyIndicator.LADEN,
        seals: [{ number: `S${i}`, source: SealSource.CARRIER }],
        vessel: { imoNumber: '9811000', name: 'EVER GIVEN', voyage: `${i % 20}W` },
        yardPosition: { block: 'A1', bay: i % 40, row: i % 10, tier: i % 5 },
        truckPlate: '',
      },
    },
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portstream-bench-sink-'));
  const server = await LocalNatsServer.start({ storeDir: path.join(dir, 'nats'), port: 0 });
  const nc = await connectNats({ url: server.url, name: 'bench-sink' });
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, {
    replicas: 1,
    eventsMaxAgeHours: 24,
    eventsMaxBytes: 8 * 1024 ** 3,
    duplicateWindowSeconds: 120,
  });
  const ch = createClickHouse(
    {
      CLICKHOUSE_USER: 'default',
      CLICKHOUSE_DATABASE: 'bench',
      CLICKHOUSE_REQUEST_TIMEOUT_MS: 60_000,
      PORTSTREAM_DATA_DIR: dir,
    },
    silentLogger(),
  );
  await runMigrations(ch, silentLogger());

  // Baseline: raw JetStream publish of the same messages, 256 in flight.
  const js = jetstream(nc);
  const messages: Uint8Array[] = [];
  for (let i = 0; i < total; i += groupSize) {
    const events = Array.from({ length: Math.min(groupSize, total - i) }, (_, k) => event(i + k));
    messages.push(EventGroup.encode({ receivedTime: new Date(), source: 'bench', events }).finish());
  }
  const subject = subjects.events('VNHPH', 'HICT', 'equipment');
  const inflight = new Set<Promise<unknown>>();
  const t0 = performance.now();
  for (const m of messages) {
    const p = js.publish(subject, m).finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= 256) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const publishS = (performance.now() - t0) / 1000;

  // The sink drains the backlog.
  const config = {
    SINK_BATCH_MAX_ROWS: 50_000,
    SINK_FLUSH_INTERVAL_MS: 1000,
    SINK_RETRY_MAX_MS: 30_000,
    SINK_ACK_WAIT_MS: 60_000,
  };
  const t1 = performance.now();
  const cpu1 = process.cpuUsage();
  const sink = await startSink({ nc, ch, config, log: silentLogger(), logIntervalMs: 0 });
  const last = (await jsm.streams.info(STREAM_EVENTS)).state.last_seq;
  for (;;) {
    const c = await jsm.consumers.info(STREAM_EVENTS, SINK_CONSUMER);
    if (c.num_pending === 0 && c.num_ack_pending === 0 && c.delivered.stream_seq >= last) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const sinkS = (performance.now() - t1) / 1000;
  // This process's CPU while the sink drained (the sink and its embedded ClickHouse; nats-server is apart).
  const cpu = process.cpuUsage(cpu1);
  const inserts =
    (await sink.metrics.inserts.get()).values.find((v) => v.labels.table === 'events')?.value ?? 0;
  const insertBusyS =
    (await sink.metrics.insertSeconds.get()).values.find(
      (v) => v.metricName === 'portstream_sink_insert_seconds_sum' && v.labels.table === 'events',
    )?.value ?? 0;
  await sink.stop();
  const [rows] = await ch.query<{ n: number }>('SELECT count() AS n FROM bench.events');

  console.table([
    {
      stage: 'JetStream publish (baseline)',
      events: total,
      messages: messages.length,
      seconds: publishS.toFixed(2),
      'events/s': Math.round(total / publishS),
      'msgs/s': Math.round(messages.length / publishS),
    },
    {
      stage: 'sink -> embedded ClickHouse',
      events: rows?.n ?? 0,
      messages: messages.length,
      seconds: sinkS.toFixed(2),
      'events/s': Math.round((rows?.n ?? 0) / sinkS),
      inserts,
      'inserts/s': (inserts / sinkS).toFixed(2),
      'writing s': insertBusyS.toFixed(2),
      'cpu us/event': ((cpu.user + cpu.system) / Math.max(1, rows?.n ?? 0)).toFixed(1),
    },
  ]);
  await ch.close();
  await nc.close();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}

await main();
