// Durable pull consumers: what each is (stream, name, filter, ack_wait, max_deliver, max_ack_pending) and their
// creation. The admin step (`portstream migrate`, `up`) creates every durable in durableSpecs(); each service
// also ensures its own at start-up (its NATS user may create and update only its own durables), so a service
// started against a topology without them still works, and a changed ack_wait reaches an existing durable.
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerConfig,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import { BUCKET_CONTAINERS, BUCKET_DECLARATIONS } from '../nats/buckets.js';
import { notifySubjects, STREAM_WEBHOOK_OUTBOX } from '../nats/notify.js';
import { STREAM_CUSTOMS, STREAM_DECISIONS, STREAM_EVENTS, subjects } from '../nats/topology.js';

export interface DurableSpec {
  stream: string;
  durable: string;
  /** Only messages on these subjects (undefined: the whole stream). */
  filterSubject?: string;
  /** How long a delivered message may go without ack or working() before it is delivered again. */
  ackWaitMs: number;
  /** Deliveries before the server gives up on a message (-1: no limit); the runtime dead-letters the last. */
  maxDeliver: number;
  /** Messages delivered and not yet acked, at most: the server stops delivering at this many. */
  maxAckPending: number;
  /**
   * Where a new durable starts: 'all' (the default) from the stream's first message, 'new' from the next one
   * stored (a durable that tells of what happens from now on, not of the stream's history). Fixed at creation.
   */
  deliverPolicy?: 'all' | 'new';
}

/** The consumer configuration of a spec: explicit acks, from the start of the stream unless it says 'new'. */
export function durableConfig(spec: DurableSpec): Partial<ConsumerConfig> & { durable_name: string } {
  return {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: spec.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    ...(spec.filterSubject === undefined ? {} : { filter_subject: spec.filterSubject }),
    ack_wait: nanos(spec.ackWaitMs),
    max_deliver: spec.maxDeliver,
    max_ack_pending: spec.maxAckPending,
  };
}

/**
 * Creates the durable, or brings an existing one to the spec's ack_wait, max_deliver and max_ack_pending (the
 * rest is fixed at creation). Never deletes or re-creates one: a re-created durable reads its stream again
 * from the start.
 */
export async function ensureDurable(jsm: JetStreamManager, spec: DurableSpec): Promise<void> {
  const config = durableConfig(spec);
  let existing;
  try {
    existing = await jsm.consumers.info(spec.stream, spec.durable);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
    await jsm.consumers.add(spec.stream, config);
    return;
  }
  const c = existing.config;
  if (
    c.ack_wait !== config.ack_wait ||
    c.max_deliver !== config.max_deliver ||
    c.max_ack_pending !== config.max_ack_pending
  ) {
    await jsm.consumers.update(spec.stream, spec.durable, {
      ack_wait: nanos(spec.ackWaitMs),
      max_deliver: spec.maxDeliver,
      max_ack_pending: spec.maxAckPending,
    });
  }
}

export const STATE_CONSUMER = 'processor-events';
export const CUSTOMS_CONSUMER = 'processor-customs';
export const SINK_CONSUMER = 'clickhouse-sink';
/** The list index projection's durable, one on each source bucket's stream. */
export const INDEX_CONSUMER = 'processor-index';

/** The settings the durables depend on. */
export interface DurableSettings {
  PROCESSOR_ACK_WAIT_MS: number;
  SINK_ACK_WAIT_MS: number;
}

/** Room for a sink batch being written plus the next one filling (an events message holds many rows). */
export const SINK_MAX_ACK_PENDING = 20_000;

export function stateDurable(ackWaitMs: number): DurableSpec {
  return {
    stream: STREAM_EVENTS,
    durable: STATE_CONSUMER,
    filterSubject: subjects.allEvents,
    ackWaitMs,
    maxDeliver: 10,
    maxAckPending: 1000,
  };
}

export function customsDurable(ackWaitMs: number): DurableSpec {
  return {
    stream: STREAM_CUSTOMS,
    durable: CUSTOMS_CONSUMER,
    filterSubject: subjects.allCustomsCommands,
    ackWaitMs,
    maxDeliver: 10,
    maxAckPending: 1000,
  };
}

/** Messages per batch of the list index projection (keys projected at once). */
export const INDEX_MAX_BATCH = 256;

/**
 * The list index projection's durable on the stream of a source bucket (ps_containers, ps_declarations): every
 * change of a key, from the bucket's first message, so a new durable indexes everything that exists.
 */
export function indexDurable(bucket: string, ackWaitMs: number): DurableSpec {
  return {
    stream: `KV_${bucket}`,
    durable: INDEX_CONSUMER,
    ackWaitMs,
    maxDeliver: 10,
    maxAckPending: 4 * INDEX_MAX_BATCH,
  };
}

/**
 * The sink's durable on one stream. No delivery limit: a sink redelivery is never the message's fault (a
 * killed sink, a lease moving on); an INSERT ClickHouse refuses is retried in place, an undecodable message is
 * dead-lettered at once.
 */
export function sinkDurable(stream: string, ackWaitMs: number, durable = SINK_CONSUMER): DurableSpec {
  return { stream, durable, ackWaitMs, maxDeliver: -1, maxAckPending: SINK_MAX_ACK_PENDING };
}

export const NOTIFY_EVENTS_CONSUMER = 'notify-events';
export const NOTIFY_DECISIONS_CONSUMER = 'notify-decisions';
/** The notify fan-out's ack_wait: one EventGroup's state reads and outbox publishes, renewed while held. */
export const NOTIFY_FANOUT_ACK_WAIT_MS = 30_000;

/**
 * The notify fan-out's durables (notify-events on the equipment events, notify-decisions on the decisions).
 * max_ack_pending 1: the server hands out the next message only once this one is acked, so each webhook's
 * outbox subject holds the stream's order however many notify processes run. No delivery limit: what fails
 * here is NATS or the state store, never the message (one that cannot be decoded is dead-lettered at once),
 * and a message given up on would be a notification lost for every webhook; a stuck message shows in
 * portstream_consumer_redeliveries_total. Deliver new: a new deployment tells of what happens from now on,
 * not of the stream's week of history.
 */
export function notifyFanoutDurables(): DurableSpec[] {
  const common = {
    ackWaitMs: NOTIFY_FANOUT_ACK_WAIT_MS,
    maxDeliver: -1,
    maxAckPending: 1,
    deliverPolicy: 'new' as const,
  };
  return [
    {
      ...common,
      stream: STREAM_EVENTS,
      durable: NOTIFY_EVENTS_CONSUMER,
      filterSubject: subjects.equipmentEvents,
    },
    {
      ...common,
      stream: STREAM_DECISIONS,
      durable: NOTIFY_DECISIONS_CONSUMER,
      filterSubject: subjects.allDecisions,
    },
  ];
}

export const webhookConsumerName = (webhookId: string): string => `notify-${webhookId}`;

/**
 * One webhook's delivery durable on its outbox subject (created by the notify service when the webhook is,
 * deleted with it). max_ack_pending 1 keeps deliveries in order per webhook across retries, restarts and
 * several notify processes. max_deliver unlimited by design: a failing endpoint is retried (with the
 * webhook's backoff) until the webhook is disabled after NOTIFY_DISABLE_AFTER_MS, a bound in time rather
 * than in count, and what waited is delivered once it is re-enabled. ack_wait: one attempt (the request's
 * timeout) plus room for the delivery log and the webhook's state; the runtime renews it meanwhile.
 */
export function webhookDurable(webhookId: string, requestTimeoutMs: number): DurableSpec {
  return {
    stream: STREAM_WEBHOOK_OUTBOX,
    durable: webhookConsumerName(webhookId),
    filterSubject: notifySubjects.outbox(webhookId),
    ackWaitMs: requestTimeoutMs + 5_000,
    maxDeliver: -1,
    maxAckPending: 1,
  };
}

/** Every durable the services use, as the admin step creates them. */
export function durableSpecs(s: DurableSettings): DurableSpec[] {
  return [
    stateDurable(s.PROCESSOR_ACK_WAIT_MS),
    customsDurable(s.PROCESSOR_ACK_WAIT_MS),
    ...[BUCKET_CONTAINERS, BUCKET_DECLARATIONS].map((b) => indexDurable(b, s.PROCESSOR_ACK_WAIT_MS)),
    ...[STREAM_EVENTS, STREAM_CUSTOMS, STREAM_DECISIONS].map((stream) =>
      sinkDurable(stream, s.SINK_ACK_WAIT_MS),
    ),
  ];
}
