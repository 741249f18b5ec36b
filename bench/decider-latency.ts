// The decider alone: submissions decided at a fixed rate (open model) by the gateway's decider in this process
// (ledger read, rules, one append to PS_CUSTOMS), without gRPC, latency from each submission's scheduled time to
// its recorded decision. Separates the decision's share of clearance latency from gRPC's and the projections'.
//   npx tsx bench/decider-latency.ts [rate=500] [seconds=5]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { loadConfig } from '../core/config.js';
import { Latency } from '../core/latency.js';
import { BUCKET_ENTERPRISES, ensureBuckets } from '../core/nats/buckets.js';
import { connectNats } from '../core/nats/connect.js';
import { LocalNatsServer } from '../core/nats/local-server.js';
import { ensureStreams, topologyOptions } from '../core/nats/topology.js';
import { DEFAULT_RULES } from '../core/customs/rules/store.js';
import { pipelinedLedger } from '../core/customs/ledger.js';
import { CasBucket, PipelinedRequests } from '../core/nats/pipelined.js';
import { KvMirror } from '../core/nats/kv-mirror.js';
import { silentLogger } from '../core/logger.js';
import { Decider } from '../ingest/customs/decide.js';
import { submitPlan } from '../ingest/customs/plans.js';
import { cpuSeconds } from './harness/cpu.js';
import { declarations } from './harness/clearance.js';
import { openLoop } from './harness/schedule.js';

const rate = Number(process.argv[2] ?? 500);
const seconds = Number(process.argv[3] ?? 5);

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portstream-bench-decider-'));
  const server = await LocalNatsServer.start({ storeDir: path.join(dir, 'nats'), port: 0 });
  const nc = await connectNats({ url: server.url, name: 'bench-decider' });
  let register: KvMirror | undefined;
  try {
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, topologyOptions(loadConfig({})));
    const js = jetstream(nc);
    const buckets = await ensureBuckets(js, 1);
    const requests = new PipelinedRequests(nc);
    // As the gateway reads them (ingest/main.ts): declarants over pipelined requests, the register from memory.
    register = new KvMirror(buckets.enterprises, BUCKET_ENTERPRISES, silentLogger());
    register.start();
    await register.caughtUp(10_000);
    const decider = new Decider({
      ledger: pipelinedLedger(requests),
      declarants: new CasBucket(requests, buckets.names.declarants),
      enterprises: register,
      rules: () => DEFAULT_RULES,
    });
    const decls = declarations(rate * seconds, Date.now() % 1_000_000);
    const pending = new Set<string>();
    const latency = new Latency();
    let failed = 0;
    const cpu0 = process.cpuUsage();
    const nats0 = server.pid === undefined ? 0 : await cpuSeconds(server.pid);
    const t0 = performance.now();
    await openLoop(rate, seconds * 1000, (i, at) => {
      const d = decls[i];
      if (!d) return;
      pending.add(d.declarationNumber);
      void decider
        .run(d.declarationNumber, submitPlan(d, d, [], 'bench'))
        .then(
          () => {
            latency.record(performance.now() - at);
          },
          () => failed++,
        )
        .finally(() => pending.delete(d.declarationNumber));
    });
    const deadline = performance.now() + 30_000;
    while (pending.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const natsCpu = (server.pid === undefined ? 0 : await cpuSeconds(server.pid)) - nats0;
    const n = decls.length;
    console.log(
      JSON.stringify({
        rate,
        seconds,
        decided: n - pending.size - failed,
        failed,
        p50_ms: +latency.ms(50).toFixed(2),
        p99_ms: +latency.ms(99).toFixed(2),
        max_ms: +latency.maxMs.toFixed(2),
        // This process holds the decider and the load, which is small next to it.
        process_cpu_us_per_decision: Math.round((cpu.user + cpu.system) / n),
        of_which_system_us: Math.round(cpu.system / n),
        nats_cpu_us_per_decision: Math.round((natsCpu * 1e6) / n),
        wall_s: +wall.toFixed(1),
      }),
    );
  } finally {
    register?.stop();
    await nc.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
