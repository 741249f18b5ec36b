// The list index projection on a real nats-server: several projectors of one key racing while its source value
// changes (parties added and removed) leave the index with exactly the latest value's keys, never without one it
// needs; the projection started on existing state indexes it (its first start back-fills); a deleted container
// leaves every list.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { ensureBuckets, type Buckets } from '../../core/nats/buckets.js';
import { CasBucket, PipelinedRequests } from '../../core/nats/pipelined.js';
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

  it('racing projectors leave exactly the latest value’s keys', async () => {
    const n = containerNumber('RCE', 1);
    const source = new CasBucket(requests, buckets.names.containers);
    const index = { cas: new CasBucket(requests, buckets.names.listIndex), kv: buckets.listIndex };
    const keysOf = (v: Uint8Array): Promise<string[]> =>
      Promise.resolve(containerIndexKeys(decodeContainerRecord(v), []));
    // Parties come and go: each round writes a new value and starts three projectors at once, some of which
    // read an older value than the others.
    const rounds = [
      ['0100109106'],
      ['0100109106', '0300588569'],
      ['0300588569'],
      [],
      ['0100109106'],
      ['0300588569', '0101243150'],
      ['0100109106'],
    ];
    for (const parties of [...rounds, ...rounds, ...rounds, ...rounds]) {
      const write = buckets.containers.put(n, encodeContainerRecord(withParties(n, parties)));
      const racers = [0, 1, 2].map(() => projectKey('c', n, source, index, keysOf));
      await write;
      await Promise.all([...racers, projectKey('c', n, source, index, keysOf)]);
      expect(await indexed(n)).toEqual(
        containerIndexKeys(withParties(n, parties), []).filter((k) => listedId(k) === n),
      );
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
      ackWaitMs: 2000,
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
          JSON.stringify([`a.c.${before}`, `${indexPrefix.firm('0300588569', 'c')}${before}`]),
        { what: 'the party change followed' },
      );
      await buckets.containers.delete(before);
      await waitFor(async () => (await indexed(before)).length === 0, { what: 'the delete followed' });
    } finally {
      await projection.stop();
    }
  });
});
