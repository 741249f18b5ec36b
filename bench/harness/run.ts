// `portstream bench`: baselines and scenarios in one process tree and one run, printed as a table and written as
// JSON with stable names so runs can be compared over time.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import { TokenAuthenticator } from '../../core/auth/tokens.js';
import { loadConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { connectNats } from '../../core/nats/connect.js';
import { LocalNatsServer } from '../../core/nats/local-server.js';
import { STREAM_EVENTS } from '../../core/nats/topology.js';
import { startIngest } from '../../ingest/main.js';
import { Event } from '../../proto/gen/portstream/v1/events.js';
import { grpcEchoRate, jetstreamPublishRate, natsRequestLatency } from './baselines.js';
import { benchBatch } from './events.js';
import { startProcessor } from '../../processor/main.js';
import { clearanceLoad, declarations } from './clearance.js';
import { ingestBackground, ingestLoad } from './ingest-load.js';
import { round, RssSampler } from './measure.js';
import { progress } from './progress.js';
import { statusScenario, type StatusPrincipal } from './status.js';
import { countStored } from './stored.js';

export interface BenchOptions {
  quick: boolean;
  jsonPath: string;
  /** Declarations per second in the clearance scenario (default 500). */
  clearanceRate?: number;
  /** Background events per second during the clearance scenario (default 10,000; 0: none). */
  backgroundEvents?: number;
  /** Container-status requests per second (default 2,000) and the principal asking (default firm). */
  statusRate?: number;
  statusPrincipal?: StatusPrincipal;
}

const BATCH = 500;
const TOKEN = 'bench-operator-token-0123456789';
const CUSTOMS_TOKEN = 'bench-customs-token-0123456789';

export async function runBench(opts: BenchOptions): Promise<Record<string, unknown>> {
  const CLEARANCE_RATE = opts.clearanceRate ?? 500;
  const BACKGROUND_EVENTS = opts.backgroundEvents ?? 10_000;
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
      tokens: [
        { name: 'bench', role: 'operator', token: TOKEN, terminals: ['VNHPH:*'] },
        { name: 'bench-customs', role: 'customs', token: CUSTOMS_TOKEN },
      ],
    });
    const config = loadConfig({
      INGEST_PORT: '0',
      // Benches measure capacity: no per-caller limits.
      RATE_LIMIT_EVENTS_PER_SECOND: '0',
      RATE_LIMIT_CUSTOMS_PER_SECOND: '0',
      RATE_LIMIT_API_PER_SECOND: '0',
      INGEST_DEDUPE_CACHE_SIZE: '200000',
    });
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
    const stored = await countStored(nc, runId, load.sent, load.ackedMap);

    // Clearance: declarations at a fixed rate through the real gateway and processor, with event load behind.
    const clearanceMs = opts.quick ? 3000 : 30_000;
    // The ingest scenario's events were counted; the processor (which also applies events to container state)
    // starts on an empty events stream, so only the background rate competes with clearance.
    await (await jetstreamManager(nc)).streams.purge(STREAM_EVENTS);
    const processor = await startProcessor({ config, log: silentLogger(), nc });
    const decls = declarations(Math.ceil((CLEARANCE_RATE * clearanceMs) / 1000), Date.now() % 1_000_000);
    bar = progress('clearance', decls.length);
    const [clearance, background] = await Promise.all([
      clearanceLoad({
        address: ingest.address,
        token: CUSTOMS_TOKEN,
        ratePerSec: CLEARANCE_RATE,
        durationMs: clearanceMs,
        decls,
        onProgress: (n) => {
          bar.update(n);
        },
      }),
      BACKGROUND_EVENTS > 0
        ? ingestBackground({
            address: ingest.address,
            token: TOKEN,
            runId: `${runId}bg`,
            eventsPerSec: BACKGROUND_EVENTS,
            durationMs: clearanceMs,
            batchSize: BATCH,
          })
        : Promise.resolve({ acked: 0 }),
    ]);
    bar.stop();
    await processor.stop();
    await ingest.stop();
    await nc.close();

    const status = await statusScenario({
      natsUrl: nats.url,
      dataDir: dir,
      ratePerSec: opts.statusRate ?? 2000,
      warmupMs: opts.quick ? 300 : 2000,
      durationMs: opts.quick ? 700 : 15_000,
      containers: opts.quick ? 2000 : 5000,
      principal: opts.statusPrincipal ?? 'firm',
      pids,
    });
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
        ...status.baselines,
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
      clearance: {
        stage: 'gRPC SubmitDeclaration -> JetStream -> processor decision -> answer',
        rate_per_s: CLEARANCE_RATE,
        background_events_per_s: BACKGROUND_EVENTS,
        background_events_acked: background.acked,
        ...('error' in background ? { background_error: background.error } : {}),
        duration_s: clearanceMs / 1000,
        submitted: clearance.submitted,
        decided: clearance.decided,
        pending: clearance.pending,
        failed: clearance.failed,
        p50_ms: round(clearance.latency.ms(50)),
        p90_ms: round(clearance.latency.ms(90)),
        p99_ms: round(clearance.latency.ms(99)),
        max_ms: round(clearance.latency.maxMs),
        p99_ratio_to_nats_request_p99: round(clearance.latency.ms(99) / req.ms(99)),
      },
      status: status.status,
      memory: {
        max_rss_mb: round(Math.max(...rss.peakMb.values()), 1),
        per_process_mb: Object.fromEntries([...rss.peakMb].map(([k, v]) => [k, round(v, 1)])),
      },
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
