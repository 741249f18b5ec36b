// The list index projection on a real nats-server: several projectors of one key racing while its source value
// changes (parties added and removed), some of them given a stale change, leave the index with exactly the
// latest value's keys, never without one it needs; a change that keeps the keys writes nothing; a key's first
// change is indexed without a read, and one projected late leaves nothing behind; the projection started on
// existing state indexes it (its first start back-fills); a deleted container leaves every list.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { connectNats } from '../../core/nats/connect.js';
import { ensureBuckets, type Buckets } from '../../core/nats/buckets.js';
import { CasBucket, PipelinedRequests, type CasEntry } from '../../core/nats/pipelined.js';
import {
  decodeContainerRecord,
  encodeContainerRecord,
  newContainerRecord,
  type ContainerRecord,
} from '../../core/state/container.js';
import { containerIndexKeys, indexPrefix, listedId } from '../../core/state/list-index.js';
import { projectKey } from '../../processor/index/keys.js';
import { startListIndex } from '../../processor/index/projection.js';
import { CargoFlow } from '../../proto/gen/portstream/v1/manifest.js';
import { containerNumber } from '../../test-kit/events.js';
import { waitFor } from '../../test-kit/poll.js';
import { startNats, type NatsFixture } from './sink-fixture.js';

/** A container on a manifest whose bills name these parties. */
function withParties(n: string, parties: string[]): ContainerRecord {
  const rec = newContainerRecord(n);
  rec.bookkeeping.shipments = [
    {
      callId: 'VNHPH-HICT-9811000-2346W',
      facility: { unLocode: 'VNHPH', terminalCode: 'HICT' },
      vessel: { imoNumber: '9811000', name: '', voyage: '2346W' },
      flow: CargoFlow.IMPORT,
      bills: parties.map((t, i) => ({
        billNumber: `HLCUHPH80000${i}`,
        partyTaxCodes: [t],
        declarationNumbers: [],
        customsStatus: 0,
      })),
      startedTime: undefined,
      endedTime: undefined,
      manifestVersion: 1,
      carrierCode: 'HLCU',
    },
  ];
  return rec;
}

describe('list index projection', () => {
  let fx: NatsFixture;
  let nc: NatsConnection;
  let buckets: Buckets;
  let requests: PipelinedRequests;

  /** Every live key of the index that lists the container (not the projection's own record). */
  const indexed = async (n: string): Promise<string[]> => {
    const out: string[] = [];
    for await (const k of await buckets.listIndex.keys()) {
      if (!k.startsWith('r.') && listedId(k) === n) {
        const e = await buckets.listIndex.get(k);
        if (e?.operation === 'PUT') out.push(k);
      }
    }
    return out.sort();
  };

  /** What a projection of ps_containers works with. */
  const containerProjection = () => ({
    source: new CasBucket(requests, buckets.names.containers),
    index: new CasBucket(requests, buckets.names.listIndex),
    keysOf: (v: Uint8Array): Promise<string[]> =>
      Promise.resolve(containerIndexKeys(decodeContainerRecord(v), [])),
  });

  beforeAll(async () => {
    fx = await startNats();
    nc = fx.nc;
    buckets = await ensureBuckets(jetstream(nc), 1);
    requests = new PipelinedRequests(nc);
  });
  afterAll(async () => {
    requests.close();
    await fx.cleanup();
  });

  it('racing projectors leave exactly the latest value’s keys, whichever change each was given', async () => {
    const n = containerNumber('RCE', 1);
    const { source, index, keysOf } = containerProjection();
    const sets = [
      ['0100109106'],
      ['0100109106', '0300588569'],
      ['0300588569'],
      [],
      ['0300588569', '0101243150'],
      ['0101243150'],
    ];
    // Each round writes two values, then projects both changes and a back-fill (no change) at once, in a
    // different order each round, while a third value is written; then projects that one. Every other round the
    // last value needs exactly what the index records already, so its own projection writes nothing while
    // projections of the older values of the round, which need other keys, race it.
    let final: string[] = [];
    let random = 7;
    const next = (m: number): number => {
      random = (random * 48271) % 2147483647;
      return random % m;
    };
    for (let round = 0; round < 60; round++) {
      const parties = [
        sets[next(6)] ?? [],
        sets[next(6)] ?? [],
        round % 2 === 0 ? final : (sets[next(6)] ?? []),
      ];
      const changes: CasEntry[] = [];
      const write = async (p: string[]): Promise<CasEntry> => {
        const value = encodeContainerRecord(withParties(n, p));
        return { value, revision: await buckets.containers.put(n, value), operation: 'PUT' };
      };
      for (const p of parties.slice(0, 2)) changes.push(await write(p));
      const racers: (CasEntry | null)[] = [...changes, null];
      for (let i = racers.length - 1; i > 0; i--) {
        const j = next(i + 1);
        [racers[i], racers[j]] = [racers[j] ?? null, racers[i] ?? null];
      }
      // The last value lands while the others are being projected.
      const running = racers.map((c) => projectKey('c', n, c, source, index, keysOf));
      const last = await write(parties[2] ?? []);
      await Promise.all([...running, projectKey('c', n, last, source, index, keysOf)]);
      final = parties[2] ?? [];
      expect(await indexed(n)).toEqual(
        containerIndexKeys(withParties(n, final), []).filter((k) => listedId(k) === n),
      );
    }
  });

  it('a change that keeps the keys writes nothing to the index', async () => {
    const n = containerNumber('RCE', 3);
    const { source, index, keysOf } = containerProjection();
    const project = async (parties: string[]): Promise<void> => {
      const value = encodeContainerRecord(withParties(n, parties));
      const revision = await buckets.containers.put(n, value);
      await projectKey('c', n, { value, revision, operation: 'PUT' }, source, index, keysOf);
    };
    const lastSeq = async (): Promise<number> => (await buckets.listIndex.status()).streamInfo.state.last_seq;
    await project(['0100109106']);
    const before = await lastSeq();
    await project(['0100109106']);
    await project(['0100109106']);
    expect(await lastSeq()).toBe(before);
    await project(['0300588569']);
    expect(await lastSeq()).toBeGreaterThan(before);
    expect(await indexed(n)).toEqual([`${indexPrefix.firm('0300588569', 'c')}${n}`]);
  });

  it('indexes a key’s first change without reading its record, and corrects a first change that was not', async () => {
    // The projection on a connection of its own, so the messages it sends can be counted.
    const own = await connectNats({ url: fx.nats.url, name: 'list-index-first' });
    const ownRequests = new PipelinedRequests(own);
    try {
      const source = new CasBucket(ownRequests, buckets.names.containers);
      const index = new CasBucket(ownRequests, buckets.names.listIndex);
      const keysOf = (v: Uint8Array): Promise<string[]> =>
        Promise.resolve(containerIndexKeys(decodeContainerRecord(v), []));
      const wanted = (n: string, parties: string[]): string[] =>
        containerIndexKeys(withParties(n, parties), []).filter((k) => listedId(k) === n);
      const write = async (n: string, parties: string[]): Promise<CasEntry> => {
        const value = encodeContainerRecord(withParties(n, parties));
        return { value, revision: await buckets.containers.put(n, value), operation: 'PUT' };
      };

      // A new key: its keys and its record, one message each, and no read.
      const fresh = containerNumber('FST', 1);
      const created = await write(fresh, ['0100109106']);
      const sentBefore = own.stats().outMsgs;
      await projectKey('c', fresh, { ...created, first: true }, source, index, keysOf);
      expect(own.stats().outMsgs - sentBefore).toBe(wanted(fresh, ['0100109106']).length + 1);
      expect(await indexed(fresh)).toEqual(wanted(fresh, ['0100109106']));
      // Redelivered: refused as a creation, then found up to date.
      await projectKey('c', fresh, { ...created, first: true }, source, index, keysOf);
      expect(await indexed(fresh)).toEqual(wanted(fresh, ['0100109106']));

      // Projected late: the key has moved on and its record lists the newer value's keys. The late first
      // change's keys are put, its creation refused, and what the latest value does not need is removed again.
      const late = containerNumber('FST', 2);
      const old = await write(late, ['0100109106']);
      const newer = await write(late, ['0300588569']);
      await projectKey('c', late, newer, source, index, keysOf);
      await projectKey('c', late, { ...old, first: true }, source, index, keysOf);
      expect(await indexed(late)).toEqual(wanted(late, ['0300588569']));

      // A key that lived before (its record left from then) whose first change now needs other keys.
      const reborn = containerNumber('FST', 3);
      const before = await write(reborn, ['0100109106']);
      await projectKey('c', reborn, before, source, index, keysOf);
      const again = await write(reborn, ['0101243150']);
      await projectKey('c', reborn, { ...again, first: true }, source, index, keysOf);
      expect(await indexed(reborn)).toEqual(wanted(reborn, ['0101243150']));
    } finally {
      ownRequests.close();
      await own.close();
    }
  });

  it('the projection back-fills existing state and follows changes and deletes', async () => {
    const before = containerNumber('RCE', 2);
    await buckets.containers.put(before, encodeContainerRecord(withParties(before, ['0100109106'])));
    const projection = await startListIndex({
      js: jetstream(nc),
      jsm: await jetstreamManager(nc),
      nc,
      buckets,
      logger: silentLogger(),
      // Its requests time out after a third of this: generous, for a loaded machine.
      ackWaitMs: 10_000,
    });
    try {
      await waitFor(
        async () => (await indexed(before)).includes(`${indexPrefix.firm('0100109106', 'c')}${before}`),
        {
          what: 'the existing container indexed',
        },
      );
      await buckets.containers.put(before, encodeContainerRecord(withParties(before, ['0300588569'])));
      await waitFor(
        async () =>
          JSON.stringify(await indexed(before)) ===
          JSON.stringify([`${indexPrefix.firm('0300588569', 'c')}${before}`]),
        { what: 'the party change followed' },
      );
      await buckets.containers.delete(before);
      await waitFor(async () => (await indexed(before)).length === 0, { what: 'the delete followed' });
    } finally {
      await projection.stop();
    }
  });
});
