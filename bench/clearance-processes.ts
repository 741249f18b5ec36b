// Clearance with nothing behind: a gateway and a customs projector, each its own process, declarations at a
// fixed rate (open model) over gRPC; latency of each answer, and CPU per declaration of the gateway, the
// projector and nats-server from the first submission until the projection has all of it. Separates the
// decision path's own cost from the event load's in the full bench. With `all`, also a state processor (whose
// list index projection follows the declarations and the containers they link) and a ClickHouse sink (embedded,
// in the run's folder), as in the full bench's `clearance.alone`, until each of them has all of it too.
//   npx tsx bench/clearance-processes.ts [rate=500] [seconds=10] [all]
// With BENCH_PROFILE_DIR set, each service writes a V8 CPU profile there when it stops (node --cpu-prof).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { jetstreamManager } from '@nats-io/jetstream';
import { CUSTOMS_CONSUMER, INDEX_CONSUMER, SINK_CONSUMER } from '../core/consumer/index.js';
import { loadConfig } from '../core/config.js';
import { connectNats } from '../core/nats/connect.js';
import { freePort } from '../core/nats/local-cluster.js';
import { LocalNatsServer } from '../core/nats/local-server.js';
import { BUCKET_CONTAINERS, BUCKET_DECLARATIONS } from '../core/nats/buckets.js';
import { STREAM_CUSTOMS, STREAM_DECISIONS } from '../core/nats/topology.js';
import { createNatsTopology } from '../cli/topology.js';
import { clearanceLoad, declarations } from './harness/clearance.js';
import { cpuSeconds, syscalls } from './harness/cpu.js';
import { waitCaughtUp, type LagProbe } from './harness/lag.js';

const rate = Number(process.argv[2] ?? 500);
const seconds = Number(process.argv[3] ?? 10);
const all = process.argv[4] === 'all';
const TOKEN = 'bench-customs-token-0123456789abcdef';

/** A portstream service as a process; resolves with it and the log line that says it is ready. */
function start(
  command: 'ingest' | 'processor' | 'sink',
  env: Record<string, string>,
  ready: string,
): Promise<{ child: ChildProcess; line: Record<string, unknown> }> {
  const profile = process.env.BENCH_PROFILE_DIR;
  const args = profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profile}`];
  const child = spawn(process.execPath, [...args, '--import', 'tsx', 'cli/portstream.ts', command], {
    env: { ...process.env, LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      reject(new Error(`${command} exited with ${String(code)}`));
    });
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      if (!l.includes(ready)) return;
      resolve({ child, line: JSON.parse(l) as Record<string, unknown> });
    });
  });
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portstream-bench-clearance-'));
  // nats-server's monitoring port: messages it delivered to each client per declaration (connz).
  const monitorPort = await freePort();
  const nats = await LocalNatsServer.start({
    storeDir: path.join(dir, 'nats'),
    port: 0,
    extraConfig: `http: "127.0.0.1:${monitorPort}"`,
  });
  const nc = await connectNats({ url: nats.url, name: 'bench-clearance' });
  const children: ChildProcess[] = [];
  try {
    await createNatsTopology(nc, loadConfig({ NATS_URL: nats.url }));
    const tokens = path.join(dir, 'tokens.json');
    await writeFile(tokens, JSON.stringify({ tokens: [{ name: 'customs', role: 'customs', token: TOKEN }] }));
    const common = { NATS_URL: nats.url, RATE_LIMIT_CUSTOMS_PER_SECOND: '0' };
    const gateway = await start(
      'ingest',
      { ...common, AUTH_TOKENS_FILE: tokens, INGEST_PORT: '0' },
      'ingest gateway ready',
    );
    children.push(gateway.child);
    const projector = await start(
      'processor',
      { ...common, PROCESSOR_ROLES: 'customs' },
      'processor started',
    );
    children.push(projector.child);
    const pids: Record<string, number | undefined> = {
      gateway: gateway.child.pid,
      projector: projector.child.pid,
      'nats-server': nats.pid,
    };
    const probes: LagProbe[] = [{ stream: STREAM_CUSTOMS, consumer: CUSTOMS_CONSUMER }];
    if (all) {
      const state = await start('processor', { ...common, PROCESSOR_ROLES: 'state' }, 'processor started');
      children.push(state.child);
      const sink = await start(
        'sink',
        { ...common, PORTSTREAM_DATA_DIR: path.join(dir, 'sink') },
        'clickhouse sink started',
      );
      children.push(sink.child);
      pids.state = state.child.pid;
      pids.sink = sink.child.pid;
      probes.push(
        ...[BUCKET_CONTAINERS, BUCKET_DECLARATIONS].map((b) => ({
          stream: `KV_${b}`,
          consumer: INDEX_CONSUMER,
        })),
        ...[STREAM_CUSTOMS, STREAM_DECISIONS].map((stream) => ({ stream, consumer: SINK_CONSUMER })),
      );
    }
    const cpu = async (): Promise<Record<string, number>> =>
      Object.fromEntries(
        await Promise.all(
          Object.entries(pids).map(async ([k, pid]) => [k, pid === undefined ? 0 : await cpuSeconds(pid)]),
        ),
      ) as Record<string, number>;
    const address = String(gateway.line.grpc);
    // Warm-up, not measured: the customs path is compiled on its first calls.
    await clearanceLoad({
      address,
      token: TOKEN,
      ratePerSec: rate,
      durationMs: 1000,
      decls: declarations(rate, 777),
    });
    const jsm = await jetstreamManager(nc);
    const drained = async (): Promise<void> => {
      const { lagLeft } = await waitCaughtUp(jsm, probes, 120_000);
      if (lagLeft > 0) throw new Error(`still ${lagLeft} behind after 120 s`);
    };
    await drained();
    // What each process costs with nothing to do (timers, heartbeats, pull requests), measured before the load:
    // part of every declaration's share below at this rate, and the part that does not scale with the rate.
    const idleFrom = await cpu();
    const idleMs = 5000;
    await new Promise((r) => setTimeout(r, idleMs));
    const idleTo = await cpu();
    const idlePercent = Object.fromEntries(
      Object.keys(idleTo).map((k) => [
        k,
        +((((idleTo[k] ?? 0) - (idleFrom[k] ?? 0)) * 100_000) / idleMs).toFixed(2),
      ]),
    );
    const io = async (): Promise<Record<string, { reads: number; writes: number }>> =>
      Object.fromEntries(
        await Promise.all(
          Object.entries(pids).map(async ([k, pid]) => [
            k,
            pid === undefined ? { reads: 0, writes: 0 } : await syscalls(pid),
          ]),
        ),
      ) as Record<string, { reads: number; writes: number }>;
    const before = await cpu();
    const ioBefore = await io();
    const connzBefore = await messagesByClient(monitorPort);
    const r = await clearanceLoad({
      address,
      token: TOKEN,
      ratePerSec: rate,
      durationMs: seconds * 1000,
      decls: declarations(rate * seconds, 4242),
    });
    await drained();
    const after = await cpu();
    const ioAfter = await io();
    const connzAfter = await messagesByClient(monitorPort);
    const perClient = Object.fromEntries(
      [...connzAfter].map(([name, a]) => {
        const b = connzBefore.get(name) ?? { in: 0, out: 0 };
        return [
          name,
          { in: +((a.in - b.in) / r.decided).toFixed(2), out: +((a.out - b.out) / r.decided).toFixed(2) },
        ];
      }),
    );
    const perDecl = (f: (x: { reads: number; writes: number }) => number): Record<string, number> =>
      Object.fromEntries(
        Object.keys(ioAfter).map((k) => {
          const a = ioAfter[k];
          const b = ioBefore[k];
          return [k, a && b ? +((f(a) - f(b)) / r.decided).toFixed(2) : 0];
        }),
      );
    const perDecision = Object.fromEntries(
      Object.keys(after).map((k) => [
        k,
        Math.round((((after[k] ?? 0) - (before[k] ?? 0)) * 1e6) / r.decided),
      ]),
    );
    console.log(
      JSON.stringify({
        rate,
        seconds,
        decided: r.decided,
        pending: r.pending,
        failed: r.failed,
        p50_ms: +r.latency.ms(50).toFixed(2),
        p99_ms: +r.latency.ms(99).toFixed(2),
        cpu_us_per_declaration: perDecision,
        idle_cpu_percent: idlePercent,
        // System calls per declaration (every thread of the process; nats-server's too).
        writes_per_declaration: perDecl((x) => x.writes),
        reads_per_declaration: perDecl((x) => x.reads),
        // Messages each NATS client sent (in) and was delivered (out) per declaration, by connection name.
        nats_messages_per_declaration: perClient,
      }),
    );
  } finally {
    // Every service stopped before nats-server is, so none waits on a server that is gone.
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) {
              resolve();
              return;
            }
            const kill = setTimeout(() => c.kill('SIGKILL'), 15_000);
            c.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
    await nc.close();
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Messages nats-server received from and delivered to its clients so far, summed by connection name. */
async function messagesByClient(port: number): Promise<Map<string, { in: number; out: number }>> {
  const res = await fetch(`http://127.0.0.1:${port}/connz?limit=4096`);
  const body = (await res.json()) as {
    connections?: { name?: string; cid: number; in_msgs: number; out_msgs: number }[];
  };
  const by = new Map<string, { in: number; out: number }>();
  for (const c of body.connections ?? []) {
    const name = c.name ?? `cid ${c.cid}`;
    const t = by.get(name) ?? { in: 0, out: 0 };
    t.in += c.in_msgs;
    t.out += c.out_msgs;
    by.set(name, t);
  }
  return by;
}

await main();
