// The container and vessel-visit state consumer: a named durable pull consumer on PS_EVENTS that applies each
// EventGroup to the ps_containers and ps_vessel_visits KV buckets.
//
// It works in batches: the messages waiting when it is free (up to a bound) are decoded together, their events
// grouped per container and per visit ACROSS messages, and each key gets ONE read-modify-write
// (compare-and-set) per batch. The reads of a batch go out together, then the writes, so the NATS client sends
// them in a few large socket writes instead of one per key; a container touched by several messages of the
// batch is written once. Batches run one after another, so two batches never race on a key in this process;
// other processes (another instance, the decider linking declarations) are handled by the compare-and-set.
// A message is acked once every key it touched is stored; a key that fails naks the messages that touched it
// (the writes are idempotent: event ids and sets), an undecodable message is terminated and dead-lettered.
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import { sourcedEventId } from '../../core/event-key.js';
import type { Logger } from '../../core/logger.js';
import type { Buckets } from '../../core/nats/buckets.js';
import { STREAM_EVENTS, subjects } from '../../core/nats/topology.js';
import type { Event } from '../../proto/gen/portstream/v1/events.js';
import { EventGroup } from '../../proto/gen/portstream/v1/records.js';
import { deadLetter } from '../customs/dead-letter.js';
import { CasBucket, PipelinedRequests } from '../../core/nats/pipelined.js';
import { ensureDurable } from '../durable.js';
import type { ProcessorMetrics } from '../metrics.js';
import { readModifyWrite } from '../../core/nats/cas.js';
import { applyContainerEvents, equipmentOf, hasGateOut, type EventKeyOf } from './container.js';
import { containerCodec, readDeclarationStatuses } from './customs.js';
import { applyVisitEvents, visitCodec, visitKeyOf } from './visit.js';

export const STATE_CONSUMER = 'processor-events';

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
}

export interface StateConsumerHandle {
  stop(): Promise<void>;
}

const DEFAULT_ACK_WAIT_MS = 30_000;
const MAX_DELIVER = 10;
/**
 * Messages per batch: up to 64 x 500 events, a few thousand keys, whose reads and writes go out together.
 * max_ack_pending bounds what waits behind it.
 */
const MAX_BATCH_MESSAGES = 64;
/** KV keys allow [-/_=.a-zA-Z0-9]. */
const KEY = /^[-_=.a-zA-Z0-9]{1,128}$/;

async function ensureConsumer(jsm: JetStreamManager, ackWaitMs: number): Promise<void> {
  await ensureDurable(jsm, STREAM_EVENTS, {
    durable_name: STATE_CONSUMER,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: subjects.allEvents,
    ack_wait: nanos(ackWaitMs),
    max_deliver: MAX_DELIVER,
    max_ack_pending: 1000,
  });
}

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
  await ensureConsumer(deps.jsm, ackWaitMs);
  const log = deps.logger.child({ component: 'state-consumer' });
  const { declarations, names } = deps.buckets;
  // The hot path: every container and visit write of a batch goes out pipelined (see core/nats/pipelined.ts).
  const requests = new PipelinedRequests(deps.nc, ackWaitMs / 3);
  const containers = new CasBucket(requests, names.containers);
  const vesselVisits = new CasBucket(requests, names.vesselVisits);
  const consumer = await deps.js.consumers.get(STREAM_EVENTS, STATE_CONSUMER);
  const maxBatch = deps.maxBatchMessages ?? MAX_BATCH_MESSAGES;
  const messages = await consumer.consume({ max_messages: maxBatch * 4 });

  const writeContainer = (n: string, events: Event[], keyOf: EventKeyOf): Promise<unknown> =>
    readModifyWrite(containers, n, containerCodec, async (prev) => {
      const now = new Date();
      const numbers = prev?.status.declarationNumbers ?? [];
      const declarationStatuses =
        hasGateOut(events) && numbers.length > 0
          ? await readDeclarationStatuses(declarations, numbers)
          : undefined;
      return applyContainerEvents(prev, n, events, {
        now,
        keyOf,
        ...(declarationStatuses === undefined ? {} : { declarationStatuses }),
      });
    });

  const writeVisit = (id: string, events: Event[], keyOf: EventKeyOf): Promise<unknown> =>
    readModifyWrite(vesselVisits, id, visitCodec, (prev) =>
      applyVisitEvents(prev, id, events, new Date(), keyOf),
    );

  /** Dead-letters an undecodable message; naks it when even that fails. */
  const reject = async (msg: JsMsg, err: unknown): Promise<void> => {
    try {
      await deadLetter(deps.js, STREAM_EVENTS, msg, `undecodable event group: ${(err as Error).message}`);
      msg.term();
      deps.metrics?.messages.inc({ consumer: STATE_CONSUMER, outcome: 'dead_letter' });
    } catch (dlErr) {
      log.warn({ err: dlErr, seq: msg.seq }, 'dead letter not stored, retrying');
      msg.nak(retryDelay(msg));
    }
  };

  /** A message whose writes failed: retried after a delay, or dead-lettered on its last delivery. */
  const retry = async (msg: JsMsg, err: unknown): Promise<void> => {
    if (msg.info.deliveryCount >= MAX_DELIVER) {
      // The server would not deliver it again: record it for an operator instead of leaving it silently.
      log.error({ err, seq: msg.seq }, 'event group failed on its last delivery, dead-lettering');
      await deadLetter(deps.js, STREAM_EVENTS, msg, `failed ${MAX_DELIVER} times: ${String(err)}`).then(
        () => {
          msg.term();
        },
        () => undefined,
      );
      return;
    }
    log.warn({ err, seq: msg.seq, redelivery: msg.info.deliveryCount }, 'event group failed, retrying');
    msg.nak(retryDelay(msg));
  };

  const applyBatch = async (batch: JsMsg[]): Promise<void> => {
    const done = deps.metrics?.handlerSeconds.startTimer({ consumer: STATE_CONSUMER });
    const decoded: { msg: JsMsg; events: Event[] }[] = [];
    // Each event's sourced id (its group's source and its own id): what the records remember it by.
    const keys = new Map<Event, string>();
    for (const msg of batch) {
      try {
        const g = EventGroup.decode(msg.data);
        for (const e of g.events) keys.set(e, sourcedEventId(g.source, e.eventId));
        decoded.push({ msg, events: g.events });
      } catch (err) {
        await reject(msg, err);
      }
    }
    const keyOf: EventKeyOf = (e) => keys.get(e) ?? e.eventId;
    const work = groupBatch(decoded);
    // Long batches tell the server they are still being worked on, so they are not redelivered meanwhile.
    const working = setInterval(() => {
      for (const d of decoded) d.msg.working();
    }, ackWaitMs / 3);
    const failed = new Map<JsMsg, unknown>();
    try {
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
    } finally {
      clearInterval(working);
    }
    for (const { msg, events } of decoded) {
      const err = failed.get(msg);
      if (err === undefined) {
        msg.ack();
        deps.metrics?.eventsApplied.inc(events.length);
        deps.metrics?.messages.inc({ consumer: STATE_CONSUMER, outcome: 'ack' });
      } else {
        await retry(msg, err);
        deps.metrics?.messages.inc({ consumer: STATE_CONSUMER, outcome: 'retry' });
      }
    }
    done?.();
  };

  // The server keeps up to max_messages delivered; they wait here while a batch is applied, and the next
  // batch takes what has arrived by then.
  const waiting: JsMsg[] = [];
  let wake: (() => void) | undefined;
  const feed = { closed: false };
  const pump = (async () => {
    for await (const msg of messages) {
      waiting.push(msg);
      wake?.();
    }
  })().finally(() => {
    feed.closed = true;
    wake?.();
  });
  const worker = (async () => {
    for (;;) {
      if (waiting.length === 0) {
        if (feed.closed) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      const batch = waiting.splice(0, maxBatch);
      await applyBatch(batch).catch((err: unknown) => {
        log.error(
          { err, messages: batch.length },
          'event batch handling failed; its messages are redelivered',
        );
      });
    }
  })();

  return {
    async stop() {
      await messages.close();
      await pump;
      await worker;
      requests.close();
    },
  };
}

function retryDelay(msg: JsMsg): number {
  return Math.min(5000, 100 * 2 ** msg.info.deliveryCount);
}
