// The clearance scenario of `portstream bench` on its own, for working on its tail: the system started as the
// full run starts it (bench/harness/system.ts), a warm-up, then declarations at a fixed rate with event load
// behind, and the latencies, the same run's NATS request p99 and the cores each process kept busy. About a
// minute, against the full run's quarter of an hour; the full run stays the figure of record.
//   npm run build && npx tsx bench/clearance-under-load.ts [declarationsPerSec=500] [eventsPerSec=10000] [seconds=30]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '../core/nats/connect.js';
import { LocalNatsServer } from '../core/nats/local-server.js';
import { natsRequestLatency } from './harness/baselines.js';
import { clearanceLoad, declarations } from './harness/clearance.js';
import { CpuMeter } from './harness/cpu.js';
import { ingestBackground } from './harness/ingest-load.js';
import { round } from './harness/measure.js';
import { CUSTOMS_TOKEN, OPERATOR_TOKEN, startSystem } from './harness/system.js';

const rate = Number(process.argv[2] ?? 500);
const eventsPerSec = Number(process.argv[3] ?? 10_000);
const seconds = Number(process.argv[4] ?? 30);

const dir = await mkdtemp(path.join(tmpdir(), 'portstream-bench-clearance-'));
const nats = await LocalNatsServer.start({ storeDir: path.join(dir, 'nats') });
const nc = await connectNats({ url: nats.url, name: 'bench' });
// The services from dist/, as the full run starts them (npm run build first).
const sut = await startSystem(dir, nats.url, await jetstreamManager(nc), 'dist/cli/portstream.js');
try {
  const pids = new Map<string, number>([['bench (load generators)', process.pid]]);
  if (nats.pid !== undefined) pids.set('nats-server', nats.pid);
  for (const s of sut.all) if (s.pid !== undefined) pids.set(s.name, s.pid);
  const req = await natsRequestLatency(nats.url, 1000, 5000);
  const serial = Date.now() % 1_000_000;
  await clearanceLoad({
    address: sut.address,
    token: CUSTOMS_TOKEN,
    ratePerSec: rate,
    durationMs: 1000,
    decls: declarations(rate, (serial + 1) % 1_000_000),
    scenario: 'clearance.warmup',
  });
  const cpu = new CpuMeter(() => pids);
  await cpu.start();
  const started = performance.now();
  const [clearance, background] = await Promise.all([
    clearanceLoad({
      address: sut.address,
      token: CUSTOMS_TOKEN,
      ratePerSec: rate,
      durationMs: seconds * 1000,
      decls: declarations(rate * seconds, serial),
    }),
    eventsPerSec > 0
      ? ingestBackground({
          address: sut.address,
          token: OPERATOR_TOKEN,
          runId: `cl${Date.now().toString(36)}`,
          slot: 2,
          scenario: 'clearance.background',
          eventsPerSec,
          durationMs: seconds * 1000,
          batchSize: 500,
        })
      : Promise.resolve(undefined),
  ]);
  const wallS = (performance.now() - started) / 1000;
  const cores = await cpu.stop();
  clearance.account.check();
  background?.account.check();
  console.log(
    JSON.stringify(
      {
        declarations: {
          submitted: clearance.submitted,
          decided: clearance.decided,
          pending: clearance.pending,
        },
        background_events_acked: background?.acked ?? 0,
        p50_ms: round(clearance.latency.ms(50)),
        p90_ms: round(clearance.latency.ms(90)),
        p99_ms: round(clearance.latency.ms(99)),
        max_ms: round(clearance.latency.maxMs),
        nats_request_p99_ms: round(req.ms(99), 3),
        p99_ratio_to_nats_request_p99: round(clearance.latency.ms(99) / req.ms(99)),
        cores_during_load: Object.fromEntries([...cores].map(([k, v]) => [k, round(v / wallS, 2)])),
      },
      null,
      2,
    ),
  );
} finally {
  await sut.stop();
  await nc.close();
  await nats.stop();
  await rm(dir, { recursive: true, force: true });
}
