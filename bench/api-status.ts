// The harness's status scenario on its own, for longer or different runs than `portstream bench` makes:
// a local nats-server, container records in KV, the tracking API (the built `portstream api`, so `npm run build`
// first), the bare baseline server and the load generator, each in a process of its own.
//   npx tsx bench/api-status.ts [rate=2000] [seconds=20] [containers=5000] [firm|operator] [warmup seconds=2]
//     [filler keys=0] [nats-server processors=all]
// (a warm-up of 1 s or less waits at most 5 s, not 120, for the machine to go quiet: for a shared machine)
// Filler keys: that many more keys of about 500 bytes in the containers bucket first, never read, as the full
// run's earlier scenarios leave about two million there: nats-server's memory and collections follow its keys.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { BUCKET_CONTAINERS, ensureBucket } from '../core/nats/buckets.js';
import { connectNats } from '../core/nats/connect.js';
import { LocalNatsServer } from '../core/nats/local-server.js';
import { PipelinedRequests } from '../core/nats/pipelined.js';
import { GC_TRACE_ENV, NatsGcTrace } from './harness/nats-gc.js';
import { statusScenario } from './harness/status.js';
import { resultTable } from './harness/table.js';

const [
  rate = '2000',
  seconds = '20',
  count = '5000',
  principal = 'firm',
  warmup = '2',
  filler = '0',
  procs = 'all',
] = process.argv.slice(2);
if (principal !== 'firm' && principal !== 'operator') throw new Error('principal must be firm or operator');
const dir = await mkdtemp(path.join(os.tmpdir(), 'portstream-status-'));
// nats-server traces its collections, placed against each phase (status.nats_gc).
const gc = new NatsGcTrace();
const nats = await LocalNatsServer.start({
  storeDir: path.join(dir, 'nats'),
  procs: procs === 'all' ? 'all' : Number(procs),
  env: GC_TRACE_ENV,
  onStderrLine: gc.onLine,
});

/** `n` keys in the containers bucket, 256 puts in flight, straight to the stream's subjects. */
async function fill(n: number): Promise<void> {
  const nc = await connectNats({ url: nats.url, name: 'bench-status-filler' });
  try {
    await ensureBucket(jetstream(nc), BUCKET_CONTAINERS, 1);
    const requests = new PipelinedRequests(nc);
    const body = new Uint8Array(500).fill(7);
    for (let k = 0; k < n; k += 256) {
      await Promise.all(
        Array.from({ length: Math.min(256, n - k) }, (_, j) =>
          requests.request(`$KV.${BUCKET_CONTAINERS}.FILL${k + j}`, body),
        ),
      );
    }
    requests.close();
  } finally {
    await nc.close();
  }
}

try {
  if (Number(filler) > 0) {
    const t = performance.now();
    await fill(Number(filler));
    process.stderr.write(`${filler} filler keys in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  }
  const pids = new Map<string, number>();
  const r = await statusScenario({
    natsUrl: nats.url,
    dataDir: dir,
    ratePerSec: Number(rate),
    warmupMs: Number(warmup) * 1000,
    durationMs: Number(seconds) * 1000,
    containers: Number(count),
    principal,
    pids,
    cli: 'dist/cli/portstream.js',
    gc,
  });
  console.log(resultTable({ baselines: r.baselines, status: r.status }));
  // Figures first, then the verdict: any failed read fails the run, as in `portstream bench`.
  for (const a of r.accounts) process.stderr.write(`${a.line()}\n`);
  for (const a of r.accounts) a.check();
} finally {
  await nats.stop();
  await rm(dir, { recursive: true, force: true });
}
