// Gauges of durable JetStream consumers as the server sees them (pending, waiting for ack, redelivered), read
// every few seconds in the background so a slow or absent NATS never holds up a /metrics scrape. Several
// watchers may share a registry (`up` runs the processor and the sink in one process): the gauges are shared.
import type { JetStreamManager } from '@nats-io/jetstream';
import { Gauge, type Registry } from 'prom-client';

/** The registry's gauge of this name, or a new one registered there. */
function gauge(registry: Registry, name: string, help: string): Gauge<'stream' | 'consumer'> {
  const known = registry.getSingleMetric(name);
  if (known instanceof Gauge) return known;
  return new Gauge({ name, help, labelNames: ['stream', 'consumer'], registers: [registry] });
}
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';

export interface ConsumerRef {
  stream: string;
  consumer: string;
}

export interface ConsumerGauges {
  /** Reads every consumer's info once now (tests; the timer does it otherwise). */
  refresh(): Promise<void>;
  stop(): void;
}

export function watchConsumers(
  jsm: JetStreamManager,
  registry: Registry,
  consumers: readonly ConsumerRef[],
  log: Logger,
  intervalMs = 5000,
): ConsumerGauges {
  const pending = gauge(
    registry,
    'portstream_consumer_pending',
    'Messages in the stream not yet delivered to this durable consumer (its backlog)',
  );
  const ackPending = gauge(
    registry,
    'portstream_consumer_ack_pending',
    'Messages delivered to this durable consumer and not yet acknowledged',
  );
  const redelivered = gauge(
    registry,
    'portstream_consumer_redelivered',
    'Messages delivered more than once and not yet acknowledged',
  );
  const refresh = async (): Promise<void> => {
    await Promise.all(
      consumers.map(async ({ stream, consumer }) => {
        try {
          const info = await jsm.consumers.info(stream, consumer);
          pending.set({ stream, consumer }, info.num_pending);
          ackPending.set({ stream, consumer }, info.num_ack_pending);
          redelivered.set({ stream, consumer }, info.num_redelivered);
        } catch (err) {
          log.debug({ stream, consumer, err: errorMessage(err) }, 'consumer info not read');
        }
      }),
    );
  };
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= refresh().finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  void refresh();
  return {
    refresh,
    stop: () => {
      clearInterval(timer);
    },
  };
}
