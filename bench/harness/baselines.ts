// Baselines measured in the same run as the scenarios, so scenario figures can be given as ratios that hold on
// any machine: raw JetStream async publish, raw grpc-js bidi stream echo of the same batches, raw NATS
// request-reply latency.
import {
  Server,
  ServerCredentials,
  credentials,
  makeGenericClientConstructor,
  type ServerDuplexStream,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '../../core/nats/connect.js';
import { StreamEventsRequest } from '../../proto/gen/portstream/v1/ingest.js';
import { Latency } from './measure.js';
import { openLoop } from './schedule.js';

export async function jetstreamPublishRate(
  url: string,
  payload: Uint8Array,
  durationMs: number,
): Promise<number> {
  const nc = await connectNats({ url, name: 'bench-baseline-js' });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'BENCH_BASELINE', subjects: ['bench.baseline'] });
  const js = jetstream(nc);
  const inflight = new Set<Promise<void>>();
  let n = 0;
  const start = performance.now();
  const end = start + durationMs;
  while (performance.now() < end) {
    const p: Promise<void> = js.publish('bench.baseline', payload).then(() => {
      inflight.delete(p);
    });
    inflight.add(p);
    n++;
    if (inflight.size >= 512) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  const rate = n / ((performance.now() - start) / 1000);
  await jsm.streams.delete('BENCH_BASELINE');
  await nc.close();
  return rate;
}

const echoDefinition: ServiceDefinition = {
  echo: {
    path: '/bench.Echo/Echo',
    requestStream: true,
    responseStream: true,
    requestSerialize: (m: StreamEventsRequest) => Buffer.from(StreamEventsRequest.encode(m).finish()),
    requestDeserialize: (b: Buffer) => StreamEventsRequest.decode(b),
    responseSerialize: (m: StreamEventsRequest) => Buffer.from(StreamEventsRequest.encode(m).finish()),
    responseDeserialize: (b: Buffer) => StreamEventsRequest.decode(b),
  },
};

/** Batches per second a bare grpc-js server echoes back on one bidi stream, with a window of 8 in flight. */
export async function grpcEchoRate(batch: StreamEventsRequest, durationMs: number): Promise<number> {
  const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  server.addService(echoDefinition, {
    echo: (call: ServerDuplexStream<StreamEventsRequest, StreamEventsRequest>) => {
      call.on('data', (m: StreamEventsRequest) => call.write(m));
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => {
      if (e) reject(e);
      else resolve(p);
    });
  });
  const Client = makeGenericClientConstructor(echoDefinition, 'Echo');
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  const call = (client as unknown as { echo: () => NodeJS.ReadWriteStream }).echo();
  let sent = 0;
  let got = 0;
  const start = performance.now();
  const end = start + durationMs;
  let elapsedMs = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = (): void => {
      while (sent - got < 8 && performance.now() < end) {
        call.write(batch as never);
        sent++;
      }
      if (performance.now() >= end && got === sent && elapsedMs === 0) {
        elapsedMs = performance.now() - start;
        call.end();
      }
    };
    call.on('data', () => {
      got++;
      pump();
    });
    call.on('end', resolve);
    call.on('error', reject);
    pump();
  });
  const rate = got / (elapsedMs / 1000);
  client.close();
  server.forceShutdown();
  return rate;
}

/** Latency of a bare NATS request to a responder in the same process, at a fixed rate (open model). */
export async function natsRequestLatency(
  url: string,
  ratePerSec: number,
  durationMs: number,
): Promise<Latency> {
  const nc = await connectNats({ url, name: 'bench-baseline-req' });
  const sub = nc.subscribe('bench.echo', {
    callback: (_e, m) => {
      m.respond(m.data);
    },
  });
  const latency = new Latency();
  const payload = new Uint8Array(200);
  const pending: Promise<void>[] = [];
  await openLoop(ratePerSec, durationMs, (_i, scheduledAt) => {
    pending.push(
      nc.request('bench.echo', payload, { timeout: 5000 }).then(
        () => {
          latency.record(performance.now() - scheduledAt);
        },
        () => {
          latency.record(5000);
        },
      ),
    );
  });
  await Promise.all(pending);
  sub.unsubscribe();
  await nc.close();
  return latency;
}
