// Ingest gateway throughput against a same-run baseline, on one machine and one nats-server:
//   baseline: raw JetStream async publish of one ~event-sized message per event (a window of publishes in flight)
//   gateway:  events/s through gRPC StreamEvents (batches, pipelined) -> validation -> grouped JetStream publish,
//             as a caller allowed on every terminal (admin: no terminal check, like a "VNHPH:*" operator) and as
//             a single-terminal operator (one ps_containers read per distinct container of a batch)
// Run: npx tsx bench/ingest-gateway.ts [seconds=10] [batch=500]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import { loadConfig } from '../core/config.js';
import { silentLogger } from '../core/logger.js';
import { connectNats } from '../core/nats/connect.js';
import { LocalNatsServer } from '../core/nats/local-server.js';
import { startIngest } from '../ingest/main.js';
import { Event } from '../proto/gen/portstream/v1/events.js';
import { IngestServiceClient, type StreamEventsResponse } from '../proto/gen/portstream/v1/ingest.js';
import { clientAs, testAuth, TOKENS } from '../test-kit/auth.js';
import { discBatch } from '../test-kit/events.js';

const seconds = Number(process.argv[2] ?? 10);
const batchSize = Number(process.argv[3] ?? 500);

async function rawPublish(url: string, eventBytes: Uint8Array): Promise<number> {
  const nc = await connectNats({ url, name: 'bench-raw' });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'BENCH_RAW', subjects: ['bench.raw'] });
  const js = jetstream(nc);
  const window = 512;
  const inflight = new Set<Promise<void>>();
  let n = 0;
  const end = Date.now() + seconds * 1000;
  const start = performance.now();
  while (Date.now() < end) {
    const p: Promise<void> = js.publish('bench.raw', eventBytes).then(() => {
      inflight.delete(p);
    });
    inflight.add(p);
    n++;
    if (inflight.size >= window) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const rate = n / ((performance.now() - start) / 1000);
  await jsm.streams.delete('BENCH_RAW');
  await nc.close();
  return rate;
}

async function gateway(url: string, token: string): Promise<number> {
  const nc = await connectNats({ url, name: 'bench-gw' });
  const config = loadConfig({
    INGEST_PORT: '0',
    // Benches measure capacity: no per-caller limits.
    RATE_LIMIT_EVENTS_PER_SECOND: '0',
    RATE_LIMIT_CUSTOMS_PER_SECOND: '0',
    RATE_LIMIT_API_PER_SECOND: '0',
    INGEST_DEDUPE_CACHE_SIZE: '2000000',
  });
  const ingest = await startIngest({
    config,
    log: silentLogger(),
    nc,
    registry: new Registry(),
    auth: testAuth,
  });
  const client = clientAs(IngestServiceClient, ingest.address, token);
  const call = client.streamEvents();
  let acked = 0;
  let sent = 0;
  const window = 8;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const end = Date.now() + seconds * 1000;
  const start = performance.now();
  let stopped = false;
  const send = (): void => {
    while (!stopped && sent - acked / batchSize < window) {
      if (Date.now() >= end) {
        stopped = true;
        call.end();
        return;
      }
      call.write({
        batchId: String(sent),
        events: discBatch(`g${sent}`, batchSize, (sent * batchSize) % 900_000),
      });
      sent++;
    }
  };
  call.on('data', (r: StreamEventsResponse) => {
    acked += r.results.length;
    send();
  });
  call.on('end', () => {
    resolveDone();
  });
  call.on('error', (e) => {
    console.error(e);
    resolveDone();
  });
  send();
  await done;
  const rate = acked / ((performance.now() - start) / 1000);
  client.close();
  await ingest.stop();
  await nc.close();
  return rate;
}

const dir = await mkdtemp(path.join(tmpdir(), 'portstream-bench-'));
const server = await LocalNatsServer.start({ storeDir: path.join(dir, 'js') });
try {
  const sample = Event.encode(discBatch('sample', 1)[0] as Event).finish();
  const raw = await rawPublish(server.url, sample);
  const gw = await gateway(server.url, TOKENS.admin);
  const single = await gateway(server.url, TOKENS.operator);
  console.log(`event size ${sample.length} B, batch ${batchSize}, ${seconds} s each`);
  console.log(`baseline raw JetStream publish: ${Math.round(raw)} msgs/s`);
  console.log(
    `gateway StreamEvents -> JetStream: ${Math.round(gw)} events/s (${(gw / raw).toFixed(2)}x baseline)`,
  );
  console.log(
    `  as a single-terminal operator (container reads): ${Math.round(single)} events/s ` +
      `(${(single / raw).toFixed(2)}x baseline)`,
  );
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
