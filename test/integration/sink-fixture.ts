// Shared set-up for the ClickHouse and sink suites: a real nats-server with the portstream streams, embedded
// ClickHouse (chDB) in a fresh temporary folder with a random database, migrated; helpers to publish records.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { createClickHouse, type ClickHouse, type ClickHouseConfig } from '../../core/clickhouse/client.js';
import { runMigrations } from '../../core/clickhouse/migrate.js';
import { silentLogger } from '../../core/logger.js';
import { connectNats } from '../../core/nats/connect.js';
import { ensureStreams, subjects } from '../../core/nats/topology.js';
import { Decision } from '../../proto/gen/portstream/v1/customs.js';
import type { Event } from '../../proto/gen/portstream/v1/events.js';
import { DeclarationCommand, EventGroup } from '../../proto/gen/portstream/v1/records.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';
import { uniqueName } from '../../test-kit/poll.js';

export const SINK_CONFIG = {
  SINK_BATCH_MAX_ROWS: 5000,
  SINK_FLUSH_INTERVAL_MS: 100,
  SINK_RETRY_MAX_MS: 200,
  SINK_ACK_WAIT_MS: 1500,
};

export interface ChFixture {
  dir: string;
  ch: ClickHouse;
  chConfig: ClickHouseConfig;
  cleanup(): Promise<void>;
}

/** Embedded ClickHouse in a fresh folder (one per test file: chDB binds one folder per process). */
export async function startClickHouse(migrate = true): Promise<ChFixture> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portstream-ch-'));
  const chConfig: ClickHouseConfig = {
    CLICKHOUSE_USER: 'default',
    CLICKHOUSE_DATABASE: uniqueName('ps'),
    CLICKHOUSE_REQUEST_TIMEOUT_MS: 5000,
    PORTSTREAM_DATA_DIR: dir,
  };
  const ch = createClickHouse(chConfig, silentLogger());
  if (migrate) await runMigrations(ch, silentLogger());
  return {
    dir,
    ch,
    chConfig,
    cleanup: async () => {
      await ch.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface NatsFixture {
  nats: TestNats;
  nc: NatsConnection;
  js: JetStreamClient;
  cleanup(): Promise<void>;
}

export async function startNats(): Promise<NatsFixture> {
  const nats = await startTestNats();
  const nc = await connectNats({ url: nats.url, name: 'sink-test' });
  await ensureStreams(await jetstreamManager(nc), {
    replicas: 1,
    eventsMaxAgeHours: 24,
    eventsMaxBytes: 1 << 30,
    duplicateWindowSeconds: 120,
  });
  return {
    nats,
    nc,
    js: jetstream(nc),
    cleanup: async () => {
      await nc.close();
      await nats.cleanup();
    },
  };
}

/** Publishes events as one EventGroup message (no message id: a client retry is a new message). */
export async function publishEvents(js: JetStreamClient, events: Event[]): Promise<void> {
  const data = EventGroup.encode({ receivedTime: new Date(), source: 'test', events }).finish();
  await js.publish(subjects.events('VNHPH', 'HICT', 'equipment'), data);
}

export async function publishCommand(js: JetStreamClient, c: DeclarationCommand): Promise<void> {
  await js.publish(subjects.customsCommand(c.declarationNumber), DeclarationCommand.encode(c).finish());
}

export async function publishDecision(js: JetStreamClient, d: Decision): Promise<void> {
  await js.publish(subjects.decision(d.declarationNumber), Decision.encode(d).finish());
}

/** count() of a table, without FINAL: duplicates would show. */
export async function countRows(ch: ClickHouse, table: string, where = '1'): Promise<number> {
  const [r] = await ch.query<{ n: string }>(
    `SELECT count() AS n FROM ${ch.database}.${table} WHERE ${where}`,
  );
  return Number(r?.n ?? 0);
}

/** Resolves when the sink's consumer on stream has acked everything up to the stream's last message. */
export async function allAcked(nc: NatsConnection, stream: string, consumer: string): Promise<boolean> {
  const jsm = await jetstreamManager(nc);
  const [s, c] = await Promise.all([jsm.streams.info(stream), jsm.consumers.info(stream, consumer)]);
  return c.num_pending === 0 && c.num_ack_pending === 0 && c.delivered.stream_seq >= s.state.last_seq;
}
