// Compare-and-set on a 3-node cluster (R3 bucket), where the leader's revision check alone lets two writers of
// one revision both be acked (bench/cas-race.ts): with the revision guard (core/nats/cas.ts) exactly one write
// replaces a revision, whether the other is sent at the same moment or later, through the pipelined bucket or
// the KV client, and concurrent read-modify-writes lose no acked update.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../core/nats/connect.js';
import {
  CasContendedError,
  isWrongRevision,
  kvStore,
  readModifyWrite,
  type CasStore,
} from '../../core/nats/cas.js';
import { RememberingCasStore } from '../../core/nats/cas-cache.js';
import { LocalNatsCluster } from '../../core/nats/local-cluster.js';
import { CasBucket, guardsRevisions, PipelinedRequests } from '../../core/nats/pipelined.js';

const BUCKET = 'cas_guard';
const list = {
  decode: (b: Uint8Array): string[] => JSON.parse(new TextDecoder().decode(b)) as string[],
  encode: (v: string[]): Uint8Array => new TextEncoder().encode(JSON.stringify(v)),
};

describe('compare-and-set on a 3-node cluster', () => {
  let dir: string;
  let cluster: LocalNatsCluster;
  const conns: NatsConnection[] = [];
  const requests: PipelinedRequests[] = [];
  let kvs: KV[];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'portstream-cas-cluster-'));
    // Up to 90 s to form: in the full suite the cluster shares two cores with other suites' processes.
    cluster = await LocalNatsCluster.start({ dir, size: 3, readyTimeoutMs: 90_000 });
    // One connection per node, so writes reach the leader from its own node and from the others.
    for (const [i, url] of cluster.urls.entries()) conns.push(await connectNats({ url, name: `cas-${i}` }));
    const first = conns[0];
    if (!first) throw new Error('no connection');
    await new Kvm(jetstream(first)).create(BUCKET, { history: 1, replicas: 3 });
    kvs = await Promise.all(conns.map((nc) => new Kvm(jetstream(nc)).open(BUCKET)));
    for (const nc of conns) requests.push(new PipelinedRequests(nc, 5000));
  }, 120_000);

  afterAll(async () => {
    for (const r of requests) r.close();
    await Promise.all(conns.map((c) => c.close()));
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('guards writes on a clustered server, with the revision each replaces as message id', async () => {
    const nc = conns[0];
    const r = requests[0];
    if (!nc || !r) throw new Error('no connection');
    expect(guardsRevisions(nc)).toBe(true);
    const bucket = new CasBucket(r, BUCKET);
    const rev = await bucket.write('ided', list.encode(['a']), 0);
    await bucket.write('ided', list.encode(['a', 'b']), rev);
    const jsm = await jetstreamManager(nc);
    const m = await jsm.streams.getMessage(`KV_${BUCKET}`, { last_by_subj: `$KV.${BUCKET}.ided` });
    expect(m?.header.get('Nats-Msg-Id')).toBe(`ided@${rev}`);
  });

  it('lets one of two writes sent together for the same revision through, and refuses the other', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `pair${i}`);
    const [a, b] = requests;
    const kv = kvs[2];
    if (!a || !b || !kv) throw new Error('no connection');
    // Two writes from one connection leave in one socket write: the second reaches the leader before the first
    // is applied, which is the moment the revision check alone does not cover.
    const pipelined = [new CasBucket(a, BUCKET), new CasBucket(a, BUCKET)];
    const outcomes = await Promise.all(
      keys.map(async (key, i) => {
        const base = await kv.put(key, list.encode([]));
        // Alternately two pipelined writers on one connection, and one on another node against the KV client.
        const writers: CasStore[] = i % 2 === 0 ? pipelined : [new CasBucket(b, BUCKET), kvStore(kv)];
        const tries = await Promise.allSettled(
          writers.map((w, j) => w.write(key, list.encode([`w${j}`]), base)),
        );
        for (const t of tries) if (t.status === 'rejected') expect(isWrongRevision(t.reason)).toBe(true);
        const stored = await kv.get(key);
        const won = tries.filter((t) => t.status === 'fulfilled').length;
        return { won, value: stored ? list.decode(stored.value) : [] };
      }),
    );
    for (const o of outcomes) {
      expect(o.won).toBe(1);
      expect(o.value).toHaveLength(1);
    }
  });

  it('loses no acked update when writers on every node read-modify-write one key', async () => {
    const kv = kvs[0];
    if (!kv) throw new Error('no connection');
    // Three pipelined writers (one remembering what it wrote) and one through the KV client.
    const stores: CasStore[] = [
      new CasBucket(requests[0] as PipelinedRequests, BUCKET),
      new RememberingCasStore(new CasBucket(requests[1] as PipelinedRequests, BUCKET), 10),
      new CasBucket(requests[2] as PipelinedRequests, BUCKET),
      kvStore(kvs[1] as KV),
    ];
    const acked: string[] = [];
    await Promise.all(
      stores.map(async (store, w) => {
        for (let i = 0; i < 60; i++) {
          const id = `${w}.${i}`;
          // Writers that lose to the others 20 times running are told so, their update not stored: like a
          // consumer on redelivery, they try the same update again. Only what resolved counts as acked.
          for (;;) {
            try {
              await readModifyWrite(store, 'shared', list, (prev) => [...(prev ?? []), id]);
              break;
            } catch (err) {
              if (!(err instanceof CasContendedError)) throw err;
            }
          }
          acked.push(id);
        }
      }),
    );
    const final = await kv.get('shared');
    const held = new Set(final ? list.decode(final.value) : []);
    expect(acked).toHaveLength(240);
    expect(acked.filter((id) => !held.has(id))).toEqual([]);
    // Each update is held once: a write refused as contended was not stored, and its retry is the only copy.
    expect(held.size).toBe(final ? list.decode(final.value).length : 0);
  }, 120_000);
});
