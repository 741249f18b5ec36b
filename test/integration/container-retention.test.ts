// Retention of containers that left the port (processor/state/retention.ts) on a real nats-server, with the state
// consumer and the list index projection running: a container that left beyond PROCESSOR_CONTAINER_RETENTION_HOURS is
// removed from ps_containers and from every list; one that left recently, one still in the yard, one with a
// shipment not ended and one with a declaration still being decided stay exactly as they were; a late or replayed
// event of a removed container brings nothing back, while its return to the port starts a new record.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvTrackingStore } from '../../api/tracking/store.js';
import { silentLogger } from '../../core/logger.js';
import { ensureBuckets, type Buckets } from '../../core/nats/buckets.js';
import { kvStore, readModifyWrite } from '../../core/nats/cas.js';
import { connectNats } from '../../core/nats/connect.js';
import { ensureStreams, STREAM_EVENTS, subjects } from '../../core/nats/topology.js';
import { decodeRetiredContainer } from '../../core/state/container.js';
import { encodeDeclarationState } from '../../core/state/declaration.js';
import { listedId } from '../../core/state/list-index.js';
import { upsertShipment } from '../../core/state/shipment.js';
import { startListIndex, type ListIndexHandle } from '../../processor/index/projection.js';
import {
  startStateConsumer,
  STATE_CONSUMER,
  type StateConsumerHandle,
} from '../../processor/state/consumer.js';
import { containerCodec, linkDeclaration } from '../../processor/state/customs.js';
import { startContainerRetention } from '../../processor/state/retention.js';
import { ClearanceStatus, Declaration, Decision } from '../../proto/gen/portstream/v1/customs.js';
import { EquipmentEventType, EventClassifier, type Event } from '../../proto/gen/portstream/v1/events.js';
import { CargoFlow } from '../../proto/gen/portstream/v1/manifest.js';
import { EventGroup } from '../../proto/gen/portstream/v1/records.js';
import { ContainerLocation } from '../../proto/gen/portstream/v1/tracking.js';
import { containerMove, containerNumber, FACILITY, VESSEL } from '../../test-kit/events.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';
import { waitFor } from '../../test-kit/poll.js';

const opts = { replicas: 1, eventsMaxAgeHours: 1, eventsMaxBytes: 1 << 28, duplicateWindowSeconds: 120 };
const T0 = Date.parse('2026-03-01T00:00:00Z');
const DAY = 24 * 3_600_000;
const at = (days: number): Date => new Date(T0 + days * DAY);
const RETENTION_MS = 7 * DAY;
const FIRM = '0100109106';

const eq = (
  id: string,
  type: EquipmentEventType,
  container: string,
  days: number,
  classifier = EventClassifier.ACTUAL,
): Event => containerMove(id, type, container, at(days), classifier);

/** A declaration as ps_declarations holds it, with its current status. */
function declarationState(no: string, status: ClearanceStatus): Uint8Array {
  return encodeDeclarationState({
    declaration: Declaration.fromPartial({ declarationNumber: no, declarantTaxCode: FIRM }),
    revision: 1,
    appliedCommands: [],
    decisions:
      status === ClearanceStatus.PENDING ? [] : [Decision.fromPartial({ declarationNumber: no, status })],
  });
}

describe('container retention', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let buckets: Buckets;
  let store: KvTrackingStore;
  let consumer: StateConsumerHandle;
  let index: ListIndexHandle;

  const publish = async (events: Event[]): Promise<void> => {
    const group = EventGroup.encode({ receivedTime: new Date(), source: 'test', events }).finish();
    await js.publish(subjects.events(FACILITY.unLocode, FACILITY.terminalCode, 'equipment'), group);
  };
  /** Published and applied: the state consumer has nothing pending or unacked. */
  const applied = async (): Promise<void> => {
    await waitFor(
      async () => {
        const i = await jsm.consumers.info(STREAM_EVENTS, STATE_CONSUMER);
        return i.num_pending === 0 && i.num_ack_pending === 0;
      },
      { what: 'the state consumer to apply everything' },
    );
  };
  /** The live index keys that list the container (not the projection's own record). */
  const listed = async (n: string): Promise<string[]> => {
    const out: string[] = [];
    for await (const k of await buckets.listIndex.keys()) {
      if (k.startsWith('r.') || listedId(k) !== n) continue;
      const e = await buckets.listIndex.get(k);
      if (e?.operation === 'PUT') out.push(k);
    }
    return out.sort();
  };
  const entry = async (n: string) => {
    const e = await buckets.containers.get(n);
    if (!e) throw new Error(`${n}: no entry`);
    return { operation: e.operation, revision: e.revision, value: e.value };
  };

  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'retention-test' });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, opts);
    buckets = await ensureBuckets(js, 1);
    store = await KvTrackingStore.open(nc, 1);
    const deps = { js, jsm, nc, buckets, logger: silentLogger() };
    consumer = await startStateConsumer({ ...deps, ackWaitMs: 5000 });
    index = await startListIndex({ ...deps, ackWaitMs: 5000 });
  });
  afterAll(async () => {
    await index.stop();
    await consumer.stop();
    store.close();
    await nc.close();
    await nats.cleanup();
  });

  it('removes what left beyond the retention, from the bucket and the lists, and nothing else', async () => {
    const gone = containerNumber('RTN', 1); // gate-out on day 1
    const loaded = containerNumber('RTN', 2); // loaded onto a vessel on day 1
    const cleared = containerNumber('RTN', 3); // gate-out on day 1, its declaration cleared
    const recent = containerNumber('RTN', 4); // gate-out on day 8
    const inYard = containerNumber('RTN', 5); // discharged, still in the yard
    const shipped = containerNumber('RTN', 6); // gate-out on day 1, on a manifest for a call still to come
    const declared = containerNumber('RTN', 7); // gate-out on day 1, its declaration still under inspection
    const all = [gone, loaded, cleared, recent, inYard, shipped, declared];
    await publish(all.map((n) => eq(`${n}-disc`, EquipmentEventType.DISC, n, 0)));
    await publish([
      eq(`${gone}-gtot`, EquipmentEventType.GTOT, gone, 1),
      eq(`${loaded}-load`, EquipmentEventType.LOAD, loaded, 1),
      eq(`${cleared}-gtot`, EquipmentEventType.GTOT, cleared, 1),
      eq(`${recent}-gtot`, EquipmentEventType.GTOT, recent, 8),
      eq(`${shipped}-gtot`, EquipmentEventType.GTOT, shipped, 1),
      eq(`${declared}-gtot`, EquipmentEventType.GTOT, declared, 1),
    ]);
    await applied();
    await buckets.declarations.put('DCLCLEARED01', declarationState('DCLCLEARED01', ClearanceStatus.CLEARED));
    await buckets.declarations.put(
      'DCLINSPECT01',
      declarationState('DCLINSPECT01', ClearanceStatus.PHYSICAL_INSPECTION),
    );
    await linkDeclaration(kvStore(buckets.containers), cleared, 'DCLCLEARED01', ClearanceStatus.CLEARED);
    await linkDeclaration(
      kvStore(buckets.containers),
      declared,
      'DCLINSPECT01',
      ClearanceStatus.PHYSICAL_INSPECTION,
      buckets.declarations,
    );
    await readModifyWrite(kvStore(buckets.containers), shipped, containerCodec, (prev) => {
      if (!prev) throw new Error('no record');
      upsertShipment(prev.bookkeeping, {
        callId: `${FACILITY.unLocode}-${FACILITY.terminalCode}-${VESSEL.imoNumber}-0999E`,
        facility: FACILITY,
        vessel: { ...VESSEL, voyage: '0999E' },
        flow: CargoFlow.EXPORT,
        bills: [
          { billNumber: 'HLCURTN000001', partyTaxCodes: [FIRM], declarationNumbers: [], customsStatus: 0 },
        ],
        startedTime: undefined,
        endedTime: undefined,
        manifestVersion: 1,
        carrierCode: 'HLCU',
      });
      return prev;
    });
    // Indexed: the projection's record of the container's keys exists (a container that left the port on no
    // manifest and no declaration is on no list).
    for (const n of all) {
      await waitFor(async () => (await buckets.listIndex.get(`r.c.${n}`))?.operation === 'PUT', {
        what: `${n} indexed`,
      });
    }
    expect(await listed(cleared)).not.toEqual([]);
    expect(await listed(shipped)).toContain(`f.${FIRM}.c.${shipped}`);
    const stays = [recent, inYard, shipped, declared];
    const before = new Map(await Promise.all(stays.map(async (n) => [n, await entry(n)] as const)));
    const listedBefore = new Map(await Promise.all(stays.map(async (n) => [n, await listed(n)] as const)));

    let retiredCount = 0;
    const retention = startContainerRetention({
      js,
      jsm,
      buckets,
      logger: silentLogger(),
      retentionMs: RETENTION_MS,
      now: () => at(10),
      timer: false,
      onRetired: (c) => (retiredCount += c),
    });
    try {
      const first = await retention.sweep();
      expect(first).toEqual({ scanned: all.length, retired: 3, kept: 1, removed: 0 });
      expect(retiredCount).toBe(3);
      for (const n of [gone, loaded, cleared]) {
        const e = await entry(n);
        expect(e.operation).toBe('DEL');
        expect(decodeRetiredContainer(e.value)?.leftTime).toEqual(at(1));
        expect(await store.container(n)).toBeUndefined();
        await waitFor(async () => (await listed(n)).length === 0, { what: `${n} off every list` });
      }
      // A second sweep finds nothing more to do: the markers are not records.
      expect(await retention.sweep()).toEqual({ scanned: all.length - 3, retired: 0, kept: 1, removed: 0 });
    } finally {
      await retention.stop();
    }
    for (const n of stays) {
      expect(await entry(n)).toEqual(before.get(n));
      expect(await listed(n)).toEqual(listedBefore.get(n));
    }
    expect((await store.container(recent))?.status.location).toBe(ContainerLocation.LEFT_TERMINAL);

    // Late and replayed events of the stay that ended, and a plan, bring nothing back.
    const marker = await entry(gone);
    await publish([
      eq(`${gone}-disc`, EquipmentEventType.DISC, gone, 0),
      eq(`${gone}-late-rmvd`, EquipmentEventType.RMVD, gone, 0.5),
      eq(`${gone}-gtot`, EquipmentEventType.GTOT, gone, 1),
      eq(`${gone}-plan`, EquipmentEventType.GTIN, gone, 30, EventClassifier.PLANNED),
      eq(`${loaded}-late-disc`, EquipmentEventType.DISC, loaded, 0.2),
    ]);
    await applied();
    expect(await entry(gone)).toEqual(marker);
    expect((await entry(loaded)).operation).toBe('DEL');
    expect(await store.container(gone)).toBeUndefined();
    expect(await listed(gone)).toEqual([]);

    // The container comes back: a new stay, with nothing of the old one, listed again.
    await publish([
      eq(`${gone}-late-2`, EquipmentEventType.DISC, gone, 0.7),
      eq(`${gone}-back`, EquipmentEventType.GTIN, gone, 20),
    ]);
    await applied();
    const back = await store.container(gone);
    expect(back?.status.location).toBe(ContainerLocation.AT_GATE);
    expect(back?.status.dischargedTime).toBeUndefined();
    expect(back?.status.lastEventId).toBe(`${gone}-back`);
    expect(back?.bookkeeping.recentEventIds).toHaveLength(1);
    expect(back?.bookkeeping.recentEventIds[0]).toContain(`${gone}-back`);
    expect(back?.bookkeeping.enteredTime).toEqual(at(20));
    const atGate = `t.${FACILITY.unLocode}.${FACILITY.terminalCode}.${gone}`;
    await waitFor(async () => (await listed(gone)).includes(atGate), { what: `${gone} listed again` });
  });
});
