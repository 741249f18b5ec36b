// What the processor counts, in a prom-client registry the runnable serves on its ops endpoint (and `up` on the
// API's /metrics): events applied to container and vessel state, decisions put on the feed by channel, containers
// retired, keys removed. How each consumer's messages ended and how long handling took are the consumer runtime's metrics
// (core/consumer/metrics.ts); backlog and redeliveries come from the server (core/ops/consumer-metrics.ts).
import { Counter, type Registry } from 'prom-client';

export interface ProcessorMetrics {
  /** Events in event groups the state consumer applied and acked. */
  eventsApplied: Counter;
  /** Decisions this processor put on the decision feed first (a re-publish found on the feed is not counted). */
  decisions: Counter<'channel'>;
  /** Containers removed from ps_containers after they left the port (processor/state/retention.ts). */
  containersRetired: Counter;
  /**
   * Keys removed so buckets do not grow with history: `containers` (retirement markers no event can still need,
   * processor/state/retention.ts) and `list_index` (delete markers and records of retired keys,
   * processor/index/compaction.ts).
   */
  keysRemoved: Counter<'bucket'>;
  /**
   * Where the state consumer's compare-and-sets started: `memory` (the entry it remembered, or a new
   * container presumed absent) or `store` (a read); and `refused`, writes from a stale memory.
   */
  stateCache: Counter<'result'>;
}

export function createProcessorMetrics(registry: Registry): ProcessorMetrics {
  const registers = [registry];
  return {
    stateCache: new Counter({
      name: 'portstream_processor_state_cache_total',
      help: 'State compare-and-sets by where they started: memory (no read), store (a read), refused (memory was stale)',
      labelNames: ['result'],
      registers,
    }),
    eventsApplied: new Counter({
      name: 'portstream_processor_events_applied_total',
      help: 'Events applied to container and vessel-visit state (acked event groups)',
      registers,
    }),
    decisions: new Counter({
      name: 'portstream_processor_decisions_total',
      help: 'Customs decisions put on the decision feed, by channel',
      labelNames: ['channel'],
      registers,
    }),
    containersRetired: new Counter({
      name: 'portstream_processor_containers_retired_total',
      help: 'Containers removed from the ps_containers bucket PROCESSOR_CONTAINER_RETENTION_HOURS after they left the port',
      registers,
    }),
    keysRemoved: new Counter({
      name: 'portstream_processor_keys_removed_total',
      help: 'KV keys removed because nothing needs them any more (retirement markers, list index delete markers and records of retired keys), by bucket',
      labelNames: ['bucket'],
      registers,
    }),
  };
}
