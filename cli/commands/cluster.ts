// `portstream cluster`: the local rehearsal of a multi-machine deployment. A 3-node NATS JetStream cluster on
// loopback (stores under <data>/cluster/nats), then separate OS processes as the machines would run them:
// processors, one ClickHouse sink (embedded chDB under <data>/cluster, which binds one process), gateways, and
// optionally the simulator spread over every gateway. Each child is `portstream <command>` with its own log
// under <data>/cluster/logs and JS_REPLICAS=3; Ctrl-C stops them in order (simulator, gateways, processors,
// sink, NATS).
import path from 'node:path';
import type { Env } from '../../core/config.js';
import { LocalNatsCluster } from '../../core/nats/local-cluster.js';
import { authForUp } from '../auth.js';
import { selectionSecretFor } from '../selection-secret.js';
import { connectFromConfig } from '../nats.js';
import { createNatsTopology } from '../topology.js';
import { ChildRunnable, type LogRecord } from '../processes.js';
import { boot, onShutdown, type Runtime, type ShutdownStep } from '../runtime.js';

/** A signal came during start-up. */
class StartupInterrupted extends Error {
  constructor() {
    super('start-up interrupted by a signal');
    this.name = 'StartupInterrupted';
  }
}

export interface ClusterOptions {
  gateways: string;
  processors: string;
  simulate: boolean;
  duration: string;
  timeScale: string;
  seed: string;
}

/** How long a child may take to log that it is ready (a cold start compiles TypeScript on a busy machine). */
const READY_TIMEOUT_MS = 90_000;

function count(name: string, v: string, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new RangeError(`--${name} must be a whole number from 1 to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

const msgIs =
  (msg: string) =>
  (rec: LogRecord): true | undefined =>
    rec.msg === msg ? true : undefined;

/** The NATS URLs rotated by i: each process lists the nodes in a different order, so they spread over them. */
function rotated(urls: readonly string[], i: number): string {
  return [...urls.slice(i % urls.length), ...urls.slice(0, i % urls.length)].join(',');
}

export async function runClusterCommand(o: ClusterOptions, overrides: Env): Promise<void> {
  // Every stream and bucket is replicated on the three nodes, as in the multi-machine deployment.
  const rt: Runtime = boot({ ...overrides, JS_REPLICAS: '3' });
  const { config, log } = rt;
  const gateways = count('gateways', o.gateways, 16);
  const processors = count('processors', o.processors, 16);
  const dir = path.resolve(config.PORTSTREAM_DATA_DIR, 'cluster');
  const logDir = path.join(dir, 'logs');
  // `portstream` again, as this process was started (node, its loader flags, the script).
  const command = { execPath: process.execPath, args: [...process.execArgv, process.argv[1] ?? ''] };
  const stopTimeout = config.SHUTDOWN_TIMEOUT_MS;
  const stopAll = (children: ChildRunnable[]) => async (): Promise<void> => {
    await Promise.all(children.map((c) => c.stop(stopTimeout)));
  };
  let nats: LocalNatsCluster | undefined;
  const sims: ChildRunnable[] = [];
  const gws: ChildRunnable[] = [];
  const procs: ChildRunnable[] = [];
  const sinks: ChildRunnable[] = [];
  // Producers first, so nothing is left half-sent; the sink after the processors, so it can still write the
  // decisions they published last; NATS last.
  const steps = (): ShutdownStep[] => [
    ['simulator', stopAll(sims)],
    ['gateways', stopAll(gws)],
    ['processors', stopAll(procs)],
    ['sink', stopAll(sinks)],
    ['nats cluster', () => nats?.stop() ?? Promise.resolve()],
  ];
  // Ctrl-C is handled from the start: during start-up it stops what is already running, and start-up stops at
  // its next step (whatever started meanwhile is stopped by the catch below).
  const shutdown = { requested: false };
  const stopped = onShutdown(rt, () => {
    shutdown.requested = true;
    return steps();
  });
  const checkpoint = (): void => {
    if (shutdown.requested) throw new StartupInterrupted();
  };
  try {
    nats = await LocalNatsCluster.start({
      dir: path.join(dir, 'nats'),
      size: 3,
      bin: config.NATS_SERVER_BIN,
      readyTimeoutMs: READY_TIMEOUT_MS,
    });
    checkpoint();
    log.info({ urls: nats.urls }, 'local NATS cluster ready');
    const nc = await connectFromConfig(rt, nats.url, 'portstream-cluster');
    // The admin step first (streams and buckets, 3 replicas): the services may not change them.
    await createNatsTopology(nc, config);
    await nc.drain();
    const { printable, file: tokensFile } = await authForUp(rt);

    const urls = nats.urls;
    let n = 0;
    const spawnChild = (name: string, args: string[], env: Env): Promise<ChildRunnable> => {
      checkpoint();
      return ChildRunnable.start({
        name,
        args,
        logDir,
        command,
        env: {
          ...process.env,
          NATS_URL: rotated(urls, n++),
          JS_REPLICAS: '3',
          LOG_FORMAT: 'json',
          LOG_LEVEL: config.LOG_LEVEL,
          SHUTDOWN_TIMEOUT_MS: String(config.SHUTDOWN_TIMEOUT_MS),
          PORTSTREAM_DATA_DIR: dir,
          ...env,
        },
      });
    };
    const watchExit = (c: ChildRunnable): void => {
      void c.exited.then((code) => {
        if (!c.stopRequested) log.error({ child: c.name, code, log: c.logFile }, 'child process exited');
      });
    };

    // All at once: they share nothing but NATS (the streams exist), and a cold start is mostly loading code.
    // Every gateway decides declarations, drawing random inspections with the same secret.
    const secretFile = selectionSecretFor(rt, dir);
    for (let i = 1; i <= processors; i++) {
      procs.push(await spawnChild(`processor-${i}`, ['processor'], {}));
    }
    const sink = await spawnChild('sink', ['sink'], {});
    sinks.push(sink);
    for (let i = 1; i <= gateways; i++) {
      gws.push(
        await spawnChild(`gateway-${i}`, ['ingest'], {
          AUTH_TOKENS_FILE: tokensFile,
          CUSTOMS_SELECTION_SECRET_FILE: secretFile,
          INGEST_HOST: config.INGEST_HOST,
          INGEST_PORT: '0',
          // The simulator spreads terminals and declarations over every gateway: each serves everything.
          INGEST_SERVICES: 'events,manifests,customs',
        }),
      );
    }
    const [addresses] = await Promise.all([
      Promise.all(
        gws.map((g) =>
          g.waitForLog(
            (r) => (r.msg === 'ingest gateway ready' && typeof r.grpc === 'string' ? r.grpc : undefined),
            READY_TIMEOUT_MS,
          ),
        ),
      ),
      ...procs.map((p) => p.waitForLog(msgIs('processor started'), READY_TIMEOUT_MS)),
      sink.waitForLog(msgIs('clickhouse sink started'), READY_TIMEOUT_MS),
    ]);
    for (const c of [...procs, sink, ...gws]) watchExit(c);

    const pidOf = (c: ChildRunnable): string => `pid ${String(c.pid)}`;
    const banner = [
      '',
      'portstream cluster is up (each line a separate process; JS_REPLICAS=3)',
      ...nats.nodes.map(
        (node, i) =>
          `  NATS n${i}       ${node.url}   (pid ${String(node.pid)}, store ${path.join(dir, 'nats', `n${i}`)})`,
      ),
      ...gws.map(
        (g, i) =>
          `  ${g.name.padEnd(13)} ${addresses[i] ?? '?'}   (${pidOf(g)}, IngestService, CustomsService, ManifestService, EnterpriseService)`,
      ),
      ...procs.map((p) => `  ${p.name.padEnd(13)} (${pidOf(p)})`),
      `  sink          (${pidOf(sink)}) -> ${config.CLICKHOUSE_URL ?? `embedded ClickHouse in ${path.join(dir, 'clickhouse')}`}`,
      `  NATS_URL      ${nats.url}`,
      `  endpoints     ${addresses.join(',')}`,
      `  logs          ${logDir}`,
      `  tokens        ${tokensFile}${printable.length ? '' : ' (AUTH_TOKENS_FILE)'}`,
      ...printable.map((t) => `    ${t.role.padEnd(9)} ${t.name.padEnd(20)} Bearer ${t.token}`),
      '  Ctrl-C stops everything in order: simulator, gateways, processors, sink, NATS.',
      '',
    ];
    process.stdout.write(banner.join('\n') + '\n');

    if (o.simulate) {
      const operator =
        printable.find((t) => t.role === 'admin') ?? printable.find((t) => t.role === 'operator');
      const customs = printable.find((t) => t.role === 'customs');
      const carrier = printable.find((t) => t.role === 'carrier');
      if (operator && customs && carrier) {
        const sim = await spawnChild(
          'simulator',
          [
            'simulate',
            '--endpoint',
            addresses.join(','),
            '--token',
            operator.token,
            '--customs-token',
            customs.token,
            '--carrier-token',
            carrier.token,
            '--duration',
            o.duration,
            '--time-scale',
            o.timeScale,
            '--seed',
            o.seed,
          ],
          {},
        );
        sims.push(sim);
        log.info({ endpoints: addresses, duration: o.duration, log: sim.logFile }, 'simulator started');
        void sim.exited.then((code) => {
          if (sim.stopRequested) return;
          const summary = sim.plainLines.map((l) => `  ${l}`).join('\n');
          process.stdout.write(`simulator finished (exit ${String(code)}):\n${summary}\n`);
        });
      } else {
        log.warn('not simulating: tokens come from AUTH_TOKENS_FILE, so the simulator has none to use');
      }
    }
  } catch (err) {
    if (shutdown.requested) await stopped;
    else log.error({ err }, 'start-up failed; stopping what was started');
    // Again after an interrupted start-up: what started while the shutdown ran (stopping twice is harmless).
    for (const [name, run] of steps()) {
      await run().catch((e: unknown) => {
        log.error({ err: e, step: name }, 'stop failed');
      });
    }
    if (!shutdown.requested) process.exitCode = 1;
    return;
  }
  await stopped;
}
