// The pipelined request path and compare-and-set over it, against a real nats-server: reads and writes agree
// with the KV client (both ways), conflicts are told apart from other errors, and a request nobody answers
// fails instead of hanging. The remembering store (compare-and-set from memory) never loses another writer's
// update, whatever it remembers or presumes.
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../core/nats/connect.js';
import {
  CasBucket,
  CasConflictError,
  PipelinedRequestError,
  PipelinedRequests,
} from '../../core/nats/pipelined.js';
import { kvStore, readModifyWrite } from '../../core/nats/cas.js';
import { RememberingCasStore } from '../../core/nats/cas-cache.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const text = { encode: enc, decode: dec };

describe('pipelined KV access', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let kv: KV;
  let requests: PipelinedRequests;
  let bucket: CasBucket;

  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'pipelined-test' });
    kv = await new Kvm(jetstream(nc)).create('pipelined_test', { history: 1 });
    requests = new PipelinedRequests(nc, 500);
    bucket = new CasBucket(requests, 'pipelined_test');
  });

  afterAll(async () => {
    requests.close();
    await nc.close();
    await nats.cleanup();
  });

  it('reads what the KV client wrote and writes what it reads, with the same revisions', async () => {
    expect(await bucket.get('absent')).toBeNull();
    const rev = await kv.put('a', enc('one'));
    const got = await bucket.get('a');
    expect(got && { v: dec(got.value), r: got.revision, op: got.operation }).toEqual({
      v: 'one',
      r: rev,
      op: 'PUT',
    });
    const rev2 = await bucket.write('a', enc('two'), rev);
    const e = await kv.get('a');
    expect(e && { v: dec(e.value), r: e.revision }).toEqual({ v: 'two', r: rev2 });
  });

  it('creates only an absent key and updates only the expected revision', async () => {
    const rev = await bucket.write('b', enc('first'), 0);
    await expect(bucket.write('b', enc('again'), 0)).rejects.toBeInstanceOf(CasConflictError);
    await expect(bucket.write('b', enc('stale'), rev + 1000)).rejects.toBeInstanceOf(CasConflictError);
    expect(dec((await kv.get('b'))?.value ?? new Uint8Array())).toBe('first');
  });

  it('sees a deleted key as a delete marker and writes over it with its revision', async () => {
    await kv.put('c', enc('x'));
    await kv.delete('c');
    const marker = await bucket.get('c');
    expect(marker?.operation).toBe('DEL');
    await bucket.write('c', enc('back'), marker?.revision ?? -1);
    expect(dec((await kv.get('c'))?.value ?? new Uint8Array())).toBe('back');
  });

  it('applies concurrent read-modify-writes from both clients without losing one', async () => {
    const counter = { encode: (n: number) => enc(String(n)), decode: (b: Uint8Array) => Number(dec(b)) };
    const stores = [bucket, kvStore(kv)];
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        readModifyWrite(stores[i % 2] ?? bucket, 'counter', counter, (prev) => (prev ?? 0) + 1),
      ),
    );
    expect(counter.decode((await kv.get('counter'))?.value ?? enc('0'))).toBe(10);
    // Many keys in one pass: every write lands.
    await Promise.all(
      Array.from({ length: 500 }, (_, i) => readModifyWrite(bucket, `k${i}`, text, () => `v${i}`)),
    );
    expect(dec((await kv.get('k499'))?.value ?? new Uint8Array())).toBe('v499');
  });

  it('fails a request that nobody answers, and one that is never answered in time', async () => {
    await expect(requests.request('nobody.listens.here', new Uint8Array())).rejects.toSatisfy(
      (e) => e instanceof PipelinedRequestError && e.kind === 'no-responders',
    );
    const silent = nc.subscribe('silent.service');
    try {
      await expect(requests.request('silent.service', new Uint8Array())).rejects.toSatisfy(
        (e) => e instanceof PipelinedRequestError && e.kind === 'timeout',
      );
    } finally {
      silent.unsubscribe();
    }
  });

  it('writes from memory without reading, and lands on the latest value when memory is stale', async () => {
    const store = new RememberingCasStore(bucket, 100);
    const append = (v: string) => (prev: string | undefined) => (prev === undefined ? v : `${prev},${v}`);
    // A key it wrote is written again from memory: one read in all, for the first write.
    await readModifyWrite(store, 'm1', text, append('a'));
    await readModifyWrite(store, 'm1', text, append('b'));
    expect(store.stats).toEqual({ hits: 1, reads: 1, failedWrites: 0 });
    // Another writer moves the key on: the write from memory is refused, the retry reads, nothing is lost.
    const other = await kv.get('m1');
    await kv.update('m1', enc(`${dec(other?.value ?? enc(''))},other`), other?.revision ?? 0);
    await readModifyWrite(store, 'm1', text, append('c'));
    expect(dec((await kv.get('m1'))?.value ?? enc(''))).toBe('a,b,other,c');
    expect(store.stats).toEqual({ hits: 2, reads: 2, failedWrites: 1 });
    // Once written again it is remembered again.
    await readModifyWrite(store, 'm1', text, append('d'));
    expect(store.stats.hits).toBe(3);
  });

  it('presumes a key absent only until the store says otherwise', async () => {
    const store = new RememberingCasStore(bucket, 100);
    const append = (v: string) => (prev: string | undefined) => (prev === undefined ? v : `${prev},${v}`);
    // Really absent: created with no read at all.
    store.presumeAbsent('p-new');
    await readModifyWrite(store, 'p-new', text, append('x'));
    expect(store.stats).toEqual({ hits: 1, reads: 0, failedWrites: 0 });
    expect(dec((await kv.get('p-new'))?.value ?? enc(''))).toBe('x');
    // Present (written by someone else): the create is refused, the retry reads and appends.
    await kv.put('p-old', enc('kept'));
    store.presumeAbsent('p-old');
    await readModifyWrite(store, 'p-old', text, append('y'));
    expect(dec((await kv.get('p-old'))?.value ?? enc(''))).toBe('kept,y');
    // Deleted: the retry sees the delete marker and writes over it.
    await kv.put('p-del', enc('gone'));
    await kv.delete('p-del');
    store.presumeAbsent('p-del');
    const seen: (string | undefined)[] = [];
    await readModifyWrite(store, 'p-del', text, (prev) => {
      seen.push(prev);
      return 'again';
    });
    expect(seen).toEqual([undefined, undefined]);
    expect(dec((await kv.get('p-del'))?.value ?? enc(''))).toBe('again');
    expect(store.stats.failedWrites).toBe(2);
    // A key it remembers is not presumed absent.
    store.presumeAbsent('p-new');
    await readModifyWrite(store, 'p-new', text, append('z'));
    expect(dec((await kv.get('p-new'))?.value ?? enc(''))).toBe('x,z');
  });
});
