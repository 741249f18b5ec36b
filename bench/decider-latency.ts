// The decider alone: SUBMIT commands published straight into PS_CUSTOMS at a fixed rate (open model), the
// decider in this process, latency from each command's scheduled time to its decision arriving on the decision
// subject. Separates the processor's share of clearance latency from the gateway's and gRPC's.
//   npx tsx bench/decider-latency.ts [rate=500] [seconds=5]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { loadConfig } from '../core/config.js';
import { Latency } from '../core/latency.js';
import { silentLogger } from '../core/logger.js';
import { ensureBuckets } from '../core/nats/buckets.js';
import { connectNats } from '../core/nats/connect.js';
import { LocalNatsServer } from '../core/nats/local-server.js';
import { ensureStreams, subjects, topologyOptions } from '../core/nats/topology.js';
import { startCustomsDecider } from '../processor/customs/decider.js';
import { DEFAULT_RULES } from '../processor/rules/store.js';
import { DeclarationAction, DeclarationCommand } from '../proto/gen/portstream/v1/records.js';
import { cpuSeconds } from './harness/cpu.js';
import { declarations } from './harness/clearance.js';
import { openLoop } from './harness/schedule.js';

const rate = Number(process.argv[2] ?? 500);
const seconds = Number(process.argv[3] ?? 5);

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portstream-bench-decider-'));
  const server = await LocalNatsServer.start({ storeDir: path.join(dir, 'nats'), port: 0 });
  const nc = await connectNats({ url: server.url, name: 'bench-decider' });
  const pubNc = await connectNats({ url: server.url, name: 'bench-decider-load' });
  try {
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, topologyOptions(loadConfig({})));
    const js = jetstream(nc);
    const buckets = await ensureBuckets(js, 1);
    const decider = await startCustomsDecider({
      js,
      jsm,
      buckets,
      rules: () => DEFAULT_RULES,
      logger: silentLogger(),
    });
    const decls = declarations(rate * seconds, Date.now() % 1_000_000);
    const sent = new Map<string, number>();
    const latency = new Latency();
    const sub = pubNc.subscribe(subjects.decision('*'), {
      callback: (_err, m) => {
        const n = m.subject.slice(m.subject.lastIndexOf('.') + 1);
        const at = sent.get(n);
        if (at !== undefined) latency.record(performance.now() - at);
        sent.delete(n);
      },
    });
    const pubJs = jetstream(pubNc);
    const cpu0 = process.cpuUsage();
    const nats0 = server.pid === undefined ? 0 : await cpuSeconds(server.pid);
    const t0 = performance.now();
    await openLoop(rate, seconds * 1000, (i, at) => {
      const d = decls[i];
      if (!d) return;
      sent.set(d.declarationNumber, at);
      const cmd = DeclarationCommand.fromPartial({
        commandId: `submit:${d.declarationNumber}`,
        action: DeclarationAction.SUBMIT,
        declarationNumber: d.declarationNumber,
        declaration: d,
        receivedTime: new Date(),
      });
      void pubJs.publish(
        subjects.customsCommand(d.declarationNumber),
        DeclarationCommand.encode(cmd).finish(),
        {
          msgID: cmd.commandId,
        },
      );
    });
    const deadline = performance.now() + 30_000;
    while (sent.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const natsCpu = (server.pid === undefined ? 0 : await cpuSeconds(server.pid)) - nats0;
    sub.unsubscribe();
    await decider.stop();
    const n = decls.length;
    console.log(
      JSON.stringify({
        rate,
        seconds,
        decided: n - sent.size,
        p50_ms: +latency.ms(50).toFixed(2),
        p99_ms: +latency.ms(99).toFixed(2),
        max_ms: +latency.maxMs.toFixed(2),
        // This process holds the decider and the publisher; both are small next to the decider.
        process_cpu_us_per_decision: Math.round((cpu.user + cpu.system) / n),
        nats_cpu_us_per_decision: Math.round((natsCpu * 1e6) / n),
        wall_s: +wall.toFixed(1),
      }),
    );
  } finally {
    await pubNc.close();
    await nc.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
