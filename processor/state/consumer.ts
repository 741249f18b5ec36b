// The container and vessel-visit state consumer: a named durable pull consumer on PS_EVENTS that applies each
// EventGroup to the ps_containers and ps_vessel_visits KV buckets. Per message, the events are grouped per
// container and per visit and each key gets ONE read-modify-write (compare-and-set). Keys run concurrently
// (bounded by a p-queue); two messages touching the same key are serialised on a per-key chain. A message is
// acked only once every write it caused is stored; a failure naks it with a delay (the writes are idempotent:
// event ids and sets), an undecodable message is terminated and dead-lettered.
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import PQueue from 'p-queue';
import type { Logger } from '../../core/logger.js';
import type { Buckets } from '../../core/nats/buckets.js';
import { STREAM_EVENTS, subjects } from '../../core/nats/topology.js';
import type { Event } from '../../proto/gen/portstream/v1/events.js';
import { EventGroup } from '../../proto/gen/portstream/v1/records.js';
import { deadLetter } from '../customs/dead-letter.js';
import { ensureDurable } from '../durable.js';
import { readModifyWrite } from './cas.js';
import { applyContainerEvents, equipmentOf, hasGateOut } from './container.js';
import { containerCodec, readDeclarationStatuses } from './customs.js';
import { applyVisitEvents, visitCodec, visitKeyOf } from './visit.js';

export const STATE_CONSUMER = 'processor-events';

export interface StateConsumerDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  nc: NatsConnection;
  buckets: Buckets;
  logger: Logger;
  /** KV writes in flight at once. */
  concurrency?: number;
  /** Redelivery delay of a group a stopped processor left unacked (default 30 s); long work calls working(). */
  ackWaitMs?: number;
}

export interface StateConsumerHandle {
  stop(): Promise<void>;
}

const DEFAULT_ACK_WAIT_MS = 30_000;
const MAX_DELIVER = 10;
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

export async function startStateConsumer(deps: StateConsumerDeps): Promise<StateConsumerHandle> {
  const ackWaitMs = deps.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
  await ensureConsumer(deps.jsm, ackWaitMs);
  const log = deps.logger.child({ component: 'state-consumer' });
  const { containers, vesselVisits, declarations } = deps.buckets;
  const consumer = await deps.js.consumers.get(STREAM_EVENTS, STATE_CONSUMER);
  const concurrency = deps.concurrency ?? 64;
  const queue = new PQueue({ concurrency });
  const tails = new Map<string, Promise<void>>();
  const inflight = new Set<Promise<void>>();
  const messages = await consumer.consume({ max_messages: Math.max(concurrency * 2, 64) });

  /** Runs fn after every earlier task on the same key, inside the bounded queue. */
  const serial = (key: string, fn: () => Promise<unknown>): Promise<void> => {
    const prev = tails.get(key) ?? Promise.resolve();
    const next = prev.then(() => queue.add(fn)).then(() => undefined);
    const tail = next.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return next;
  };

  const writeContainer = (n: string, events: Event[]): Promise<unknown> =>
    readModifyWrite(containers, n, containerCodec, async (prev) => {
      const now = new Date();
      const numbers = prev?.status.declarationNumbers ?? [];
      const declarationStatuses =
        hasGateOut(events) && numbers.length > 0
          ? await readDeclarationStatuses(declarations, numbers)
          : undefined;
      return applyContainerEvents(prev, n, events, {
        now,
        ...(declarationStatuses === undefined ? {} : { declarationStatuses }),
      });
    });

  const writeVisit = (id: string, events: Event[]): Promise<unknown> =>
    readModifyWrite(vesselVisits, id, visitCodec, (prev) => applyVisitEvents(prev, id, events, new Date()));

  const handle = async (msg: JsMsg): Promise<void> => {
    let group: EventGroup;
    try {
      group = EventGroup.decode(msg.data);
    } catch (err) {
      try {
        await deadLetter(deps.js, STREAM_EVENTS, msg, `undecodable event group: ${(err as Error).message}`);
      } catch (dlErr) {
        log.warn({ err: dlErr, seq: msg.seq }, 'dead letter not stored, retrying');
        msg.nak(Math.min(5000, 100 * 2 ** msg.info.deliveryCount));
        return;
      }
      msg.term();
      return;
    }
    const keys = groupByKey(group.events);
    const writes: Promise<void>[] = [];
    for (const [n, evs] of keys.containers) writes.push(serial(`c:${n}`, () => writeContainer(n, evs)));
    for (const [id, evs] of keys.visits) writes.push(serial(`v:${id}`, () => writeVisit(id, evs)));
    // Long messages tell the server they are still being worked on, so they are not redelivered meanwhile.
    const working = setInterval(() => {
      msg.working();
    }, ackWaitMs / 3);
    try {
      const results = await Promise.allSettled(writes);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      await msg.ackAck();
    } catch (err) {
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
      msg.nak(Math.min(5000, 100 * 2 ** msg.info.deliveryCount));
    } finally {
      clearInterval(working);
    }
  };

  const loop = (async () => {
    for await (const msg of messages) {
      if (queue.size > concurrency * 4) await queue.onSizeLessThan(concurrency * 4);
      const p = handle(msg).catch((err: unknown) => {
        log.error({ err, seq: msg.seq }, 'event group handling failed');
      });
      inflight.add(p);
      void p.then(() => inflight.delete(p));
    }
  })();

  return {
    async stop() {
      await messages.close();
      await loop;
      await Promise.all([...inflight]);
      await queue.onIdle();
    },
  };
}
