// Composition of the processor: the risk rules in force (reloaded when their file changes), the KV buckets, the
// customs decider and/or the container/vessel state consumer (PROCESSOR_ROLES), with a shutdown that stops pulling, finishes what is
// in flight and leaves the NATS connection to the caller.
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
import { CUSTOMS_CONSUMER, startCustomsDecider } from './customs/decider.js';
import { createProcessorMetrics } from './metrics.js';
import { SelectionSecrets } from './rules/selection.js';
import { RuleStore } from './rules/store.js';
import { STATE_CONSUMER, startStateConsumer } from './state/consumer.js';

export interface ProcessorDeps {
  config: Config;
  log: Logger;
  nc: NatsConnection;
  /** Where the processor's metrics go (the runnable serves it on /metrics); a private one otherwise. */
  registry?: Registry;
}

export interface ProcessorHandle {
  /** Version of the rule set in force. */
  rulesVersion(): string;
  stop(): Promise<void>;
}

export async function startProcessor(deps: ProcessorDeps): Promise<ProcessorHandle> {
  const log = deps.log.child({ component: 'processor' });
  const rules = new RuleStore(deps.config.PROCESSOR_RULES_FILE, log);
  rules.watch();
  const roles = deps.config.PROCESSOR_ROLES;
  const secrets = roles.includes('customs')
    ? new SelectionSecrets(deps.config.CUSTOMS_SELECTION_SECRET_FILE, log)
    : undefined;
  secrets?.watch();
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
  const parts: { stop(): Promise<void> }[] = [];
  const consumers: ConsumerRef[] = [];
  if (roles.includes('customs')) {
    parts.push(
      await startCustomsDecider({
        js,
        jsm,
        buckets,
        rules: () => rules.current(),
        selection: (version) => (secrets as SelectionSecrets).keyFor(version),
        logger: log,
        ackWaitMs,
        metrics,
      }),
    );
    consumers.push({ stream: STREAM_CUSTOMS, consumer: CUSTOMS_CONSUMER });
  }
  if (roles.includes('state')) {
    parts.push(
      await startStateConsumer({
        js,
        jsm,
        nc: deps.nc,
        buckets,
        logger: log,
        ackWaitMs,
        metrics,
        consumerMetrics: consumerMetrics(registry),
      }),
    );
    consumers.push({ stream: STREAM_EVENTS, consumer: STATE_CONSUMER });
  }
  const gauges = watchConsumers(jsm, registry, consumers, log);
  log.info({ rules: rules.current().version, roles }, 'processor started');
  return {
    rulesVersion: () => rules.current().version,
    stop: async () => {
      rules.close();
      secrets?.close();
      gauges.stop();
      await Promise.all(parts.map((p) => p.stop()));
      log.info('processor stopped');
    },
  };
}
