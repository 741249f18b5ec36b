// The harness's status scenario on its own, for longer or different runs than `portstream bench` makes:
// a local nats-server, container records in KV, the tracking API, and the load generator in a child process.
//   npx tsx bench/api-status.ts [rate=2000] [seconds=20] [containers=5000] [firm|operator] [warmup seconds=2]
// (a warm-up of 1 s or less waits at most 5 s, not 120, for the machine to go quiet: for a shared machine)
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalNatsServer } from '../core/nats/local-server.js';
import { statusScenario } from './harness/status.js';
import { resultTable } from './harness/table.js';

const [rate = '2000', seconds = '20', count = '5000', principal = 'firm', warmup = '2'] =
  process.argv.slice(2);
if (principal !== 'firm' && principal !== 'operator') throw new Error('principal must be firm or operator');
const dir = await mkdtemp(path.join(os.tmpdir(), 'portstream-status-'));
const nats = await LocalNatsServer.start({ storeDir: path.join(dir, 'nats') });
try {
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
  });
  console.log(resultTable({ baselines: r.baselines, status: r.status }));
  // Figures first, then the verdict: any failed read fails the run, as in `portstream bench`.
  for (const a of r.accounts) process.stderr.write(`${a.line()}\n`);
  for (const a of r.accounts) a.check();
} finally {
  await nats.stop();
  await rm(dir, { recursive: true, force: true });
}
