// `portstream bench`: baselines and scenarios in one process tree and one run, printed as a table and written as
// JSON with stable names so runs can be compared over time.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { TokenAuthenticator } from '../../core/auth/tokens.js';
import { loadConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { connectNats } from '../../core/nats/connect.js';
import { LocalNatsServer } from '../../core/nats/local-server.js';
import { startIngest } from '../../ingest/main.js';
import { Event } from '../../proto/gen/portstream/v1/events.js';
import { grpcEchoRate, jetstreamPublishRate, natsRequestLatency } from './baselines.js';
import { benchBatch } from './events.js';
import { ingestLoad } from './ingest-load.js';
import { round, RssSampler } from './measure.js';
import { progress } from './progress.js';
import { countStored } from './stored.js';

export interface BenchOptions {
  quick: boolean;
  jsonPath: string;
}

const BATCH = 500;
const TOKEN = 'bench-operator-token-0123456789';

export async function runBench(opts: BenchOptions): Promise<Record<string, unknown>> {
  const baselineMs = opts.quick ? 2000 : 10_000;
  const ingestMs = opts.quick ? 5000 : 60_000;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portstream-bench-'));
  const nats = await LocalNatsServer.start({ storeDir: path.join(dir, 'nats') });
  const pids = new Map<string, number>([['bench (gateway + load)', process.pid]]);
  if (nats.pid !== undefined) pids.set('nats-server', nats.pid);
  const rss = new RssSampler(() => pids);
  rss.start();
  try {
    const sampleBatch = benchBatch('sample', 0, BATCH, Date.now() - 3600_000);
    const eventBytes = Event.encode(sampleBatch[0] as Event).finish();

    let bar = progress('baseline: JetStream', 3);
    const jsRate = await jetstreamPublishRate(nats.url, eventBytes, baselineMs);
    bar.update(1, 'gRPC echo');
    const grpcRate = await grpcEchoRate({ batchId: 'b', events: sampleBatch }, baselineMs);
    bar.update(2, 'NATS request');
    const req = await natsRequestLatency(nats.url, 1000, baselineMs);
    bar.update(3);
    bar.stop();

    const nc = await connectNats({ url: nats.url, name: 'bench' });
    const auth = new TokenAuthenticator({
      tokens: [{ name: 'bench', role: 'operator', token: TOKEN, terminals: ['VNHPH:*'] }],
    });
    const config = loadConfig({ INGEST_PORT: '0', INGEST_DEDUPE_CACHE_SIZE: '200000' });
    const ingest = await startIngest({ config, log: silentLogger(), nc, registry: new Registry(), auth });
    bar = progress('ingest', ingestMs);
    const started = Date.now();
    const runId = `run${Date.now().toString(36)}`;
    const load = await ingestLoad({
      address: ingest.address,
      token: TOKEN,
      runId,
      durationMs: ingestMs,
      batchSize: BATCH,
      streams: 2,
      window: 8,
      onProgress: (acked) => {
        bar.update(Date.now() - started, `${acked} events acked`);
      },
    });
    bar.stop();
    await ingest.stop();
    const stored = await countStored(nc, runId, load.sent, load.ackedMap);
    await nc.close();
    rss.stop();

    const eventsPerS = load.acked / (load.elapsedMs / 1000);
    const result = {
      date: new Date().toISOString(),
      machine: machine(),
      quick: opts.quick,
      baselines: {
        jetstream_publish_msgs_per_s: Math.round(jsRate),
        grpc_stream_msgs_per_s: Math.round(grpcRate),
        grpc_stream_events_per_s: Math.round(grpcRate * BATCH),
        nats_request_p50_ms: round(req.ms(50), 3),
        nats_request_p99_ms: round(req.ms(99), 3),
        event_bytes: eventBytes.length,
        batch_events: BATCH,
      },
      ingest: {
        stage: 'gRPC -> gateway -> JetStream (persisted)',
        duration_s: round(load.elapsedMs / 1000, 1),
        events_per_s: Math.round(eventsPerS),
        acked: load.acked,
        rejected: load.rejected,
        lost: stored.lost,
        duplicated: stored.duplicated,
        ratio_to_jetstream_publish: round(eventsPerS / jsRate),
        ratio_to_grpc_stream_events: round(eventsPerS / (grpcRate * BATCH)),
      },
      memory: {
        max_rss_mb: round(Math.max(...rss.peakMb.values()), 1),
        per_process_mb: Object.fromEntries([...rss.peakMb].map(([k, v]) => [k, round(v, 1)])),
      },
      not_measured: ['clearance', 'status'].map(
        (s) => `${s}: needs the processor and API in the bench pipeline`,
      ),
    };
    await mkdir(path.dirname(path.resolve(opts.jsonPath)), { recursive: true });
    await writeFile(opts.jsonPath, JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    rss.stop();
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpu_model: cpus[0]?.model ?? 'unknown',
    memory_gb: round(os.totalmem() / 1024 ** 3, 1),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}
