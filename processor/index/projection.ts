// The list index projection (core/state/list-index.ts): a durable pull consumer on the streams of the
// ps_containers and ps_declarations buckets, so it sees every change to a container or a declaration whoever
// made it (the state consumer, the manifest service, the decider). Each message names a key; the projection
// reads that key's latest value and brings its index keys up to date (keys.ts), so changes superseded before
// they were read cost nothing and redeliveries are no-ops. A new durable starts from the bucket's stream, which
// holds each key's latest value: the first start indexes everything that exists.
//
// Messages are taken in batches; a key touched by several messages of a batch is projected once, the keys of a
// batch at once, batches one after another (so no two of this process's steps race on a key). A key that fails
// naks its messages with a growing delay; after MAX_DELIVER deliveries the message stays in the bucket's stream
// and the error is logged (the next change of the key projects it again).
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/nats-core';
import type { Logger } from '../../core/logger.js';
import type { Buckets } from '../../core/nats/buckets.js';
import { CasBucket, PipelinedRequests } from '../../core/nats/pipelined.js';
import { decodeContainerRecord } from '../../core/state/container.js';
import { decodeDeclarationState } from '../../core/state/declaration.js';
import { containerIndexKeys, declarationIndexKeys, type Listed } from '../../core/state/list-index.js';
import { ensureDurable } from '../durable.js';
import { projectKey, type IndexTarget } from './keys.js';

export const INDEX_CONSUMER = 'processor-index';

const MAX_DELIVER = 10;
const MAX_BATCH = 256;
/** KV keys allow [-/_=.a-zA-Z0-9]. */
const KEY = /^[-_=.a-zA-Z0-9]{1,128}$/;

export interface ListIndexDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  nc: NatsConnection;
  buckets: Buckets;
  logger: Logger;
  ackWaitMs: number;
}

export interface ListIndexHandle {
  stop(): Promise<void>;
}

interface Source {
  what: Listed;
  bucket: string;
  keysOf: (value: Uint8Array) => Promise<string[]>;
}

function retryDelay(msg: JsMsg): number {
  return Math.min(5000, 100 * 2 ** msg.info.deliveryCount);
}

export async function startListIndex(deps: ListIndexDeps): Promise<ListIndexHandle> {
  const log = deps.logger.child({ component: 'list-index' });
  const { names } = deps.buckets;
  const requests = new PipelinedRequests(deps.nc, deps.ackWaitMs / 3);
  const declarations = new CasBucket(requests, names.declarations);
  const index: IndexTarget = { cas: new CasBucket(requests, names.listIndex), kv: deps.buckets.listIndex };

  /** Parties of the declarations linked to a container (they count for a container on no manifest). */
  const partiesOf = async (numbers: readonly string[]): Promise<string[]> => {
    const entries = await Promise.all(numbers.filter((n) => KEY.test(n)).map((n) => declarations.get(n)));
    return entries.flatMap((e) => {
      if (!e || e.operation !== 'PUT' || e.value.length === 0) return [];
      const d = decodeDeclarationState(e.value).declaration;
      return [d.declarantTaxCode, d.traderTaxCode];
    });
  };
  const sources: Source[] = [
    {
      what: 'c',
      bucket: names.containers,
      keysOf: async (v) => {
        const rec = decodeContainerRecord(v);
        const parties =
          rec.bookkeeping.shipments.length === 0 ? await partiesOf(rec.status.declarationNumbers) : [];
        return containerIndexKeys(rec, parties);
      },
    },
    {
      what: 'd',
      bucket: names.declarations,
      keysOf: (v) => Promise.resolve(declarationIndexKeys(decodeDeclarationState(v).declaration)),
    },
  ];

  const loops = await Promise.all(
    sources.map(async (src) => {
      const stream = `KV_${src.bucket}`;
      const prefix = `$KV.${src.bucket}.`;
      await ensureDurable(deps.jsm, stream, {
        durable_name: INDEX_CONSUMER,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(deps.ackWaitMs),
        max_deliver: MAX_DELIVER,
        max_ack_pending: 4 * MAX_BATCH,
      });
      const sourceBucket = new CasBucket(requests, src.bucket);
      const consumer = await deps.js.consumers.get(stream, INDEX_CONSUMER);
      const messages = await consumer.consume({ max_messages: 2 * MAX_BATCH });

      const apply = async (batch: JsMsg[]): Promise<void> => {
        const byKey = new Map<string, JsMsg[]>();
        for (const m of batch) {
          const id = m.subject.slice(prefix.length);
          if (!KEY.test(id)) {
            m.ack();
            continue;
          }
          const list = byKey.get(id);
          if (list) list.push(m);
          else byKey.set(id, [m]);
        }
        await Promise.all(
          [...byKey].map(async ([id, msgs]) => {
            try {
              await projectKey(src.what, id, sourceBucket, index, src.keysOf);
              for (const m of msgs) m.ack();
            } catch (err) {
              for (const m of msgs) {
                if (m.info.deliveryCount >= MAX_DELIVER) {
                  log.error(
                    { err, key: id, stream },
                    'list index not updated for this key; its next change retries',
                  );
                  m.term();
                } else {
                  log.warn({ err, key: id, stream }, 'list index update failed, retrying');
                  m.nak(retryDelay(m));
                }
              }
            }
          }),
        );
      };

      // The server keeps up to max_messages delivered; they wait here while a batch is applied.
      const waiting: JsMsg[] = [];
      let wake: (() => void) | undefined;
      const feed = { closed: false };
      const pump = (async () => {
        for await (const m of messages) {
          waiting.push(m);
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
          await apply(waiting.splice(0, MAX_BATCH)).catch((err: unknown) => {
            log.error({ err, stream }, 'list index batch failed; its messages are redelivered');
          });
        }
      })();
      return {
        stop: async () => {
          await messages.close();
          await pump;
          await worker;
        },
      };
    }),
  );
  log.info('list index projection started');
  return {
    stop: async () => {
      await Promise.all(loops.map((l) => l.stop()));
      requests.close();
    },
  };
}
