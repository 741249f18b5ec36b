// The JetStream -> ClickHouse sink: one StreamSink per stream (events, customs commands, decisions), each with
// its own durable consumer, so the sink is just another reader of the streams and neither ingest nor the
// processor ever waits for ClickHouse. Exactly-once in effect: see writer.ts. Several sinks may run: per stream,
// the one holding the stream's lease (lease.ts) writes and the others stand by.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { ClickHouse } from '../core/clickhouse/client.js';
import { runMigrations } from '../core/clickhouse/migrate.js';
import { waitForStreams } from '../core/nats/topology.js';
import { SINK_CONSUMER, SINK_MAX_ACK_PENDING } from '../core/consumer/index.js';
import { errorMessage } from '../core/errors.js';
import { watchConsumers } from '../core/ops/consumer-metrics.js';
import type { Logger } from '../core/logger.js';
import { holderId, openLeaseBucket } from './lease.js';
import { createSinkMetrics, type SinkMetrics } from './metrics.js';
import { MAPPINGS } from './rows.js';
import { StreamSink } from './stream-sink.js';

export { createSinkMetrics, type SinkMetrics } from './metrics.js';

export { SINK_CONSUMER };

export interface SinkConfig {
  SINK_BATCH_MAX_ROWS: number;
  SINK_FLUSH_INTERVAL_MS: number;
  SINK_RETRY_MAX_MS: number;
  SINK_ACK_WAIT_MS: number;
  /** Lease length per stream (default 10 s): how long a dead sink's streams wait for another sink. */
  SINK_LEASE_TTL_MS?: number;
  /** Replicas of the lease bucket (default 1). */
  JS_REPLICAS?: number;
}

export const DEFAULT_SINK_LEASE_TTL_MS = 10_000;

export interface SinkDeps {
  nc: NatsConnection;
  /**
   * A second connection for the lease (default: nc). The data connection carries thousands of event groups in
   * flight; a renewal queued behind them on the same socket can miss its deadline and cost the lease.
   */
  leaseNc?: NatsConnection;
  ch: ClickHouse;
  config: SinkConfig;
  log: Logger;
  /** Pass one to share a registry with the API's /metrics; a new one otherwise. */
  metrics?: SinkMetrics;
  /** Durable consumer name on each stream (default clickhouse-sink). */
  consumerName?: string;
  /** How often a summary line (rows/s, inserts, errors, lag) is logged; 0 turns it off. */
  logIntervalMs?: number;
  /** Apply pending migrations before consuming (default true; idempotent, milliseconds when up to date). */
  migrate?: boolean;
}

export interface SinkHandle {
  readonly metrics: SinkMetrics;
  /** The streams this instance consumes and writes now (the others are written by another sink). */
  activeStreams(): string[];
  /** Stops consuming, writes and acks the current batches, then returns; gives up after timeoutMs. */
  stop(timeoutMs?: number): Promise<void>;
}

export async function startSink(deps: SinkDeps): Promise<SinkHandle> {
  const metrics = deps.metrics ?? createSinkMetrics();
  const log = deps.log.child({ component: 'clickhouse-sink' });
  if (deps.migrate ?? true) await runMigrations(deps.ch, log);
  const js = jetstream(deps.nc);
  const jsm = await jetstreamManager(deps.nc);
  await waitForStreams(
    jsm,
    MAPPINGS.map((m) => m.stream),
    (missing) => {
      log.warn(
        { missing },
        'waiting for the streams (created by the gateway, `portstream up` or the operator)',
      );
    },
  );
  const ttlMs = deps.config.SINK_LEASE_TTL_MS ?? DEFAULT_SINK_LEASE_TTL_MS;
  const lease = {
    kv: await openLeaseBucket(
      deps.leaseNc ? jetstream(deps.leaseNc) : js,
      ttlMs,
      deps.config.JS_REPLICAS ?? 1,
    ),
    holder: holderId(),
    ttlMs,
  };
  const sinks = MAPPINGS.map(
    (mapping) =>
      new StreamSink({
        js,
        jsm,
        ch: deps.ch,
        mapping,
        consumerName: deps.consumerName ?? SINK_CONSUMER,
        maxRows: deps.config.SINK_BATCH_MAX_ROWS,
        flushIntervalMs: deps.config.SINK_FLUSH_INTERVAL_MS,
        retryMaxMs: deps.config.SINK_RETRY_MAX_MS,
        maxAckPending: SINK_MAX_ACK_PENDING,
        // Short is safe: the runtime renews what the sink holds (a batch waiting for ClickHouse included) every
        // third of it, and a killed sink's messages reach the next holder this long after it stopped renewing.
        ackWaitMs: deps.config.SINK_ACK_WAIT_MS,
        metrics,
        log,
        lease,
      }),
  );
  for (const s of sinks) await s.start();
  const gauges = watchConsumers(
    jsm,
    metrics.registry,
    MAPPINGS.map((m) => ({ stream: m.stream, consumer: deps.consumerName ?? SINK_CONSUMER })),
    log,
  );
  const reporter = summaryReporter(metrics, log, deps.logIntervalMs ?? 10_000);
  log.info(
    { streams: MAPPINGS.map((m) => m.stream), database: deps.ch.database, holder: lease.holder },
    'clickhouse sink started',
  );
  return {
    metrics,
    activeStreams: () => sinks.filter((s) => s.active).map((s) => s.stream),
    async stop(timeoutMs = 10_000): Promise<void> {
      if (reporter) clearInterval(reporter);
      gauges.stop();
      await Promise.all(sinks.map((s) => s.stop(timeoutMs)));
      // Acks are fire-and-forget publishes: make sure they left before the caller drains or closes NATS.
      await deps.nc.flush();
      // What it acked last is written: the floor moves up to it (floor.ts).
      await Promise.all(sinks.map((s) => s.recordFloor()));
      log.info('clickhouse sink stopped');
    },
  };
}

/** Logs rows/s, inserts/s, errors and lag per table every intervalMs, from the same counters /metrics shows. */
function summaryReporter(metrics: SinkMetrics, log: Logger, intervalMs: number): NodeJS.Timeout | undefined {
  if (intervalMs <= 0) return undefined;
  let last = new Map<string, number>();
  const timer = setInterval(() => {
    (async () => {
      const now = new Map<string, number>();
      for (const [name, metric] of [
        ['rows', metrics.rowsInserted],
        ['inserts', metrics.inserts],
        ['errors', metrics.insertErrors],
      ] as const) {
        for (const v of (await metric.get()).values) now.set(`${name}:${String(v.labels.table)}`, v.value);
      }
      const lag = Object.fromEntries(
        (await metrics.lag.get()).values.map((v) => [String(v.labels.stream), v.value]),
      );
      const perSecond = (k: string): number =>
        Math.round((((now.get(k) ?? 0) - (last.get(k) ?? 0)) * 10_000) / intervalMs) / 10;
      const tables = MAPPINGS.map((m) => ({
        table: m.table,
        rowsPerSec: perSecond(`rows:${m.table}`),
        insertsPerSec: perSecond(`inserts:${m.table}`),
        errors: (now.get(`errors:${m.table}`) ?? 0) - (last.get(`errors:${m.table}`) ?? 0),
      }));
      last = now;
      log.info({ tables, lag }, 'clickhouse sink progress');
    })().catch((err: unknown) => {
      log.warn({ err: errorMessage(err) }, 'sink progress report failed');
    });
  }, intervalMs);
  timer.unref();
  return timer;
}
