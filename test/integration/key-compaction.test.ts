// Buckets that do not grow with history (core/nats/compact.ts) on a real nats-server, with the state consumer and
// the list index projection running: a retired container's marker is removed once no event it guards against can
// still arrive and the list index has taken it, and not before; the index loses its delete markers, keys of a
// list of all and records of retired keys, and keeps every key of what is listed now exactly as it was; a
// container that comes back after its keys were removed is listed again; a removal takes the one message judged
// and no consumer of the stream skips anything for it.
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INDEX_CONSUMER } from '../../core/consumer/index.js';
import { silentLogger } from '../../core/logger.js';
import { ensureBuckets, type Buckets } from '../../core/nats/buckets.js';
import { deleteStored } from '../../core/nats/compact.js';
import { connectNats } from '../../core/nats/connect.js';
import { ensureStreams, STREAM_EVENTS, subjects } from '../../core/nats/topology.js';
import { startIndexCompaction } from '../../processor/index/compaction.js';
import { startListIndex, type ListIndexHandle } from '../../processor/index/projection.js';
import {
  startStateConsumer,
  STATE_CONSUMER,
  type StateConsumerHandle,
} from '../../processor/state/consumer.js';
import { startContainerRetention } from '../../processor/state/retention.js';
import { EquipmentEventType, type Event } from '../../proto/gen/portstream/v1/events.js';
import { EventGroup } from '../../proto/gen/portstream/v1/records.js';
import { ContainerLocation } from '../../proto/gen/portstream/v1/tracking.js';
import {
  decodeContainerRecord,
  encodeContainerRecord,
  newContainerRecord,
} from '../../core/state/container.js';
import { containerMove, containerNumber, FACILITY } from '../../test-kit/events.js';
import { waitFor } from '../../test-kit/poll.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';

const EVENTS_MAX_AGE_HOURS = 1;
const opts = {
  replicas: 1,
  eventsMaxAgeHours: EVENTS_MAX_AGE_HOURS,
  eventsMaxBytes: 1 << 28,
  duplicateWindowSeconds: 120,
};
const T0 = Date.parse('2026-03-01T00:00:00Z');
const DAY = 24 * 3_600_000;
const at = (days: number): Date => new Date(T0 + days * DAY);
const TERMINAL = `t.${FACILITY.unLocode}.${FACILITY.terminalCode}.`;

describe('key compaction', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let buckets: Buckets;
  let consumer: StateConsumerHandle;
  let index: ListIndexHandle | undefined;

  const deps = () => ({ js, jsm, nc, buckets, logger: silentLogger() });
  const publish = async (events: Event[]): Promise<void> => {
    const group = EventGroup.encode({ receivedTime: new Date(), source: 'test', events }).finish();
    await js.publish(subjects.events(FACILITY.unLocode, FACILITY.terminalCode, 'equipment'), group);
  };
  const drained = async (stream: string, durable: string): Promise<void> => {
    await waitFor(
      async () => {
        const i = await jsm.consumers.info(stream, durable);
        return i.num_pending === 0 && i.num_ack_pending === 0;
      },
      { what: `${durable} on ${stream} to take everything` },
    );
  };
  const applied = (): Promise<void> => drained(STREAM_EVENTS, STATE_CONSUMER);
  const indexed = (): Promise<void> => drained(`KV_${buckets.names.containers}`, INDEX_CONSUMER);
  /** The keys a bucket's stream holds a message for (what nats-server keeps in memory per key). */
  const subjectsOf = async (bucket: string): Promise<string[]> => {
    const prefix = `$KV.${bucket}.`;
    const info = await jsm.streams.info(`KV_${bucket}`, { subjects_filter: `${prefix}>` });
    return Object.keys(info.state.subjects ?? {})
      .map((s) => s.slice(prefix.length))
      .sort();
  };
  const revisionOf = async (bucket: 'containers' | 'listIndex', key: string): Promise<number> =>
    (await buckets[bucket].get(key))?.revision ?? 0;

  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'key-compaction-test' });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, opts);
    buckets = await ensureBuckets(js, 1);
    consumer = await startStateConsumer({ ...deps(), ackWaitMs: 5000 });
    index = await startListIndex({ ...deps(), ackWaitMs: 5000 });
  });
  afterAll(async () => {
    await index?.stop();
    await consumer.stop();
    await nc.close();
    await nats.cleanup();
  });

  it('purges markers, index markers and records nothing needs, keeps the rest as it was, and lists a returning container again', async () => {
    const early = containerNumber('CMP', 1); // gate-out on day 1: its marker may go on day 10
    const later = containerNumber('CMP', 2); // gate-out on day 2: its marker must stay on day 10
    const unseen = containerNumber('CMP', 3); // gate-out on day 1, retired while the index projection is down
    const inYard = containerNumber('CMP', 4); // discharged, still in the yard
    const bare = containerNumber('CMP', 5); // a record on no list (no facility, no manifest), held
    const all = [early, later, unseen, inYard];
    await publish(all.map((n) => containerMove(`${n}-disc`, EquipmentEventType.DISC, n, at(0))));
    // Indexed before any leaves: each stays on its terminal's list until it is retired.
    await applied();
    await indexed();
    await publish([
      containerMove(`${early}-gtot`, EquipmentEventType.GTOT, early, at(1)),
      containerMove(`${later}-gtot`, EquipmentEventType.GTOT, later, at(2)),
    ]);
    await buckets.containers.put(bare, encodeContainerRecord(newContainerRecord(bare)));
    await applied();
    await indexed();
    // A key of the list of all an index written before 2026-11-30 holds: read by nothing.
    await buckets.listIndex.put(`a.c.${inYard}`, '1');
    // What stays in the index: the yard container's keys, and the record (listing nothing) of the one on no list.
    const kept = [`r.c.${inYard}`, `${TERMINAL}${inYard}`, `r.c.${bare}`];
    expect(await subjectsOf(buckets.names.listIndex)).toEqual(
      expect.arrayContaining([...kept, `${TERMINAL}${early}`, `${TERMINAL}${later}`]),
    );
    const keptRevisions = await Promise.all(kept.map((k) => revisionOf('listIndex', k)));
    const heldRecords = await Promise.all([inYard, bare].map((n) => revisionOf('containers', n)));

    // Events are accepted up to 8.5 days late and kept an hour: on day 10 a marker whose newest event is before
    // day 1.5 minus an hour guards against nothing.
    const retention = startContainerRetention({
      ...deps(),
      retentionMs: 7 * DAY,
      now: () => at(10),
      lateEventsMs: 8.5 * DAY,
      timer: false,
    });
    const compaction = startIndexCompaction({ ...deps(), intervalMs: 60_000, timer: false });
    try {
      expect(await retention.sweep()).toEqual({ scanned: 5, retired: 2, kept: 0, removed: 0 });
      await indexed();
      // Gate-out of the third while the projection is down; retired before the projection saw any of it.
      await index?.stop();
      index = undefined;
      await publish([containerMove(`${unseen}-gtot`, EquipmentEventType.GTOT, unseen, at(1))]);
      await applied();
      expect(await retention.sweep()).toEqual({ scanned: 3, retired: 1, kept: 0, removed: 1 });
      expect(await buckets.containers.get(early)).toBeNull();
      expect((await buckets.containers.get(later))?.operation).toBe('DEL');
      // Not taken by the projection yet: its marker stays, whatever its age.
      expect(await retention.sweep()).toEqual({ scanned: 2, retired: 0, kept: 0, removed: 0 });
      expect((await buckets.containers.get(unseen))?.operation).toBe('DEL');

      index = await startListIndex({ ...deps(), ackWaitMs: 5000 });
      await indexed();
      expect(await retention.sweep()).toEqual({ scanned: 2, retired: 0, kept: 0, removed: 1 });
      expect(await subjectsOf(buckets.names.containers)).toEqual([later, inYard, bare].sort());
      expect(await Promise.all([inYard, bare].map((n) => revisionOf('containers', n)))).toEqual(heldRecords);

      // The index: the terminal keys of the three retired containers (taken off on retirement), the key of a list
      // of all, and their records; the held ones keep their keys and records at their revisions.
      expect(await compaction.sweep()).toEqual({ scanned: 3 + 1 + 3 + 3, markers: 4, records: 3 });
      expect(await subjectsOf(buckets.names.listIndex)).toEqual([...kept].sort());
      expect(await Promise.all(kept.map((k) => revisionOf('listIndex', k)))).toEqual(keptRevisions);
      expect(await compaction.sweep()).toEqual({ scanned: 3, markers: 0, records: 0 });
    } finally {
      await compaction.stop();
      await retention.stop();
    }

    // A late event of the later container's stay is still dropped by its marker.
    const marker = await buckets.containers.get(later);
    await publish([containerMove(`${later}-late`, EquipmentEventType.RMVD, later, at(1.5))]);
    await applied();
    expect((await buckets.containers.get(later))?.revision).toBe(marker?.revision);

    // The early container comes back: a new record, listed again on its terminal.
    await publish([containerMove(`${early}-back`, EquipmentEventType.GTIN, early, at(20))]);
    await applied();
    const back = await buckets.containers.get(early);
    expect(back && decodeContainerRecord(back.value).status.location).toBe(ContainerLocation.AT_GATE);
    await waitFor(async () => (await buckets.listIndex.get(`${TERMINAL}${early}`))?.operation === 'PUT', {
      what: 'the returning container listed again',
    });
    await waitFor(async () => (await buckets.listIndex.get(`r.c.${early}`))?.operation === 'PUT', {
      what: 'its index record created again',
    });
  });

  it('a delete removes the one message judged: a write since stays, and a consumer that is behind skips nothing', async () => {
    const stream = `KV_${buckets.names.listIndex}`;
    const prefix = `$KV.${buckets.names.listIndex}.`;
    await jsm.consumers.add(stream, {
      durable_name: 'behind',
      ack_policy: AckPolicy.Explicit,
      filter_subject: `${prefix}del.>`,
    });
    const kv = buckets.listIndex;
    const a = await kv.put('del.a', '1');
    await kv.put('del.b', '1');
    await kv.delete('del.b');
    const marker = (await kv.get('del.b'))?.revision ?? 0;
    const c = await kv.put('del.c', '1');
    expect(await deleteStored(jsm, stream, marker)).toBe(true);
    expect(await deleteStored(jsm, stream, marker)).toBe(false);
    expect(await kv.get('del.b')).toBeNull();
    // A write since the sequence judged: the key's new message stays.
    const a2 = await kv.put('del.a', '2');
    expect(await deleteStored(jsm, stream, a)).toBe(false);
    expect((await kv.get('del.a'))?.revision).toBe(a2);
    // The durable created before any of it gets every message still stored, in order.
    const got: number[] = [];
    const behind = await js.consumers.get(stream, 'behind');
    for (;;) {
      const m = await behind.next({ expires: 1000 });
      if (!m) break;
      got.push(m.seq);
      m.ack();
    }
    expect(got).toEqual([c, a2]);
  });
});
