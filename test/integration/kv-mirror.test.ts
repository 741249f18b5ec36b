// The KV mirror (a bucket held in memory and kept current by a watch) against a real nats-server: it reads the
// bucket until it has caught up, then holds every value the bucket holds, follows puts and deletes, lets a
// writer wait until its write is in memory, and goes back to reading the bucket while its watch is down.
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../core/nats/connect.js';
import { KvMirror } from '../../core/nats/kv-mirror.js';
import { silentLogger } from '../../core/logger.js';
import { waitFor } from '../../test-kit/poll.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : new TextDecoder().decode(b);

describe('KV mirror', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let kvm: Kvm;

  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'kv-mirror-test' });
    kvm = new Kvm(jetstream(nc));
  });
  afterAll(async () => {
    await nc.close();
    await nats.cleanup();
  });

  const valueOf = async (m: KvMirror, key: string): Promise<string | undefined> => {
    const e = await m.get(key);
    return e?.operation === 'PUT' ? dec(e.value) : undefined;
  };

  it('holds what the bucket held when it started, then follows puts and deletes', async () => {
    const kv: KV = await kvm.create('mirror_a', { history: 5 });
    for (let i = 0; i < 50; i++) await kv.put(`k${i}`, enc(`v${i}`));
    await kv.put('k7', enc('v7-again'));
    await kv.delete('k8');
    const m = new KvMirror(kv, 'mirror_a', silentLogger());
    // Before it has caught up, reads go to the bucket and are right all the same.
    expect(m.current).toBe(false);
    m.start();
    expect(await valueOf(m, 'k7')).toBe('v7-again');
    await m.caughtUp(10_000);
    expect(m.current).toBe(true);
    expect(await valueOf(m, 'k0')).toBe('v0');
    expect(await valueOf(m, 'k49')).toBe('v49');
    expect(await valueOf(m, 'k7')).toBe('v7-again');
    expect((await m.get('k8'))?.operation).toBe('DEL');
    expect(await m.get('never')).toBeNull();
    // A write waited for is in memory when the wait ends; the revision is the bucket's.
    const rev = await kv.put('k1', enc('v1-new'));
    expect(await m.reached(rev, 10_000)).toBe(true);
    expect(await valueOf(m, 'k1')).toBe('v1-new');
    expect((await m.get('k1'))?.revision).toBe(rev);
    const del = await kv.delete('k2').then(async () => (await kv.get('k2'))?.revision ?? 0);
    expect(await m.reached(del, 10_000)).toBe(true);
    expect((await m.get('k2'))?.operation).toBe('DEL');
    // A write made elsewhere arrives without anyone waiting for it.
    await kv.put('late', enc('arrived'));
    await waitFor(async () => (await valueOf(m, 'late')) === 'arrived', { what: 'the watch to deliver' });
    m.stop();
  });

  it('is current at once on an empty bucket, and a wait for a revision it will not see ends', async () => {
    const kv: KV = await kvm.create('mirror_b');
    const m = new KvMirror(kv, 'mirror_b', silentLogger());
    m.start();
    await m.caughtUp(10_000);
    expect(await m.get('x')).toBeNull();
    expect(await m.reached(1_000_000, 50)).toBe(false);
    m.stop();
  });

  it('reads the bucket while its watch is down and catches up again', async () => {
    const kv: KV = await kvm.create('mirror_c');
    await kv.put('a', enc('1'));
    const m = new KvMirror(kv, 'mirror_c', silentLogger(), 100);
    m.start();
    await m.caughtUp(10_000);
    // The bucket's stream goes away under the watch: the mirror stops answering from memory.
    await kv.destroy();
    await waitFor(() => !m.current, { timeoutMs: 20_000, what: 'the mirror to notice its watch ended' });
    const again: KV = await kvm.create('mirror_c');
    await again.put('a', enc('2'));
    await waitFor(async () => m.current && (await valueOf(m, 'a')) === '2', {
      timeoutMs: 20_000,
      what: 'the mirror to follow the new bucket',
    });
    m.stop();
  });
});
