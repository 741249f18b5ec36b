// The list index projection (core/state/list-index.ts): a durable pull consumer on the streams of the
// ps_containers and ps_declarations buckets, so it sees every change to a container or a declaration whoever
// made it (the state consumer and its retention sweep, the manifest service, the customs projector). Each message
// is a change of one key (its value at that revision); the projection compares the index keys that value needs
// with the ones recorded for the key and writes only when they differ, from the key's latest value (keys.ts), so
// the many changes that do not move a key between lists cost one read and redeliveries are no-ops. A deleted key
// (a delete marker, e.g. a container retired after it left the port) leaves every list. A new durable starts
// from the bucket's stream, which holds each key's latest value: the first start indexes everything that exists.
//
// Messages are taken in batches by the consumer runtime (core/consumer/runtime.ts); a key touched by several
// messages of a batch is projected once, the keys of a batch at once, batches one after another (so no two of
// this process's steps race on a key). A key that fails is retried with the runtime's backoff; after its
// deliveries are used up the message is dead-lettered (the next change of the key projects it again).
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Registry } from 'prom-client';
import {
  consumerMetrics,
  ensureDurable,
  indexDurable,
  startConsumer,
  INDEX_CONSUMER,
  INDEX_MAX_BATCH,
  type BatchOutcome,
  type ConsumerMetrics,
  type Item,
} from '../../core/consumer/index.js';
import type { Logger } from '../../core/logger.js';
import type { Buckets } from '../../core/nats/buckets.js';
import { CasBucket, PipelinedRequests } from '../../core/nats/pipelined.js';
import { decodeContainerRecord } from '../../core/state/container.js';
import { decodeDeclarationState } from '../../core/state/declaration.js';
import { containerIndexKeys, declarationIndexKeys, type Listed } from '../../core/state/list-index.js';
import { projectKey, type DeliveredChange } from './keys.js';

export { INDEX_CONSUMER };

/** How long the first change of a batch waits for more. */
export const INDEX_LINGER_MS = 100;

/** KV keys allow [-/_=.a-zA-Z0-9]. */
const KEY = /^[-_=.a-zA-Z0-9]{1,128}$/;

export interface ListIndexDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  nc: NatsConnection;
  buckets: Buckets;
  logger: Logger;
  ackWaitMs: number;
  /** The runtime's per-consumer metrics (a private registry's when absent). */
  consumerMetrics?: ConsumerMetrics;
}

export interface ListIndexHandle {
  stop(): Promise<void>;
}

/** A change delivered from a bucket's stream: the key and its value at that revision. */
interface Change {
  id: string;
  change: DeliveredChange;
}

interface Source {
  what: Listed;
  bucket: string;
  keysOf: (value: Uint8Array) => Promise<string[]>;
}

export async function startListIndex(deps: ListIndexDeps): Promise<ListIndexHandle> {
  const log = deps.logger.child({ component: 'list-index' });
  const { names } = deps.buckets;
  const metrics = deps.consumerMetrics ?? consumerMetrics(new Registry());
  const requests = new PipelinedRequests(deps.nc, deps.ackWaitMs / 3);
  const declarations = new CasBucket(requests, names.declarations);
  const index = new CasBucket(requests, names.listIndex);

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

  const consumers = await Promise.all(
    sources.map(async (src) => {
      const spec = indexDurable(src.bucket, deps.ackWaitMs);
      await ensureDurable(deps.jsm, spec);
      const prefix = `$KV.${src.bucket}.`;
      const sourceBucket = new CasBucket(requests, src.bucket);

      /**
       * The keys of a batch, each projected once from its latest change in the batch; a key that fails fails
       * the messages that named it.
       */
      const apply = async (batch: readonly Item<Change | undefined>[]): Promise<BatchOutcome> => {
        const byKey = new Map<string, { change: DeliveredChange; msgs: JsMsg[] }>();
        for (const { msg, value } of batch) {
          // A key no index entry can name: acked, nothing to project.
          if (value === undefined) continue;
          const held = byKey.get(value.id);
          if (!held) byKey.set(value.id, { change: value.change, msgs: [msg] });
          else {
            held.msgs.push(msg);
            if (value.change.revision > held.change.revision) held.change = value.change;
          }
        }
        const failed = new Map<JsMsg, unknown>();
        await Promise.all(
          [...byKey].map(async ([id, { change, msgs }]) => {
            try {
              await projectKey(src.what, id, change, sourceBucket, index, src.keysOf);
            } catch (err) {
              log.warn({ err, key: id, stream: spec.stream }, 'list index update failed');
              for (const m of msgs) failed.set(m, err);
            }
          }),
        );
        return { failed };
      };

      return startConsumer<Change | undefined>({
        js: deps.js,
        spec,
        log,
        metrics,
        decode: (msg) => {
          const id = msg.subject.slice(prefix.length);
          if (!KEY.test(id)) return undefined;
          const op = msg.headers?.get('KV-Operation');
          const operation = op === 'DEL' || op === 'PURGE' ? op : 'PUT';
          // A write that expected an empty key (compare-and-set from revision 0, as the state processor and the
          // ledger projection create keys) stored the key's first message: its index record is presumed absent.
          const first = msg.headers?.get('Nats-Expected-Last-Subject-Sequence') === '0';
          return { id, change: { value: msg.data, revision: msg.seq, operation, first } };
        },
        handle: apply,
        maxMessages: INDEX_MAX_BATCH,
        maxHeld: 2 * INDEX_MAX_BATCH,
        // Lists may trail their sources by a fraction of a second; waiting that long for a batch to fill lets
        // the reads and writes of many changes leave in one socket write instead of one each.
        lingerMs: INDEX_LINGER_MS,
      });
    }),
  );
  log.info('list index projection started');
  return {
    stop: async () => {
      await Promise.all(consumers.map((c) => c.stop()));
      requests.close();
    },
  };
}
