// Gauges of durable JetStream consumers as the server sees them (pending, waiting for ack, redelivered), read
// every few seconds in the background so a slow or absent NATS never holds up a /metrics scrape.
import type { JetStreamManager } from '@nats-io/jetstream';
import { Gauge, type Registry } from 'prom-client';
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
  const labelNames = ['stream', 'consumer'] as const;
  const registers = [registry];
  const pending = new Gauge({
    name: 'portstream_consumer_pending',
    help: 'Messages in the stream not yet delivered to this durable consumer (its backlog)',
    labelNames,
    registers,
  });
  const ackPending = new Gauge({
    name: 'portstream_consumer_ack_pending',
    help: 'Messages delivered to this durable consumer and not yet acknowledged',
    labelNames,
    registers,
  });
  const redelivered = new Gauge({
    name: 'portstream_consumer_redelivered',
    help: 'Messages delivered more than once and not yet acknowledged',
    labelNames,
    registers,
  });
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
