// Whether compare-and-set on a KV key (a write naming the revision it expects: Nats-Expected-Last-Subject-Sequence)
// is atomic on this nats-server, clustered and not: W writers each add their own entries to one shared key by
// read-modify-write, retrying on a refused write, and at the end the key must list every write that was acked.
// An acked write missing from the final value is a lost update.
//   npx tsx bench/cas-race.ts [writers=4] [writesPerWriter=200] [nodes=3]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connectNats } from '../core/nats/connect.js';
import { kvStore, readModifyWrite } from '../core/nats/cas.js';
import { LocalNatsCluster } from '../core/nats/local-cluster.js';
import { LocalNatsServer } from '../core/nats/local-server.js';

const writers = Number(process.argv[2] ?? 4);
const perWriter = Number(process.argv[3] ?? 200);
const nodes = Number(process.argv[4] ?? 3);

const codec = {
  decode: (b: Uint8Array): string[] => JSON.parse(new TextDecoder().decode(b)) as string[],
  encode: (v: string[]): Uint8Array => new TextEncoder().encode(JSON.stringify(v)),
};

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
  const acked: string[] = [];
  await Promise.all(
    conns.map(async (nc, w) => {
      const store = kvStore(await new Kvm(jetstream(nc)).open('cas_race'));
      for (let i = 0; i < perWriter; i++) {
        const id = `${w}.${i}`;
        await readModifyWrite(store, 'shared', codec, (prev) => [...(prev ?? []), id]);
        acked.push(id);
      }
    }),
  );
  const final = await kv.get('shared');
  const held = new Set(final ? codec.decode(final.value) : []);
  const lost = acked.filter((id) => !held.has(id));
  console.log(
    JSON.stringify({
      nodes,
      writers,
      acked_writes: acked.length,
      in_final_value: held.size,
      lost_updates: lost.length,
      first_lost: lost.slice(0, 5),
    }),
  );
  await Promise.all(conns.map((c) => c.close()));
} finally {
  await cluster?.stop();
  await single?.stop();
  await rm(dir, { recursive: true, force: true });
}
