// What the consumer runtime counts for every durable it runs, labelled by stream and consumer: how messages
// ended, redeliveries seen, dead letters by cause, handling time per batch, the messages held in memory and the
// pulls the runtime's watchdog replaced.
// The server's view of each durable (backlog, waiting for ack) is core/ops/consumer-metrics.ts. One set per
// registry, so the processor and the sink can share `up`'s registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

type Labels = 'stream' | 'consumer';

export interface ConsumerMetrics {
  /** Messages by how they ended: ack, retry (nak), dead_letter (term), released (left for redelivery). */
  messages: Counter<Labels | 'outcome'>;
  /** Deliveries that were not a message's first. */
  redeliveries: Counter<Labels>;
  /** Dead-letter records written: cause permanent (can never succeed) or exhausted (max_deliver reached). */
  deadLetters: Counter<Labels | 'cause'>;
  /** Time the handler took per batch (one message per batch for keyed consumers). */
  handlerSeconds: Histogram<Labels>;
  /** Messages pulled and not yet acked, nakked or released by this process. */
  held: Gauge<Labels>;
  /** Pulls replaced because they stopped bringing messages (runtime.ts watchdog), by reason. */
  pullRestarts: Counter<Labels | 'reason'>;
}

const perRegistry = new WeakMap<Registry, ConsumerMetrics>();

export function consumerMetrics(registry: Registry): ConsumerMetrics {
  const known = perRegistry.get(registry);
  if (known) return known;
  const registers = [registry];
  const labelNames = ['stream', 'consumer'] as const;
  const m: ConsumerMetrics = {
    messages: new Counter({
      name: 'portstream_consumer_messages_total',
      help: 'Messages handled by a durable consumer, by outcome (ack, retry, dead_letter, released)',
      labelNames: [...labelNames, 'outcome'],
      registers,
    }),
    redeliveries: new Counter({
      name: 'portstream_consumer_redeliveries_total',
      help: 'Deliveries of a message that had been delivered before (a crash, a lease moving on, a retry)',
      labelNames,
      registers,
    }),
    deadLetters: new Counter({
      name: 'portstream_consumer_dead_letters_total',
      help: 'Messages terminated with a dead-letter record, by cause (permanent, exhausted)',
      labelNames: [...labelNames, 'cause'],
      registers,
    }),
    handlerSeconds: new Histogram({
      name: 'portstream_consumer_handler_seconds',
      help: 'Handling time of one batch of messages',
      labelNames,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    held: new Gauge({
      name: 'portstream_consumer_held_messages',
      help: 'Messages this process pulled and has not yet acked, nakked or released (bounded per consumer)',
      labelNames,
      registers,
    }),
    pullRestarts: new Counter({
      name: 'portstream_consumer_pull_restarts_total',
      help: 'Pulls replaced because they stopped bringing messages: cut_short (a byte-bounded pull ended by a larger message, nothing buffered), idle (nothing arrived while the server had messages waiting)',
      labelNames: [...labelNames, 'reason'],
      registers,
    }),
  };
  perRegistry.set(registry, m);
  return m;
}
