// Two processors (separate OS processes) and two sinks competing on the same durable consumers while events and
// declarations arrive; one processor is SIGKILLed and restarted, the sink writing the streams crashes and
// another is started: no decision or row is lost or doubled.
//
// The two sinks run in this process on one embedded ClickHouse session: chDB binds one data folder per process,
// so sinks in separate processes need a ClickHouse server, and none runs here. Each sink has its own NATS
// connection, its own lease holder id and its own consumers' pull requests; its "crash" is its NATS
// connection closing without the shutdown sequence (nothing acked, the lease not handed on), which is what
// JetStream and the other sink see of a killed process.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { ensureBuckets } from '../../core/nats/buckets.js';
import { connectNats } from '../../core/nats/connect.js';
import { STREAM_CUSTOMS, STREAM_DECISIONS, STREAM_EVENTS } from '../../core/nats/topology.js';
import { CUSTOMS_CONSUMER } from '../../processor/customs/projector.js';
import { SINK_CONSUMER, startSink, type SinkHandle } from '../../sink/index.js';
import { STATE_CONSUMER } from '../../processor/state/consumer.js';
import { startLoad } from '../helpers/jetstream-load.js';
import {
  appliedEventIds,
  decisionsOnStream,
  notExactlyOnce,
  rowsPerKey,
  total,
} from '../helpers/pipeline-counts.js';
import { waitFor } from '../../test-kit/poll.js';
import { spawnService, waitForLog, type ServiceProcess } from '../helpers/services.js';
import { allAcked, startClickHouse, startNats, type ChFixture, type NatsFixture } from './sink-fixture.js';

const STREAMS = [STREAM_EVENTS, STREAM_CUSTOMS, STREAM_DECISIONS];

interface SinkInstance {
  nc: NatsConnection;
  sink: SinkHandle;
}

describe('competing processors and sinks', () => {
  let n: NatsFixture;
  let f: ChFixture;
  const processes: ServiceProcess[] = [];
  const sinks: SinkInstance[] = [];

  const spawnProcessor = async (name: string): Promise<ServiceProcess> => {
    const p = spawnService('processor', { NATS_URL: n.nats.url, PROCESSOR_ACK_WAIT_MS: '5000' }, name);
    processes.push(p);
    await waitForLog(p, '"msg":"processor started"');
    return p;
  };
  const startSinkInstance = async (): Promise<SinkInstance> => {
    const nc = await connectNats({ url: n.nats.url, name: `sink-${sinks.length}` });
    const sink = await startSink({
      nc,
      ch: f.ch,
      config: {
        SINK_BATCH_MAX_ROWS: 5000,
        SINK_FLUSH_INTERVAL_MS: 300,
        SINK_RETRY_MAX_MS: 200,
        SINK_ACK_WAIT_MS: 2000,
        SINK_LEASE_TTL_MS: 4000,
      },
      log: silentLogger(),
      logIntervalMs: 0,
      migrate: false,
    });
    const s = { nc, sink };
    sinks.push(s);
    return s;
  };
  /** Which instance writes each stream: exactly one per stream, or undefined while a lease is changing hands. */
  const writers = (live: SinkInstance[]): string[] | undefined => {
    const owners = STREAMS.map((stream) => live.filter((s) => s.sink.activeStreams().includes(stream)));
    if (owners.some((o) => o.length !== 1)) return undefined;
    return owners.map((o) => String(sinks.indexOf(o[0] as SinkInstance)));
  };

  beforeAll(async () => {
    [n, f] = await Promise.all([startNats(), startClickHouse()]);
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.kill()));
    for (const s of sinks) {
      await s.sink.stop(1000).catch(() => undefined);
      await s.nc.close().catch(() => undefined);
    }
    await n.cleanup();
    await f.cleanup();
  });

  it(
    'two of each, one of each killed and restarted: nothing lost or doubled',
    { timeout: 300_000 },
    async () => {
      const jsm = await jetstreamManager(n.nc);
      const [p1, p2] = await Promise.all([spawnProcessor('processor-1'), spawnProcessor('processor-2')]);
      const [s1, s2] = await Promise.all([startSinkInstance(), startSinkInstance()]);
      // One writer per stream; the other sink stands by.
      const before = writers([s1, s2]);
      expect(before).toBeDefined();

      const load = startLoad(n.js, {
        prefix: 'cc',
        eventsPerBatch: 20,
        containers: 100_000,
        intervalMs: 100,
        declarationBase: 310_000_000_000,
      });
      await waitFor(
        async () => {
          const c = await jsm.consumers.info(STREAM_EVENTS, STATE_CONSUMER);
          if (c.ack_floor.stream_seq < 10) throw new Error(`acked up to ${c.ack_floor.stream_seq}`);
          return c.ack_floor.stream_seq >= 10 && c.num_ack_pending > 0;
        },
        { timeoutMs: 60_000, intervalMs: 5, what: 'the processors in the middle of their work' },
      );
      await p1.kill();
      const restarted = await spawnProcessor('processor-1b');

      // Crash the sink writing the events stream while it holds a batch, then start another one.
      await waitFor(
        async () => {
          const c = await jsm.consumers.info(STREAM_EVENTS, SINK_CONSUMER);
          if (c.ack_floor.stream_seq < 10) throw new Error(`acked up to ${c.ack_floor.stream_seq}`);
          return c.ack_floor.stream_seq >= 10 && c.num_ack_pending > 0;
        },
        { timeoutMs: 60_000, intervalMs: 5, what: 'the sink in the middle of a batch' },
      );
      const crashed = s1.sink.activeStreams().includes(STREAM_EVENTS) ? s1 : s2;
      const survivor = crashed === s1 ? s2 : s1;
      await crashed.nc.close();
      await waitFor(() => survivor.sink.activeStreams().length === STREAMS.length, {
        timeoutMs: 20_000,
        what: 'the other sink to take over every stream',
      });
      const s3 = await startSinkInstance();
      expect(s3.sink.activeStreams()).toEqual([]);

      const afterFaults = load.batches;
      await waitFor(() => load.batches >= afterFaults + 20, {
        timeoutMs: 60_000,
        what: 'load after the faults',
      });
      await load.stop();
      await waitFor(
        async () =>
          (await allAcked(n.nc, STREAM_EVENTS, STATE_CONSUMER)) &&
          (await allAcked(n.nc, STREAM_CUSTOMS, CUSTOMS_CONSUMER)),
        { timeoutMs: 60_000, what: 'the processors to catch up' },
      );
      await waitFor(
        async () =>
          (await allAcked(n.nc, STREAM_EVENTS, SINK_CONSUMER)) &&
          (await allAcked(n.nc, STREAM_CUSTOMS, SINK_CONSUMER)) &&
          (await allAcked(n.nc, STREAM_DECISIONS, SINK_CONSUMER)),
        { timeoutMs: 60_000, what: 'the sinks to catch up' },
      );
      expect(writers([survivor, s3])).toBeDefined();
      expect(await p2.stop()).toBe(0);
      expect(await restarted.stop()).toBe(0);

      const events = [...load.ackedEvents];
      const declarations = [...load.ackedDeclarations];
      const buckets = await ensureBuckets(n.js, 1);
      const applied = await appliedEventIds(buckets.containers);
      expect(notExactlyOnce(events, applied)).toEqual([]);
      expect(total(applied)).toBe(events.length);
      const decided = await decisionsOnStream(n.nc);
      expect(notExactlyOnce(declarations, decided)).toEqual([]);
      expect(total(decided)).toBe(declarations.length);
      const rows = await rowsPerKey(f.ch, 'events', 'event_id');
      expect(notExactlyOnce(events, rows)).toEqual([]);
      expect(total(rows)).toBe(events.length);
      const decisionRows = await rowsPerKey(f.ch, 'decisions', 'declaration_number');
      expect(notExactlyOnce(declarations, decisionRows)).toEqual([]);
      expect(total(decisionRows)).toBe(declarations.length);
      const commandRows = await rowsPerKey(f.ch, 'declarations', 'declaration_number');
      expect(notExactlyOnce(declarations, commandRows)).toEqual([]);
      console.info(
        `competing: ${events.length} events, ${declarations.length} declarations, writers before ${String(before)}`,
      );
    },
  );
});
