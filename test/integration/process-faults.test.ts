// The processor and the sink as separate OS processes, each SIGKILLed in the middle of its work (messages
// delivered and not yet acked) and started again while events and declarations keep arriving: afterwards every
// acked event is applied to container state once and is in ClickHouse once, and every declaration has one
// decision, on PS_DECISIONS and in ClickHouse.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { silentLogger } from '../../core/logger.js';
import { ensureBuckets } from '../../core/nats/buckets.js';
import { STREAM_CUSTOMS, STREAM_DECISIONS, STREAM_EVENTS } from '../../core/nats/topology.js';
import { CUSTOMS_CONSUMER } from '../../processor/customs/projector.js';
import { SINK_CONSUMER } from '../../sink/index.js';
import { STATE_CONSUMER } from '../../processor/state/consumer.js';
import { startLoad } from '../helpers/jetstream-load.js';
import {
  appliedEventIds,
  decisionsOnStream,
  notExactlyOnce,
  rowsPerKey,
  total,
} from '../helpers/pipeline-counts.js';
import { uniqueName, waitFor } from '../../test-kit/poll.js';
import { spawnService, waitForLog, type ServiceProcess } from '../helpers/services.js';
import { allAcked, startNats, type NatsFixture } from './sink-fixture.js';

const PROCESSOR_STARTED = '"msg":"processor started"';
const SINK_STARTED = '"msg":"clickhouse sink started"';

describe('processor and sink processes killed mid-batch', () => {
  let n: NatsFixture;
  let dataDir: string;
  const database = uniqueName('ps');
  const running: ServiceProcess[] = [];

  const processorEnv = (): Record<string, string> => ({
    NATS_URL: n.nats.url,
    // A killed processor's unacked messages come back after this.
    PROCESSOR_ACK_WAIT_MS: '5000',
  });
  const sinkEnv = (): Record<string, string> => ({
    NATS_URL: n.nats.url,
    PORTSTREAM_DATA_DIR: dataDir,
    CLICKHOUSE_DATABASE: database,
    SINK_FLUSH_INTERVAL_MS: '300',
    SINK_ACK_WAIT_MS: '2000',
    SINK_RETRY_MAX_MS: '200',
    SINK_LEASE_TTL_MS: '5000',
    SHUTDOWN_TIMEOUT_MS: '5000',
  });
  const spawnRunning = async (command: 'processor' | 'sink'): Promise<ServiceProcess> => {
    const s = spawnService(command, command === 'processor' ? processorEnv() : sinkEnv());
    running.push(s);
    await waitForLog(s, command === 'processor' ? PROCESSOR_STARTED : SINK_STARTED);
    return s;
  };

  beforeAll(async () => {
    n = await startNats();
    dataDir = await mkdtemp(path.join(tmpdir(), 'portstream-faults-'));
  });
  afterAll(async () => {
    await Promise.all(running.map((s) => s.kill()));
    await n.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('loses and doubles nothing', { timeout: 300_000 }, async () => {
    const jsm = await jetstreamManager(n.nc);
    let [processor, sink] = await Promise.all([spawnRunning('processor'), spawnRunning('sink')]);
    const load = startLoad(n.js, {
      prefix: 'pf',
      eventsPerBatch: 20,
      containers: 100_000,
      intervalMs: 100,
      declarationBase: 300_000_000_000,
    });

    // The processor holds event groups it has not acked yet, after having acked some.
    let processorMidBatch = false;
    await waitFor(
      async () => {
        const c = await jsm.consumers.info(STREAM_EVENTS, STATE_CONSUMER);
        if (c.ack_floor.stream_seq < 10) {
          throw new Error(
            `acked up to ${c.ack_floor.stream_seq}, delivered ${c.delivered.stream_seq}, pending ${c.num_ack_pending}, ` +
              `redelivered ${c.num_redelivered}; ${processor.output().slice(-1500)}`,
          );
        }
        processorMidBatch = c.num_ack_pending > 0;
        return c.ack_floor.stream_seq >= 10 && processorMidBatch;
      },
      { timeoutMs: 30_000, intervalMs: 5, what: 'the processor in the middle of its work' },
    );
    await processor.kill();
    const afterProcessorKill = load.batches;
    processor = await spawnRunning('processor');

    // The sink holds a batch it has not written (or not acked) yet, after having written some.
    await waitFor(
      async () => {
        const c = await jsm.consumers.info(STREAM_EVENTS, SINK_CONSUMER);
        if (c.ack_floor.stream_seq < 10) throw new Error(`acked up to ${c.ack_floor.stream_seq}`);
        return c.ack_floor.stream_seq >= 10 && c.num_ack_pending > 0;
      },
      { timeoutMs: 30_000, intervalMs: 5, what: 'the sink in the middle of a batch' },
    );
    const sinkHeld = (await jsm.consumers.info(STREAM_EVENTS, SINK_CONSUMER)).num_ack_pending;
    await sink.kill();
    sink = await spawnRunning('sink');

    // Keep the load going after both restarts, then let everything drain.
    const afterRestarts = load.batches;
    await waitFor(() => load.batches >= afterRestarts + 20, {
      timeoutMs: 30_000,
      what: 'load after restarts',
    });
    await load.stop();
    await waitFor(
      async () =>
        (await allAcked(n.nc, STREAM_EVENTS, STATE_CONSUMER)) &&
        (await allAcked(n.nc, STREAM_CUSTOMS, CUSTOMS_CONSUMER)),
      { timeoutMs: 30_000, what: 'the processor to catch up' },
    );
    await waitFor(
      async () =>
        (await allAcked(n.nc, STREAM_EVENTS, SINK_CONSUMER)) &&
        (await allAcked(n.nc, STREAM_CUSTOMS, SINK_CONSUMER)) &&
        (await allAcked(n.nc, STREAM_DECISIONS, SINK_CONSUMER)),
      { timeoutMs: 30_000, what: 'the sink to catch up' },
    );
    expect(await sink.stop()).toBe(0);
    expect(await processor.stop()).toBe(0);

    const events = [...load.ackedEvents];
    const declarations = [...load.ackedDeclarations];
    expect(afterProcessorKill).toBeGreaterThan(0);
    expect(events.length).toBeGreaterThanOrEqual(20 * (afterRestarts + 20));

    // Container state: each acked event id recorded once, none else.
    const buckets = await ensureBuckets(n.js, 1);
    const applied = await appliedEventIds(buckets.containers);
    expect(notExactlyOnce(events, applied)).toEqual([]);
    expect(total(applied)).toBe(events.length);
    // One decision per declaration on the decision stream.
    const decided = await decisionsOnStream(n.nc);
    expect(notExactlyOnce(declarations, decided)).toEqual([]);
    expect(total(decided)).toBe(declarations.length);

    // ClickHouse, read after the last sink exited (embedded chDB binds its folder to one process).
    const ch = createClickHouse(
      {
        CLICKHOUSE_USER: 'default',
        CLICKHOUSE_DATABASE: database,
        CLICKHOUSE_REQUEST_TIMEOUT_MS: 5000,
        PORTSTREAM_DATA_DIR: dataDir,
      },
      silentLogger(),
    );
    try {
      const rows = await rowsPerKey(ch, 'events', 'event_id');
      expect(notExactlyOnce(events, rows)).toEqual([]);
      expect(total(rows)).toBe(events.length);
      const decisionRows = await rowsPerKey(ch, 'decisions', 'declaration_number');
      expect(notExactlyOnce(declarations, decisionRows)).toEqual([]);
      expect(total(decisionRows)).toBe(declarations.length);
      const commandRows = await rowsPerKey(ch, 'declarations', 'declaration_number');
      expect(notExactlyOnce(declarations, commandRows)).toEqual([]);
    } finally {
      await ch.close();
    }
    console.info(
      `process faults: ${events.length} events, ${declarations.length} declarations; processor killed after ` +
        `${afterProcessorKill} batches (mid-batch: ${processorMidBatch}), sink killed holding ${sinkHeld} ` +
        `unacked messages`,
    );
  });
});
