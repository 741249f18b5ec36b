// The simulator's StreamEvents client against a real grpc-js server (port 0) whose first streams fail
// with UNAVAILABLE after answering part of what they received: every batch must be re-sent with the same
// event ids until answered, so the server stores each event exactly once and nothing is lost.
import { credentials, Metadata, Server, ServerCredentials, status } from '@grpc/grpc-js';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStreamer } from '../../simulator/ingest-stream.js';
import { anchorClock } from '../../simulator/model/clock.js';
import { traffic } from '../../simulator/model/day.js';
import { createRng } from '../../simulator/model/prng.js';
import { createStats } from '../../simulator/stats.js';
import { silentLogger } from '../../core/logger.js';
import type { Event } from '../../proto/gen/portstream/v1/events.js';
import {
  EventStatus,
  IngestServiceClient,
  IngestServiceService,
} from '../../proto/gen/portstream/v1/ingest.js';
import type { StreamEventsRequest, StreamEventsResponse } from '../../proto/gen/portstream/v1/ingest.js';

const FAILING_STREAMS = 3;
const stored = new Set<string>();
let streams = 0;
let server: Server;
let port = 0;

function streamEvents(call: ServerDuplexStream<StreamEventsRequest, StreamEventsResponse>): void {
  const n = ++streams;
  let answered = 0;
  call.on('data', (req: StreamEventsRequest) => {
    // A failing stream persists and answers two batches, persists a third without answering, then dies.
    if (n <= FAILING_STREAMS && answered === 2) {
      for (const e of req.events) stored.add(e.eventId);
      call.emit('error', { code: status.UNAVAILABLE, details: 'broker unavailable' });
      return;
    }
    if (n <= FAILING_STREAMS && answered > 2) return;
    answered++;
    const results = req.events.map((e) => {
      const status = stored.has(e.eventId) ? EventStatus.DUPLICATE : EventStatus.ACCEPTED;
      stored.add(e.eventId);
      return { eventId: e.eventId, status, field: '', reason: '' };
    });
    call.write({ batchId: req.batchId, results });
  });
  call.on('end', () => {
    call.end();
  });
}

beforeAll(async () => {
  server = new Server();
  server.addService(IngestServiceService, {
    streamEvents,
    publishEvents: (_call: unknown, cb: (err: { code: number }) => void) => {
      cb({ code: status.UNIMPLEMENTED });
    },
  });
  port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => {
      if (err) reject(err);
      else resolve(p);
    });
  });
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    server.tryShutdown(() => {
      resolve();
    });
  });
});

describe('simulator ingest stream', () => {
  it('re-sends unanswered batches with the same ids after UNAVAILABLE until all are answered', async () => {
    const clock = anchorClock(Date.now(), 120_000, 720);
    const events: Event[] = [];
    for (const it of traffic({ seed: 3, simStartMs: clock.simStartMs, simSpanMs: clock.simSpanMs })) {
      if (it.kind === 'event') events.push(it.event);
      if (events.length === 1_000) break;
    }
    const client = new IngestServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
    const stats = createStats();
    const streamer = new EventStreamer(client, new Metadata(), stats, silentLogger(), {
      name: 'HICT',
      batchSize: 50,
      window: 4,
      backoff: { initialMs: 10, maxMs: 50 },
      random: createRng(1).next,
    });
    for (const e of events) await streamer.add(e);
    await streamer.close(10_000);
    client.close();

    expect(streams).toBeGreaterThan(FAILING_STREAMS);
    expect(stats.streamReconnects).toBeGreaterThanOrEqual(FAILING_STREAMS);
    expect(stats.batchRetries).toBeGreaterThan(0);
    expect(stats.eventsSent).toBe(events.length);
    // Every event answered once; the ones persisted by a dying stream come back as DUPLICATE.
    expect(stats.accepted + stats.duplicate).toBe(events.length);
    expect(stats.duplicate).toBeGreaterThan(0);
    expect(stats.rejected).toBe(0);
    expect(stored).toEqual(new Set(events.map((e) => e.eventId)));
  });
});
