// What the processor counts, in a prom-client registry the runnable serves on its ops endpoint (and `up` on the
// API's /metrics): events applied to container and vessel state, decisions by channel, how each consumer's
// messages ended and how long handling took. Consumer backlog and redeliveries come from the server
// (core/ops/consumer-metrics.ts).
import { Counter, Histogram, type Registry } from 'prom-client';

export interface ProcessorMetrics {
  /** Events in event groups the state consumer applied and acked. */
  eventsApplied: Counter;
  /** Decisions this processor published first (a re-publish JetStream answers as duplicate is not counted). */
  decisions: Counter<'channel'>;
  /** Messages by consumer and how they ended: ack, retry (nak), dead_letter (term). */
  messages: Counter<'consumer' | 'outcome'>;
  /** Handling time: per command for the decider, per batch of event groups for the state consumer. */
  handlerSeconds: Histogram<'consumer'>;
  /** Containers removed from ps_containers after they left the port (processor/state/retention.ts). */
  containersRetired: Counter;
}

export function createProcessorMetrics(registry: Registry): ProcessorMetrics {
  const registers = [registry];
  return {
    eventsApplied: new Counter({
      name: 'portstream_processor_events_applied_total',
      help: 'Events applied to container and vessel-visit state (acked event groups)',
      registers,
    }),
    decisions: new Counter({
      name: 'portstream_processor_decisions_total',
      help: 'Customs decisions published, by channel',
      labelNames: ['channel'],
      registers,
    }),
    messages: new Counter({
      name: 'portstream_processor_messages_total',
      help: 'Messages handled by each processor consumer, by outcome (ack, retry, dead_letter)',
      labelNames: ['consumer', 'outcome'],
      registers,
    }),
    handlerSeconds: new Histogram({
      name: 'portstream_processor_handler_seconds',
      help: 'Handling time: one customs command (processor-customs), one batch of event groups (processor-events)',
      labelNames: ['consumer'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    containersRetired: new Counter({
      name: 'portstream_processor_containers_retired_total',
      help: 'Containers removed from the ps_containers bucket PROCESSOR_CONTAINER_RETENTION_HOURS after they left the port',
      registers,
    }),
  };
}
