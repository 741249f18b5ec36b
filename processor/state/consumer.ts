// The container and vessel-visit state consumer: a named durable pull consumer on PS_EVENTS that applies each
// EventGroup to the ps_containers and ps_vessel_visits KV buckets.
//
// It works in batches: the messages waiting when it is free (up to a bound) are decoded together, their events
// grouped per container and per visit ACROSS messages, and each key gets ONE read-modify-write
// (compare-and-set) per batch. The reads of a batch go out together, then the writes, so the NATS client sends
// them in a few large socket writes instead of one per key; a container touched by several messages of the
// batch is written once. Batches run one after another, so two batches never race on a key in this process;
// other processes (another instance, the decider linking declarations) are handled by the compare-and-set.
// Each key's compare-and-set starts from the entry this process last read or wrote for it when it remembers
// one (core/nats/cas-cache.ts), and a container whose first event in the batch brings it into the terminal is
// presumed new: either way only the write is sent, and a stale guess costs one refused write and a read.
// A message is acked once every key it touched is stored; a key that fails fails the messages that touched it
// (the writes are idempotent: event ids and sets). Pulling, renewing, retries and dead letters (an undecodable
// group, or one that failed on its last delivery) are the consumer runtime's (core/consumer/runtime.ts).
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Registry } from 'prom-client';
import {
  consumerMetrics,
  ensureDurable,
  startConsumer,
  stateDurable,
  STATE_CONSUMER,
  type BatchOutcome,
  type ConsumerMetrics,
  type Item,
} from '../../core/consumer/index.js';
import { sourcedEventId } from '../../core/event-key.js';
import type { Logger } from '../../core/logger.js';
import type { Buckets } from '../../core/nats/buckets.js';
import type { Event } from '../../proto/gen/portstream/v1/events.js';
import { EventGroup } from '../../proto/gen/portstream/v1/records.js';
import { CasBucket, PipelinedRequests } from '../../core/nats/pipelined.js';
import { RememberingCasStore, type CasCacheStats } from '../../core/nats/cas-cache.js';
import type { ProcessorMetrics } from '../metrics.js';
import { readModifyWrite, type CasStore } from '../../core/nats/cas.js';
import { decodeRetiredContainer, type RetiredContainer } from '../../core/state/container.js';
import {
  applyContainerEvents,
  entersFirst,
  equipmentOf,
  eventsAfterRetirement,
  hasGateOut,
  type EventKeyOf,
} from './container.js';
import { containerCodec, readDeclarationStatuses } from './customs.js';
import { applyVisitEvents, visitCodec, visitKeyOf } from './visit.js';

export { STATE_CONSUMER };

export interface StateConsumerDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  nc: NatsConnection;
  buckets: Buckets;
  logger: Logger;
  /** Most messages applied as one batch (default MAX_BATCH_MESSAGES). */
  maxBatchMessages?: number;
  /** Redelivery delay of a group a stopped processor left unacked (default 30 s); long work calls working(). */
  ackWaitMs?: number;
  metrics?: ProcessorMetrics | undefined;
  /** The runtime's per-consumer metrics (a private registry's when absent). */
  consumerMetrics?: ConsumerMetrics;
  /** Container and visit entries remembered per bucket (default DEFAULT_CACHE_KEYS). */
  cacheKeys?: number;
}

export interface StateConsumerHandle {
  stop(): Promise<void>;
}

const DEFAULT_ACK_WAIT_MS = 30_000;
/** Entries remembered per bucket when the caller does not say (the config's default). */
const DEFAULT_CACHE_KEYS = 20_000;
/**
 * Messages per batch: up to 64 x 500 events, a few thousand keys, whose reads and writes go out together.
 * max_ack_pending bounds what waits behind it.
 */
const MAX_BATCH_MESSAGES = 64;
/** KV keys allow [-/_=.a-zA-Z0-9]. */
const KEY = /^[-_=.a-zA-Z0-9]{1,128}$/;

/** The events of a group per container number and per visit id. */
export function groupByKey(events: readonly Event[]): {
  containers: Map<string, Event[]>;
  visits: Map<string, Event[]>;
} {
  const containers = new Map<string, Event[]>();
  const visits = new Map<string, Event[]>();
  const add = (m: Map<string, Event[]>, k: string, e: Event): void => {
    const list = m.get(k);
    if (list) list.push(e);
    else m.set(k, [e]);
  };
  for (const e of events) {
    const n = equipmentOf(e)?.containerNumber;
    if (n !== undefined && KEY.test(n)) add(containers, n, e);
    const v = visitKeyOf(e);
    if (v !== undefined) add(visits, v, e);
  }
  return { containers, visits };
}

interface KeyWork {
  events: Event[];
  /** Messages with events for this key: acked only once it is written. */
  msgs: JsMsg[];
}

/** The events of a batch of messages per container and per visit, with the messages behind each key. */
export function groupBatch(decoded: readonly { msg: JsMsg; events: readonly Event[] }[]): {
  containers: Map<string, KeyWork>;
  visits: Map<string, KeyWork>;
} {
  const containers = new Map<string, KeyWork>();
  const visits = new Map<string, KeyWork>();
  const merge = (into: Map<string, KeyWork>, from: Map<string, Event[]>, msg: JsMsg): void => {
    for (const [k, events] of from) {
      const w = into.get(k);
      if (!w) into.set(k, { events, msgs: [msg] });
      else {
        w.events.push(...events);
        w.msgs.push(msg);
      }
    }
  };
  for (const { msg, events } of decoded) {
    const keys = groupByKey(events);
    merge(containers, keys.containers, msg);
    merge(visits, keys.visits, msg);
  }
  return { containers, visits };
}

export async function startStateConsumer(deps: StateConsumerDeps): Promise<StateConsumerHandle> {
  const ackWaitMs = deps.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
  const spec = stateDurable(ackWaitMs);
  await ensureDurable(deps.jsm, spec);
  const log = deps.logger.child({ component: 'state-consumer' });
  const { declarations, names } = deps.buckets;
  // The hot path: every container and visit write of a batch goes out pipelined (see core/nats/pipelined.ts).
  const requests = new PipelinedRequests(deps.nc, ackWaitMs / 3);
  const cacheKeys = deps.cacheKeys ?? DEFAULT_CACHE_KEYS;
  const containers = new RememberingCasStore(new CasBucket(requests, names.containers), cacheKeys);
  const vesselVisits = new RememberingCasStore(new CasBucket(requests, names.vesselVisits), cacheKeys);
  const counted: CasCacheStats = { hits: 0, reads: 0, failedWrites: 0 };
  const countCache = (): void => {
    const m = deps.metrics?.stateCache;
    const now = { hits: 0, reads: 0, failedWrites: 0 };
    for (const st of [containers.stats, vesselVisits.stats]) {
      now.hits += st.hits;
      now.reads += st.reads;
      now.failedWrites += st.failedWrites;
    }
    m?.inc({ result: 'memory' }, now.hits - counted.hits);
    m?.inc({ result: 'store' }, now.reads - counted.reads);
    m?.inc({ result: 'refused' }, now.failedWrites - counted.failedWrites);
    Object.assign(counted, now);
  };
  const maxBatch = deps.maxBatchMessages ?? MAX_BATCH_MESSAGES;

  const writeContainer = (n: string, events: Event[], keyOf: EventKeyOf): Promise<unknown> => {
    // The entry read last: a retired container's delete marker says which events belong to the stay removed.
    let retired: RetiredContainer | undefined;
    if (entersFirst(events)) containers.presumeAbsent(n);
    const store: CasStore = {
      get: async (key) => {
        const e = await containers.get(key);
        retired = e?.operation === 'DEL' ? decodeRetiredContainer(e.value) : undefined;
        return e;
      },
      write: (key, value, expected) => containers.write(key, value, expected),
    };
    return readModifyWrite(store, n, containerCodec, async (prev) => {
      const now = new Date();
      // A late or replayed event of a retired container's last stay recreates nothing; an actual event after
      // it (the container came back) starts a new record.
      const apply = retired === undefined ? events : eventsAfterRetirement(events, retired, now);
      if (apply.length === 0) return undefined;
      const numbers = prev?.status.declarationNumbers ?? [];
      const declarationStatuses =
        hasGateOut(apply) && numbers.length > 0
          ? await readDeclarationStatuses(declarations, numbers)
          : undefined;
      return applyContainerEvents(prev, n, apply, {
        now,
        keyOf,
        ...(declarationStatuses === undefined ? {} : { declarationStatuses }),
      });
    });
  };

  const writeVisit = (id: string, events: Event[], keyOf: EventKeyOf): Promise<unknown> =>
    readModifyWrite(vesselVisits, id, visitCodec, (prev) =>
      applyVisitEvents(prev, id, events, new Date(), keyOf),
    );

  const applyBatch = async (batch: readonly Item<EventGroup>[]): Promise<BatchOutcome> => {
    // Each event's sourced id (its group's source and its own id): what the records remember it by.
    const keys = new Map<Event, string>();
    const decoded = batch.map(({ msg, value: g }) => {
      for (const e of g.events) keys.set(e, sourcedEventId(g.source, e.eventId));
      return { msg, events: g.events };
    });
    const keyOf: EventKeyOf = (e) => keys.get(e) ?? e.eventId;
    const work = groupBatch(decoded);
    const failed = new Map<JsMsg, unknown>();
    // Every key's read goes out in this one synchronous pass, then every write as the reads come back.
    const writes: Promise<void>[] = [];
    const track = (p: Promise<unknown>, touched: readonly JsMsg[]): void => {
      writes.push(
        p.then(
          () => undefined,
          (err: unknown) => {
            for (const m of touched) failed.set(m, err);
          },
        ),
      );
    };
    for (const [n, k] of work.containers) track(writeContainer(n, k.events, keyOf), k.msgs);
    for (const [id, k] of work.visits) track(writeVisit(id, k.events, keyOf), k.msgs);
    await Promise.all(writes);
    countCache();
    for (const { msg, events } of decoded) {
      if (!failed.has(msg)) deps.metrics?.eventsApplied.inc(events.length);
    }
    if (failed.size > 0) log.warn({ failed: failed.size, of: batch.length }, 'event groups not applied');
    return { failed };
  };

  // The server keeps up to a few batches delivered; they wait while a batch is applied, and the next batch
  // takes what has arrived by then (up to maxBatch messages).
  const runtime = await startConsumer({
    js: deps.js,
    spec,
    log,
    metrics: deps.consumerMetrics ?? consumerMetrics(new Registry()),
    decode: (msg) => EventGroup.decode(msg.data),
    handle: applyBatch,
    maxMessages: maxBatch,
    maxHeld: maxBatch * 8,
  });

  return {
    async stop() {
      await runtime.stop();
      requests.close();
    },
  };
}
