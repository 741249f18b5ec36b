// Composition of the processor: the KV buckets, the customs projector (the declarations' ledger into the decision
// feed, ps_declarations and container links) and/or the container/vessel state consumer with the list index and the
// retention of containers that left (PROCESSOR_ROLES), with a shutdown that stops pulling, finishes what is in
// flight and leaves the NATS connection to the caller.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Registry } from 'prom-client';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { ensureBuckets } from '../core/nats/buckets.js';
import { consumerMetrics } from '../core/consumer/index.js';
import { watchConsumers, type ConsumerRef } from '../core/ops/consumer-metrics.js';
import {
  STREAM_CUSTOMS,
  STREAM_DEADLETTERS,
  STREAM_DECISIONS,
  STREAM_EVENTS,
  waitForStreams,
} from '../core/nats/topology.js';
import { CUSTOMS_CONSUMER, startCustomsProjector } from './customs/projector.js';
import { INDEX_CONSUMER, startListIndex } from './index/projection.js';
import { createProcessorMetrics } from './metrics.js';
import { STATE_CONSUMER, startStateConsumer } from './state/consumer.js';
import { startIndexCompaction } from './index/compaction.js';
import { startContainerRetention, sweepIntervalMs } from './state/retention.js';

export interface ProcessorDeps {
  config: Config;
  log: Logger;
  nc: NatsConnection;
  /** Where the processor's metrics go (the runnable serves it on /metrics); a private one otherwise. */
  registry?: Registry;
}

export interface ProcessorHandle {
  stop(): Promise<void>;
}

export async function startProcessor(deps: ProcessorDeps): Promise<ProcessorHandle> {
  const log = deps.log.child({ component: 'processor' });
  const roles = deps.config.PROCESSOR_ROLES;
  const js = jetstream(deps.nc);
  const jsm = await jetstreamManager(deps.nc);
  const buckets = await ensureBuckets(js, deps.config.JS_REPLICAS);
  const ackWaitMs = deps.config.PROCESSOR_ACK_WAIT_MS;
  await waitForStreams(
    jsm,
    [
      ...(roles.includes('state') ? [STREAM_EVENTS] : []),
      ...(roles.includes('customs') ? [STREAM_CUSTOMS, STREAM_DECISIONS] : []),
      STREAM_DEADLETTERS,
    ],
    (missing) => {
      log.warn(
        { missing },
        'waiting for the streams (created by the gateway, `portstream up` or the operator)',
      );
    },
  );
  const registry = deps.registry ?? new Registry();
  const metrics = createProcessorMetrics(registry);
  const runtimeMetrics = consumerMetrics(registry);
  const parts: { stop(): Promise<void> }[] = [];
  const consumers: ConsumerRef[] = [];
  if (roles.includes('customs')) {
    parts.push(
      await startCustomsProjector({
        nc: deps.nc,
        js,
        jsm,
        buckets,
        logger: log,
        ackWaitMs,
        metrics,
        consumerMetrics: runtimeMetrics,
      }),
    );
    consumers.push({ stream: STREAM_CUSTOMS, consumer: CUSTOMS_CONSUMER });
  }
  if (roles.includes('state')) {
    const retentionMs = deps.config.PROCESSOR_CONTAINER_RETENTION_HOURS * 3_600_000;
    parts.push(
      await startStateConsumer({
        js,
        jsm,
        nc: deps.nc,
        buckets,
        logger: log,
        ackWaitMs,
        metrics,
        consumerMetrics: runtimeMetrics,
        cacheKeys: deps.config.PROCESSOR_STATE_CACHE_KEYS,
      }),
    );
    consumers.push({ stream: STREAM_EVENTS, consumer: STATE_CONSUMER });
    // Containers that left the port leave the bucket after the retention (their history stays in ClickHouse).
    parts.push(
      startContainerRetention({
        js,
        jsm,
        buckets,
        logger: log,
        retentionMs,
        onRetired: (n) => {
          metrics.containersRetired.inc(n);
        },
        // A retirement marker goes once no event it guards against can still be accepted and delivered.
        lateEventsMs: deps.config.INGEST_MAX_AGE_DAYS * 86_400_000,
        onRemoved: (n) => {
          metrics.keysRemoved.inc({ bucket: 'containers' }, n);
        },
      }),
    );
    // Who may be shown which container and declaration, for the API's lists: follows the state it keeps.
    parts.push(
      await startListIndex({
        js,
        jsm,
        nc: deps.nc,
        buckets,
        logger: log,
        ackWaitMs,
        consumerMetrics: runtimeMetrics,
      }),
    );
    // Delete markers and records of retired keys leave the index, so it holds what is listed now.
    parts.push(
      startIndexCompaction({
        js,
        jsm,
        buckets,
        logger: log,
        intervalMs: sweepIntervalMs(retentionMs),
        onRemoved: (n) => {
          metrics.keysRemoved.inc({ bucket: 'list_index' }, n);
        },
      }),
    );
    consumers.push(
      { stream: `KV_${buckets.names.containers}`, consumer: INDEX_CONSUMER },
      { stream: `KV_${buckets.names.declarations}`, consumer: INDEX_CONSUMER },
    );
  }
  const gauges = watchConsumers(jsm, registry, consumers, log);
  log.info({ roles }, 'processor started');
  return {
    stop: async () => {
      gauges.stop();
      await Promise.all(parts.map((p) => p.stop()));
      log.info('processor stopped');
    },
  };
}
