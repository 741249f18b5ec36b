// `portstream bench --soak MINUTES`: the memory soak. Runs each service as its own process, as on separate
// machines (`portstream ingest`, `processor`, `sink` on embedded ClickHouse, `api`), against a local
// nats-server, with a load generator process sending events, declarations and status reads at fixed rates
// for the whole run. RSS of every process is sampled every few seconds; the result gives each one's peak and
// growth trend (least-squares slope after a warm-up), and the consumer lag when the load stopped.
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '../../core/nats/connect.js';
import { freePort } from '../../core/nats/local-cluster.js';
import { LocalNatsServer } from '../../core/nats/local-server.js';
import { oneMachineNatsProcs } from '../../core/config.js';
import { runHarnessScript, type HarnessChild } from './child.js';
import { round } from './measure.js';
import { BenchLoadError } from './load-account.js';
import { progress } from './progress.js';
import { RssSeries, type RssTrend } from './rss-trend.js';
import type { SoakLoadPlan, SoakLoadResult } from './soak-load.js';

export interface SoakOptions {
  minutes: number;
  jsonPath: string;
  eventsPerSec: number;
  declarationsPerSec: number;
  statusPerSec: number;
  /** GOMAXPROCS of the soak's nats-server (see BenchOptions.natsProcs). */
  natsProcs?: number | 'all';
}

const OPERATOR_TOKEN = 'soak-operator-token-0123456789';
const CUSTOMS_TOKEN = 'soak-customs-token-0123456789';
// The bench containers are gated out within moments, after which no terminal operator sees them: reads go as
// admin, which sees every container.
const ADMIN_TOKEN = 'soak-admin-token-0123456789';
const SERVICES = ['ingest', 'processor', 'sink', 'api'] as const;

/** Polls until something accepts TCP connections on the port, or throws at the deadline. */
async function listening(port: number, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => {
        resolve(false);
      });
    });
    if (ok) return;
    await delay(200);
  }
  throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms`);
}

/** SIGTERM (graceful shutdown), then SIGKILL if it has not exited in time. */
async function stopService(c: HarnessChild): Promise<string | undefined> {
  if (c.process.exitCode !== null)
    return c.done.then(
      () => undefined,
      (e: unknown) => String(e),
    );
  c.process.kill('SIGTERM');
  const timer = setTimeout(() => c.process.kill('SIGKILL'), 30_000);
  try {
    await c.done;
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    clearTimeout(timer);
  }
}

interface LogSummary {
  errors: number;
  warnings: number;
  /** Message (and error type) of the first error line. */
  first?: string;
}

/** Counts the warn (40) and error (50+) lines of a service's JSON log. */
async function summariseLog(file: string): Promise<LogSummary> {
  const out: LogSummary = { errors: 0, warnings: 0 };
  const text = await readFile(file, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const l = JSON.parse(line) as {
        level?: number;
        msg?: string;
        err?: { type?: string; message?: string };
      };
      if ((l.level ?? 0) >= 50) {
        out.errors++;
        out.first ??= `${l.msg ?? ''}${l.err ? `: ${l.err.type ?? ''} ${l.err.message ?? ''}` : ''}`;
      } else if (l.level === 40) out.warnings++;
    } catch {
      // A line cut short by a kill: not a log record.
    }
  }
  return out;
}

/** Unprocessed plus unacknowledged messages per durable consumer of every stream. */
async function consumerLag(url: string): Promise<Record<string, number>> {
  const nc = await connectNats({ url, name: 'bench-soak-lag' });
  try {
    const jsm = await jetstreamManager(nc);
    const out: Record<string, number> = {};
    for await (const s of jsm.streams.list()) {
      for await (const c of jsm.consumers.list(s.config.name)) {
        out[`${s.config.name}/${c.name}`] = c.num_pending + c.num_ack_pending;
      }
    }
    return out;
  } finally {
    await nc.close();
  }
}

export async function runSoak(o: SoakOptions): Promise<Record<string, unknown>> {
  const durationMs = Math.round(o.minutes * 60_000);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portstream-soak-'));
  const nats = await LocalNatsServer.start({
    storeDir: path.join(dir, 'nats'),
    procs: o.natsProcs ?? oneMachineNatsProcs(),
  });
  const pids = new Map<string, number>([['bench (soak driver)', process.pid]]);
  if (nats.pid !== undefined) pids.set('nats-server', nats.pid);
  const services = new Map<string, HarnessChild>();
  const logFds: number[] = [];
  const rss = new RssSeries(() => pids);
  // Every few seconds; short runs sample more often so the slope still has enough points.
  const intervalMs = durationMs >= 120_000 ? 5000 : 1000;
  try {
    const tokensFile = path.join(dir, 'tokens.json');
    await writeFile(
      tokensFile,
      JSON.stringify({
        tokens: [
          { name: 'soak-operator', role: 'operator', token: OPERATOR_TOKEN, terminals: ['VNHPH:*'] },
          { name: 'soak-customs', role: 'customs', token: CUSTOMS_TOKEN },
          { name: 'soak-admin', role: 'admin', token: ADMIN_TOKEN },
        ],
      }),
    );
    const [ingestPort, apiGrpcPort, apiHttpPort] = [await freePort(), await freePort(), await freePort()];
    for (const name of SERVICES) {
      // Each its own data folder: embedded ClickHouse binds one folder per process.
      const dataDir = path.join(dir, name);
      await mkdir(dataDir, { recursive: true });
      // Logs to a file per service: errors are counted in the result instead of flooding the terminal.
      const logFd = openSync(path.join(dir, `${name}.log`), 'w');
      logFds.push(logFd);
      const child = runHarnessScript('../../cli/portstream', [name], {
        stdoutFd: logFd,
        env: {
          ...process.env,
          NATS_URL: nats.url,
          AUTH_TOKENS_FILE: tokensFile,
          PORTSTREAM_DATA_DIR: dataDir,
          LOG_LEVEL: 'warn',
          LOG_FORMAT: 'json',
          INGEST_HOST: '127.0.0.1',
          INGEST_PORT: String(ingestPort),
          API_GRPC_HOST: '127.0.0.1',
          API_GRPC_PORT: String(apiGrpcPort),
          API_HTTP_HOST: '127.0.0.1',
          API_HTTP_PORT: String(apiHttpPort),
        },
      });
      // A service that dies is reported at the end, not thrown while the others run.
      child.done.catch(() => undefined);
      services.set(name, child);
      if (child.process.pid !== undefined) pids.set(name, child.process.pid);
      // Only the gateway creates the streams; the processor's consumers need them to exist when it starts.
      if (name === 'ingest') await listening(ingestPort, 'ingest');
    }
    await listening(apiGrpcPort, 'api');

    const plan: SoakLoadPlan = {
      ingestAddress: `127.0.0.1:${ingestPort}`,
      apiAddress: `127.0.0.1:${apiGrpcPort}`,
      operatorToken: OPERATOR_TOKEN,
      customsToken: CUSTOMS_TOKEN,
      statusToken: ADMIN_TOKEN,
      runId: `soak${Date.now().toString(36)}`,
      eventsPerSec: o.eventsPerSec,
      declarationsPerSec: o.declarationsPerSec,
      statusPerSec: o.statusPerSec,
      durationMs,
    };
    let load: SoakLoadResult | undefined;
    rss.start(intervalMs);
    const started = Date.now();
    const bar = progress('soak', durationMs);
    const tick = setInterval(() => {
      bar.update(Date.now() - started, `${Math.round((Date.now() - started) / 1000)} s`);
    }, 1000);
    try {
      const loader = runHarnessScript('soak-load', [JSON.stringify(plan)], {
        onLine: (line) => {
          load = JSON.parse(line) as SoakLoadResult;
        },
      });
      if (loader.process.pid !== undefined) pids.set('load generator', loader.process.pid);
      await loader.done;
    } finally {
      clearInterval(tick);
      bar.stop();
    }
    rss.stop();
    const loadSeconds = (Date.now() - started) / 1000;

    // How far behind the consumers were when the load stopped, and how long they took to catch up.
    const lagAtEnd = await consumerLag(nats.url);
    const drainStart = Date.now();
    let drainedS: number | null = null;
    while (Date.now() - drainStart < 60_000) {
      const lag = await consumerLag(nats.url);
      if (Object.values(lag).every((n) => n === 0)) {
        drainedS = round((Date.now() - drainStart) / 1000, 1);
        break;
      }
      await delay(500);
    }

    const serviceErrors: Record<string, string> = {};
    for (const [name, c] of services) {
      const err = await stopService(c);
      if (err !== undefined) serviceErrors[name] = err;
    }
    services.clear();
    const logs: Record<string, LogSummary> = {};
    for (const name of SERVICES) logs[name] = await summariseLog(path.join(dir, `${name}.log`));

    // Warm-up excluded from the trend: start-up allocation, JIT, first buffers.
    const warmupS = Math.min(60, loadSeconds / 4);
    const trends = rss.trends(warmupS);
    const pick = (f: (t: RssTrend) => number, digits: number): Record<string, number> =>
      Object.fromEntries(Object.entries(trends).map(([n, t]) => [n, round(f(t), digits)]));
    const result = {
      date: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        cpu_model: os.cpus()[0]?.model ?? 'unknown',
        memory_gb: round(os.totalmem() / 1024 ** 3, 1),
        node: process.version,
        nats_procs: nats.procs,
      },
      soak: {
        stage: 'ingest, processor, sink (embedded ClickHouse), api as separate processes; load from a child',
        minutes: o.minutes,
        events_per_s: o.eventsPerSec,
        declarations_per_s: o.declarationsPerSec,
        status_per_s: o.statusPerSec,
        sample_interval_s: intervalMs / 1000,
        warmup_excluded_s: round(warmupS, 1),
        ...(load ?? { load_error: 'the load generator printed no result' }),
        lag_at_load_end: lagAtEnd,
        lag_drained_s: drainedS,
        ...(Object.keys(serviceErrors).length > 0 ? { service_exit_errors: serviceErrors } : {}),
        service_log_errors: Object.fromEntries(Object.entries(logs).map(([n, l]) => [n, l.errors])),
        service_log_warnings: Object.fromEntries(Object.entries(logs).map(([n, l]) => [n, l.warnings])),
        ...(Object.values(logs).some((l) => l.first !== undefined)
          ? {
              service_first_error: Object.fromEntries(
                Object.entries(logs).flatMap(([n, l]) => (l.first === undefined ? [] : [[n, l.first]])),
              ),
            }
          : {}),
      },
      memory: {
        max_rss_mb: round(Math.max(0, ...Object.values(trends).map((t) => t.peak_mb)), 1),
        per_process_mb: pick((t) => t.peak_mb, 1),
        rss_start_mb: pick((t) => t.start_mb, 1),
        rss_end_mb: pick((t) => t.end_mb, 1),
        rss_slope_mb_per_min: pick((t) => t.slope_mb_per_min, 2),
      },
    };
    await mkdir(path.dirname(path.resolve(o.jsonPath)), { recursive: true });
    await writeFile(o.jsonPath, JSON.stringify(result, null, 2) + '\n');
    // The memory figures are written either way; a load that was refused or failed still fails the run.
    if (!load) throw new BenchLoadError('soak', 'the load generator printed no result');
    for (const [scenario, s] of Object.entries(load.loads)) {
      if (s.first_problem !== undefined) throw new BenchLoadError(scenario, s.first_problem);
    }
    return result;
  } finally {
    rss.stop();
    for (const c of services.values()) await stopService(c);
    for (const fd of logFds) closeSync(fd);
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
