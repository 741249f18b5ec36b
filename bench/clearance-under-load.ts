// The clearance scenario of `portstream bench` on its own, for working on its tail: the system started as the
// full run starts it (bench/harness/system.ts), a warm-up, then declarations at a fixed rate with event load
// behind, and the latencies, the same run's NATS request p99 and the cores each process kept busy. About a
// minute, against the full run's quarter of an hour; the full run stays the figure of record.
//   npm run build && npx tsx bench/clearance-under-load.ts [declarationsPerSec=500] [eventsPerSec=10000] [seconds=30]
//     [warmupSeconds=6]
// UP_NATS_PROCS sets the nats-server's GOMAXPROCS as it does for `up` (default: `up`'s default).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '../core/nats/connect.js';
import { LocalNatsServer } from '../core/nats/local-server.js';
import { natsProcs, SETTINGS } from '../core/config.js';
import { natsRequestLatency } from './harness/baselines.js';
import { CLEARANCE_WARMUP_S, startClearanceLoadProcess } from './harness/clearance.js';
import { CpuMeter } from './harness/cpu.js';
import { ingestBackground } from './harness/ingest-load.js';
import {
  gcBetween,
  histogramDelta,
  histogramFrom,
  round,
  type HistogramSnapshot,
} from './harness/measure.js';
import { CUSTOMS_TOKEN, OPERATOR_TOKEN, startSystem } from './harness/system.js';

const COMMAND_SECONDS = 'portstream_customs_command_seconds';
const rate = Number(process.argv[2] ?? 500);
const eventsPerSec = Number(process.argv[3] ?? 10_000);
const seconds = Number(process.argv[4] ?? 30);
const warmupSeconds = Number(process.argv[5] ?? CLEARANCE_WARMUP_S);

const dir = await mkdtemp(path.join(tmpdir(), 'portstream-bench-clearance-'));
const nats = await LocalNatsServer.start({
  storeDir: path.join(dir, 'nats'),
  procs: natsProcs(SETTINGS.UP_NATS_PROCS.schema.parse(process.env.UP_NATS_PROCS)),
});
const nc = await connectNats({ url: nats.url, name: 'bench' });
// The services from dist/, as the full run starts them (npm run build first).
const sut = await startSystem(dir, nats.url, await jetstreamManager(nc), 'dist/cli/portstream.js');
try {
  const pids = new Map<string, number>([['bench (load generators)', process.pid]]);
  if (nats.pid !== undefined) pids.set('nats-server', nats.pid);
  for (const s of sut.all) if (s.pid !== undefined) pids.set(s.name, s.pid);
  const req = await natsRequestLatency(nats.url, 1000, 5000);
  const serial = Date.now() % 1_000_000;
  // The generator in a process of its own, warmed up at the rate (the gateway's customs path is optimized over
  // its first seconds of calls, and so is the generator's client).
  const generator = await startClearanceLoadProcess({
    address: sut.customsAddress,
    token: CUSTOMS_TOKEN,
    ratePerSec: rate,
    durationMs: seconds * 1000,
    count: rate * seconds,
    serial,
    scenario: 'clearance',
    warmupMs: warmupSeconds * 1000,
    warmupCount: Math.ceil(rate * warmupSeconds),
    warmupSerial: (serial + 1) % 1_000_000,
  });
  generator.warmup.check();
  if (generator.pid !== undefined) pids.set('clearance load generator', generator.pid);
  const page = async (): Promise<string> => (await fetch(`${sut.customsOps}/metrics`)).text();
  const handlerOf = (text: string): HistogramSnapshot =>
    histogramFrom(text, COMMAND_SECONDS, { command: 'submit', outcome: 'decided' });
  // prom-client's event-loop lag figures cover the time since the previous scrape: this one starts the window.
  const pageBefore = await page();
  const handlerBefore = handlerOf(pageBefore);
  const cpu = new CpuMeter(() => pids);
  await cpu.start();
  const started = performance.now();
  const [clearance, background] = await Promise.all([
    generator.run(),
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
  const pageAfter = await page();
  const handler = histogramDelta(handlerBefore, handlerOf(pageAfter), [0.5, 0.99]);
  // The gateway's garbage collection over the load, by kind.
  const gc = gcBetween(pageBefore, pageAfter);
  const lagMs = (name: string): number | null => {
    const v = new RegExp(`^${name} (\\S+)$`, 'm').exec(pageAfter)?.[1];
    return v === undefined ? null : round(Number(v) * 1000);
  };
  const cores = await cpu.stop();
  await generator.close();
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
        max_ms_by_second: clearance.maxBySecondMs.map((ms) => round(ms, 1)),
        // Inside the gateway's handler (portstream_customs_command_seconds): the rest of each latency is the
        // call waiting for the gateway's event loop, the answer's way back, and the generator.
        gateway_handler: {
          decided: handler.count,
          mean_ms: round(handler.mean * 1000),
          p50_at_most_ms: handler.upperBounds[0] === undefined ? null : handler.upperBounds[0] * 1000,
          p99_at_most_ms: handler.upperBounds[1] === undefined ? null : handler.upperBounds[1] * 1000,
        },
        // How late the gateway's event loop ran what was due (prom-client's monitorEventLoopDelay over the load):
        // every await of a handler waits that long again before it goes on.
        gateway_event_loop_lag_ms: {
          p50: lagMs('nodejs_eventloop_lag_p50_seconds'),
          p99: lagMs('nodejs_eventloop_lag_p99_seconds'),
          max: lagMs('nodejs_eventloop_lag_max_seconds'),
        },
        gateway_gc_during_load: gc,
        // The generator's own lateness in sending: part of each latency above, not the system's.
        send_lag_p50_ms: round(clearance.sendLag.ms(50)),
        send_lag_p99_ms: round(clearance.sendLag.ms(99)),
        send_lag_max_ms: round(clearance.sendLag.maxMs),
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
