// Whether compare-and-set is atomic on this nats-server, clustered and not: W writers each add their own entries to
// one shared value by read-modify-write, retrying on a refused write, and at the end the value must list every write
// that was acked. An acked write missing from the final value is a lost update. Mode `subject` (the default) is a KV
// key written with Nats-Expected-Last-Subject-Sequence alone; mode `msgid` adds the revision guard's message id
// `<key>@<revision replaced>` as portstream does on a cluster (core/nats/cas.ts), and counts the writes refused as
// duplicates; mode `stream` is a stream of one subject written with the stream-wide Nats-Expected-Last-Sequence and
// read from the stream leader.
//   npx tsx bench/cas-race.ts [writers=4] [writesPerWriter=200] [nodes=3] [mode=subject|msgid|stream]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connectNats } from '../core/nats/connect.js';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  CasContendedError,
  isWrongRevision,
  kvStore,
  readModifyWrite,
  type CasStore,
} from '../core/nats/cas.js';
import { CasConflictError, revisionGuardId } from '../core/nats/pipelined.js';
import { LocalNatsCluster } from '../core/nats/local-cluster.js';
import { LocalNatsServer } from '../core/nats/local-server.js';

const writers = Number(process.argv[2] ?? 4);
const perWriter = Number(process.argv[3] ?? 200);
const nodes = Number(process.argv[4] ?? 3);
const mode = process.argv[5] ?? 'subject';
if (mode !== 'subject' && mode !== 'stream' && mode !== 'msgid')
  throw new Error(`unknown mode ${mode}: subject, stream or msgid`);

const codec = {
  decode: (b: Uint8Array): string[] => JSON.parse(new TextDecoder().decode(b)) as string[],
  encode: (v: string[]): Uint8Array => new TextEncoder().encode(JSON.stringify(v)),
};

/** The value as the last message of a one-subject stream, written expecting the stream's last sequence. */
function streamStore(nc: NatsConnection): CasStore {
  const js = jetstream(nc);
  let jsm: JetStreamManager | undefined;
  return {
    async get() {
      jsm ??= await jetstreamManager(nc);
      const m = await jsm.streams.getMessage('CAS_RACE', { last_by_subj: 'casrace.value' });
      return m === null ? null : { value: m.data, revision: m.seq, operation: 'PUT' };
    },
    async write(key, value, expected) {
      try {
        return (await js.publish('casrace.value', value, { expect: { lastSequence: expected } })).seq;
      } catch (err) {
        if (isWrongRevision(err)) throw new CasConflictError(key, (err as Error).message);
        throw err;
      }
    },
  };
}

let duplicates = 0;
/** Read-modify-writes that gave up after too many conflicts and were started over. */
let contended = 0;
/** Of those, the ones answered while the write they duplicate was not stored yet (sequence 0). */
let inFlight = 0;

/** The KV key written with its expected revision and a message id naming that revision: key:expected. */
function msgIdStore(nc: NatsConnection, kv: KV): CasStore {
  const js = jetstream(nc);
  const base = kvStore(kv);
  return {
    get: (key) => base.get(key),
    async write(key, value, expected) {
      try {
        const ack = await js.publish(`$KV.cas_race.${key}`, value, {
          msgID: revisionGuardId(key, expected),
          expect: { lastSubjectSequence: expected },
        });
        if (ack.duplicate) {
          duplicates += 1;
          if (ack.seq === 0) inFlight += 1;
          throw new CasConflictError(key, 'duplicate');
        }
        return ack.seq;
      } catch (err) {
        if (isWrongRevision(err)) throw new CasConflictError(key, (err as Error).message);
        throw err;
      }
    },
  };
}

const dir = await mkdtemp(path.join(tmpdir(), 'portstream-cas-race-'));
const cluster = nodes > 1 ? await LocalNatsCluster.start({ dir, size: nodes }) : undefined;
const single = nodes > 1 ? undefined : await LocalNatsServer.start({ storeDir: dir, port: 0 });
const urls = cluster ? cluster.urls : [single?.url ?? ''];
try {
  const conns = await Promise.all(
    Array.from({ length: writers }, (_, i) =>
      connectNats({ url: urls[i % urls.length] ?? '', name: `w${i}` }),
    ),
  );
  const first = conns[0];
  if (!first) throw new Error('no connection');
  const kv = await new Kvm(jetstream(first)).create('cas_race', { replicas: nodes, history: 1 });
  const jsm = await jetstreamManager(first);
  if (mode === 'stream') {
    await jsm.streams.add({ name: 'CAS_RACE', subjects: ['casrace.value'], num_replicas: nodes });
    // A first message, so every write can name the stream sequence it expects (0 expects nothing).
    await jetstream(first).publish('casrace.value', codec.encode([]));
  }
  const acked: string[] = [];
  await Promise.all(
    conns.map(async (nc, w) => {
      const store =
        mode === 'subject'
          ? kvStore(await new Kvm(jetstream(nc)).open('cas_race'))
          : mode === 'msgid'
            ? msgIdStore(nc, await new Kvm(jetstream(nc)).open('cas_race'))
            : streamStore(nc);
      for (let i = 0; i < perWriter; i++) {
        const id = `${w}.${i}`;
        // One key and every writer on it: a writer that keeps losing gives up (CasContendedError) and starts over;
        // only a write that was acked counts.
        for (;;) {
          try {
            await readModifyWrite(store, 'shared', codec, (prev) => [...(prev ?? []), id]);
            break;
          } catch (err) {
            if (!(err instanceof CasContendedError)) throw err;
            contended += 1;
          }
        }
        acked.push(id);
      }
    }),
  );
  const final =
    mode !== 'stream'
      ? (await kv.get('shared'))?.value
      : (await jsm.streams.getMessage('CAS_RACE', { last_by_subj: 'casrace.value' }))?.data;
  const held = new Set(final ? codec.decode(final) : []);
  const lost = acked.filter((id) => !held.has(id));
  console.log(
    JSON.stringify({
      nodes,
      mode,
      writers,
      acked_writes: acked.length,
      in_final_value: held.size,
      lost_updates: lost.length,
      started_over: contended,
      ...(mode === 'msgid' ? { refused_as_duplicates: duplicates, of_which_in_flight: inFlight } : {}),
      first_lost: lost.slice(0, 5),
    }),
  );
  await Promise.all(conns.map((c) => c.close()));
} finally {
  await cluster?.stop();
  await single?.stop();
  await rm(dir, { recursive: true, force: true });
}
