// The whole pipeline (gateway, processor, sink) while nats-server is SIGKILLed and restarted in the middle of a
// stream of batches: the client sees retryable errors and re-sends the same ids, and in the end every event the
// gateway acked (ACCEPTED or DUPLICATE) is applied to container state once and is in ClickHouse once.
import { setTimeout as delay } from 'node:timers/promises';
import { status, type ServiceError } from '@grpc/grpc-js';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { ensureBuckets } from '../../core/nats/buckets.js';
import { STREAM_EVENTS } from '../../core/nats/topology.js';
import { startProcessor, type ProcessorHandle } from '../../processor/main.js';
import { SINK_CONSUMER, startSink, type SinkHandle } from '../../sink/index.js';
import { STATE_CONSUMER } from '../../processor/state/consumer.js';
import { EventStatus } from '../../proto/gen/portstream/v1/ingest.js';
import { equipmentEvent } from '../../test-kit/events.js';
import { publish, startGateway, type GatewayFixture } from '../helpers/gateway.js';
import { appliedEventIds, notExactlyOnce, rowsPerKey, total } from '../helpers/pipeline-counts.js';
import { waitFor } from '../../test-kit/poll.js';
import { allAcked, startClickHouse, type ChFixture } from './sink-fixture.js';

const RETRYABLE = new Set([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED]);

describe('nats-server killed under the whole pipeline', () => {
  let g: GatewayFixture;
  let f: ChFixture;
  let processor: ProcessorHandle;
  let sink: SinkHandle;

  beforeAll(async () => {
    g = await startGateway('pipeline-faults', { INGEST_PUBLISH_TIMEOUT_MS: '1000' });
    f = await startClickHouse();
    const config = loadConfig({ PROCESSOR_ACK_WAIT_MS: '2000' });
    processor = await startProcessor({ config, log: silentLogger(), nc: g.nc });
    sink = await startSink({
      nc: g.nc,
      ch: f.ch,
      config: {
        SINK_BATCH_MAX_ROWS: 5000,
        SINK_FLUSH_INTERVAL_MS: 200,
        SINK_RETRY_MAX_MS: 200,
        SINK_ACK_WAIT_MS: 2000,
        SINK_LEASE_TTL_MS: 3000,
      },
      log: silentLogger(),
      logIntervalMs: 0,
      migrate: false,
    });
  });
  afterAll(async () => {
    await sink.stop(2000);
    await processor.stop();
    await g.close();
    await f.cleanup();
  });

  it('every acked event is in state and in ClickHouse exactly once', { timeout: 180_000 }, async () => {
    const acked = new Set<string>();
    const errors = new Map<string, number>();
    let batches = 0;
    let duplicates = 0;
    const state = { stopped: false };
    // One client sending batches one after another; a retryable error re-sends the same batch (same ids).
    const client = (async () => {
      for (let b = 0; !state.stopped; b++) {
        const events = Array.from({ length: 100 }, (_, i) =>
          equipmentEvent(`nk-${b}-${i}`, b * 10 + (i % 10)),
        );
        for (;;) {
          try {
            const res = await publish(g.client, events);
            for (const r of res.results) {
              if (r.status === EventStatus.ACCEPTED || r.status === EventStatus.DUPLICATE)
                acked.add(r.eventId);
              if (r.status === EventStatus.DUPLICATE) duplicates++;
            }
            expect(res.results.every((r) => r.status !== EventStatus.REJECTED)).toBe(true);
            break;
          } catch (err) {
            const code = (err as ServiceError).code;
            if (!RETRYABLE.has(code)) throw err;
            errors.set(status[code], (errors.get(status[code]) ?? 0) + 1);
            await delay(100); // client backoff before the re-send
          }
        }
        batches++;
      }
    })();

    await waitFor(() => batches >= 20 && acked.size >= 2000, {
      timeoutMs: 60_000,
      what: 'batches before the crash',
    });
    await g.nats.server.kill();
    const atCrash = batches;
    await waitFor(() => errors.size > 0, { timeoutMs: 30_000, what: 'the client to see an error' });
    await g.nats.server.restart();
    await waitFor(() => batches >= atCrash + 30, { timeoutMs: 60_000, what: 'batches after the restart' });
    state.stopped = true;
    await client;

    await waitFor(
      async () =>
        (await allAcked(g.nc, STREAM_EVENTS, STATE_CONSUMER)) &&
        (await allAcked(g.nc, STREAM_EVENTS, SINK_CONSUMER)),
      { timeoutMs: 60_000, what: 'processor and sink to catch up' },
    );
    const ids = [...acked];
    expect(ids.length).toBe(batches * 100);
    const applied = await appliedEventIds((await ensureBuckets(jetstream(g.nc), 1)).containers);
    expect(notExactlyOnce(ids, applied)).toEqual([]);
    expect(total(applied)).toBe(ids.length);
    const rows = await rowsPerKey(f.ch, 'events', 'event_id');
    expect(notExactlyOnce(ids, rows)).toEqual([]);
    expect(total(rows)).toBe(ids.length);
    console.info(
      `nats restart: ${ids.length} events in ${batches} batches, crash after ${atCrash}, client errors ${JSON.stringify(Object.fromEntries(errors))}, DUPLICATE answers ${duplicates}`,
    );
  });
});
