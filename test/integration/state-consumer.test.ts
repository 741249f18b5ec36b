import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvTrackingStore } from '../../api/tracking/store.js';
import { silentLogger } from '../../core/logger.js';
import { ensureBuckets } from '../../core/nats/buckets.js';
import type { Buckets } from '../../core/nats/buckets.js';
import { connectNats } from '../../core/nats/connect.js';
import { kvStore } from '../../core/nats/cas.js';
import { ensureStreams, STREAM_DEADLETTERS, STREAM_EVENTS, subjects } from '../../core/nats/topology.js';
import {
  CONTAINER_MAX_SEALS,
  CONTAINER_RECENT_EVENT_IDS,
  decodeContainerRecord,
  type ContainerRecord,
} from '../../core/state/container.js';
import { encodeDeclarationState } from '../../core/state/declaration.js';
import { decodeVisitRecord, type VisitRecord } from '../../core/state/visit.js';
import { ClearanceStatus, Declaration, Decision } from '../../proto/gen/portstream/v1/customs.js';
import {
  EmptyIndicator,
  EquipmentEventType,
  EventClassifier,
  TransportCallLocation,
  TransportEventType,
  type EquipmentEvent,
  type Event,
  type TransportEvent,
} from '../../proto/gen/portstream/v1/events.js';
import { EventGroup } from '../../proto/gen/portstream/v1/records.js';
import {
  ContainerLocation,
  CustomsStatus,
  VesselVisitStatus,
} from '../../proto/gen/portstream/v1/tracking.js';
import { applyContainerEvents, GATE_OUT_WITHOUT_RELEASE } from '../../processor/state/container.js';
import { startStateConsumer, STATE_CONSUMER } from '../../processor/state/consumer.js';
import { linkDeclaration } from '../../processor/state/customs.js';
import { visitContainers } from '../../processor/state/visit.js';
import { containerMove, containerNumber, FACILITY, VESSEL } from '../../test-kit/events.js';
import { startTestNats } from '../helpers/nats.js';
import type { TestNats } from '../helpers/nats.js';
import { waitFor } from '../../test-kit/poll.js';

const opts = { replicas: 1, eventsMaxAgeHours: 1, eventsMaxBytes: 1 << 28, duplicateWindowSeconds: 120 };
const T0 = Date.parse('2026-11-01T00:00:00Z');
const at = (min: number): Date => new Date(T0 + min * 60_000);
const YARD = { block: 'A1', bay: 12, row: 3, tier: 2 };
const vessel = (voyage: string) => ({ ...VESSEL, voyage });
const visitId = (voyage: string) =>
  `${FACILITY.unLocode}-${FACILITY.terminalCode}-${VESSEL.imoNumber}-${voyage}`;

function eqEvent(
  id: string,
  type: EquipmentEventType,
  container: string,
  min: number,
  over: Partial<EquipmentEvent> = {},
): Event {
  const bare = { vessel: undefined, yardPosition: undefined, ...over };
  return containerMove(id, type, container, at(min), EventClassifier.ACTUAL, bare);
}

function trEvent(
  id: string,
  type: TransportEventType,
  location: TransportCallLocation,
  min: number,
  voyage: string,
  over: Partial<TransportEvent> = {},
  classifier = EventClassifier.ACTUAL,
): Event {
  return {
    eventId: id,
    eventTime: at(min),
    classifier,
    facility: FACILITY,
    payload: {
      $case: 'transport',
      value: { type, vessel: vessel(voyage), location, berth: '', manifestContainerNumbers: [], ...over },
    },
  };
}

describe('container and vessel-visit state consumer', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let buckets: Buckets;

  const publish = async (events: Event[], kind: 'equipment' | 'transport' = 'equipment'): Promise<void> => {
    const group = EventGroup.encode({ receivedTime: new Date(), source: 'test', events }).finish();
    await js.publish(subjects.events(FACILITY.unLocode, FACILITY.terminalCode, kind), group);
  };
  const container = async (n: string): Promise<(ContainerRecord & { revision: number }) | undefined> => {
    const e = await buckets.containers.get(n);
    return e && e.operation === 'PUT'
      ? { ...decodeContainerRecord(e.value), revision: e.revision }
      : undefined;
  };
  const visit = async (id: string): Promise<VisitRecord | undefined> => {
    const e = await buckets.vesselVisits.get(id);
    return e && e.operation === 'PUT' ? decodeVisitRecord(e.value) : undefined;
  };
  const idle = async (): Promise<boolean> => {
    const i = await jsm.consumers.info(STREAM_EVENTS, STATE_CONSUMER);
    return i.num_pending === 0 && i.num_ack_pending === 0;
  };
  const start = (client: JetStreamClient = js, conn: NatsConnection = nc, bs: Buckets = buckets) =>
    startStateConsumer({ js: client, jsm, nc: conn, buckets: bs, logger: silentLogger() });

  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'test' });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, opts);
    buckets = await ensureBuckets(js, 1);
  });
  afterAll(async () => {
    await nc.close();
    await nats.cleanup();
  });

  it('applies moves, changes nothing for a duplicate event (same or another message) nor an older one', async () => {
    const c = await start();
    try {
      const a = containerNumber('MSC', 101);
      const b = containerNumber('MSC', 102);
      const slot = { ...YARD, block: 'B7' };
      const first = [
        eqEvent('a1', EquipmentEventType.DISC, a, 0, { yardPosition: YARD, vessel: vessel('1A') }),
        eqEvent('a2', EquipmentEventType.RMVD, a, 10, { yardPosition: slot }),
        eqEvent('b1', EquipmentEventType.GTIN, b, 0, { emptyIndicator: EmptyIndicator.EMPTY }),
      ];
      await publish(first);
      await waitFor(idle);
      const s1 = await container(a);
      expect(s1?.status).toMatchObject({
        location: ContainerLocation.IN_YARD,
        yardPosition: slot,
        vessel: vessel('1A'),
        dischargedTime: at(0),
        lastEventId: 'a2',
        lastEventType: EquipmentEventType.RMVD,
        customsStatus: CustomsStatus.NO_DECLARATION,
        released: false,
      });
      expect((await container(b))?.status.location).toBe(ContainerLocation.AT_GATE);

      // The same message again (a redelivery or re-send) and a known event in another message: no write at all.
      await publish(first);
      await publish([eqEvent('a2', EquipmentEventType.RMVD, a, 10, { yardPosition: slot })]);
      await waitFor(idle);
      expect((await container(a))?.revision).toBe(s1?.revision);

      await publish([
        eqEvent('a3', EquipmentEventType.GTOT, a, 60),
        eqEvent('b2', EquipmentEventType.LOAD, b, 30, { vessel: vessel('1B') }),
      ]);
      await waitFor(idle);
      // Older than the newest applied: recorded, not applied.
      await publish([eqEvent('a0', EquipmentEventType.RMVD, a, 20, { yardPosition: YARD })]);
      await waitFor(idle);
      const s2 = await container(a);
      expect(s2?.status).toMatchObject({
        location: ContainerLocation.LEFT_TERMINAL,
        yardPosition: undefined,
        lastEventId: 'a3',
        dwellSeconds: 3600,
      });
      // Remembered by their sourced ids (core/event-key.ts).
      expect(s2?.bookkeeping.recentEventIds).toEqual(['test/a1', 'test/a2', 'test/a3', 'test/a0']);
      expect((await container(b))?.status).toMatchObject({
        location: ContainerLocation.ON_VESSEL,
        vessel: vessel('1B'),
        dwellSeconds: 1800,
      });

      // The tracking API reads the same value as a ContainerStatus.
      const api = await KvTrackingStore.open(nc);
      expect((await api.container(a))?.status).toEqual(s2?.status);
    } finally {
      await c.stop();
    }
  });

  it('flags a gate-out of a discharged laden container without a cleared declaration, not with one', async () => {
    const cleared = containerNumber('MSC', 201);
    const held = containerNumber('MSC', 202);
    const none = containerNumber('MSC', 203);
    const putDeclaration = async (no: string, c: string, status: ClearanceStatus) => {
      const bytes = encodeDeclarationState({
        declaration: Declaration.fromPartial({ declarationNumber: no, containerNumbers: [c] }),
        revision: 1,
        appliedCommands: ['x'],
        decisions: [Decision.fromPartial({ declarationNumber: no, revision: 1, status })],
      });
      await buckets.declarations.put(no, bytes);
      // What the customs decider will call when it decides.
      return linkDeclaration(kvStore(buckets.containers), c, no, status, buckets.declarations);
    };
    // The declaration comes before the container is discharged.
    const linked = await putDeclaration('200000000001', cleared, ClearanceStatus.CLEARED);
    expect(linked).toMatchObject({ customsStatus: CustomsStatus.CLEARED, released: false });
    await putDeclaration('200000000002', held, ClearanceStatus.DOCUMENT_CHECK);

    const c = await start();
    try {
      await publish([
        eqEvent('r1', EquipmentEventType.DISC, cleared, 0, { yardPosition: YARD }),
        eqEvent('h1', EquipmentEventType.DISC, held, 0, { yardPosition: YARD }),
        eqEvent('n1', EquipmentEventType.DISC, none, 0, { yardPosition: YARD }),
      ]);
      await waitFor(idle);
      expect((await container(cleared))?.status).toMatchObject({
        released: true,
        releaseBlocker: '',
        declarationNumbers: ['200000000001'],
      });
      expect((await container(held))?.status).toMatchObject({
        released: false,
        releaseBlocker: 'customs status DOCUMENT_CHECK',
      });
      await publish([
        eqEvent('r2', EquipmentEventType.GTOT, cleared, 30),
        eqEvent('h2', EquipmentEventType.GTOT, held, 30),
        eqEvent('n2', EquipmentEventType.GTOT, none, 30),
      ]);
      await waitFor(idle);
      const r = await container(cleared);
      expect(r?.status.location).toBe(ContainerLocation.LEFT_TERMINAL);
      expect(r?.status.flags).toEqual([]);
      const h = await container(held);
      expect(h?.status.location).toBe(ContainerLocation.LEFT_TERMINAL);
      expect(h?.status.flags).toEqual([
        {
          code: GATE_OUT_WITHOUT_RELEASE,
          reason: 'declaration 200000000002 DOCUMENT_CHECK not cleared',
          eventId: 'h2',
          time: at(30),
        },
      ]);
      const n = await container(none);
      expect(n?.status.location).toBe(ContainerLocation.LEFT_TERMINAL);
      expect(n?.status.flags.map((f) => [f.code, f.reason])).toEqual([
        [GATE_OUT_WITHOUT_RELEASE, 'no customs declaration for a laden import'],
      ]);
    } finally {
      await c.stop();
    }
  });

  it('links declarations: most blocking status wins, released once discharged and all cleared, cancel unlinks', async () => {
    const n = containerNumber('MSC', 251);
    const state = (no: string, status: ClearanceStatus) =>
      encodeDeclarationState({
        declaration: Declaration.fromPartial({ declarationNumber: no, containerNumbers: [n] }),
        revision: 1,
        appliedCommands: [],
        decisions: [Decision.fromPartial({ declarationNumber: no, revision: 1, status })],
      });
    const link = async (no: string, status: ClearanceStatus) => {
      await buckets.declarations.put(no, state(no, status));
      return linkDeclaration(kvStore(buckets.containers), n, no, status, buckets.declarations);
    };
    await link('250000000001', ClearanceStatus.CLEARED);
    expect(await link('250000000002', ClearanceStatus.PHYSICAL_INSPECTION)).toMatchObject({
      customsStatus: CustomsStatus.PHYSICAL_INSPECTION,
      declarationNumbers: ['250000000001', '250000000002'],
      released: false,
      releaseBlocker: 'not discharged from a vessel',
    });
    const c = await start();
    try {
      await publish([eqEvent('k1', EquipmentEventType.DISC, n, 0, { yardPosition: YARD })]);
      await waitFor(idle);
      expect((await container(n))?.status.releaseBlocker).toBe('customs status PHYSICAL_INSPECTION');
      expect(await link('250000000002', ClearanceStatus.CLEARED)).toMatchObject({
        customsStatus: CustomsStatus.CLEARED,
        released: true,
      });
      expect(await link('250000000001', ClearanceStatus.CANCELLED)).toMatchObject({
        customsStatus: CustomsStatus.CLEARED,
        declarationNumbers: ['250000000002'],
        released: true,
      });
      // The location the consumer wrote is kept by the customs writes.
      expect((await container(n))?.status.location).toBe(ContainerLocation.IN_YARD);
      // The consumer remembers the record as it wrote it, which the links have moved on since: its next write
      // from memory is refused, and it reads the linked record and applies the move there, losing neither.
      const slot = { ...YARD, block: 'C3' };
      await publish([eqEvent('k2', EquipmentEventType.RMVD, n, 10, { yardPosition: slot })]);
      await waitFor(idle);
      expect((await container(n))?.status).toMatchObject({
        customsStatus: CustomsStatus.CLEARED,
        declarationNumbers: ['250000000002'],
        location: ContainerLocation.IN_YARD,
        yardPosition: slot,
        lastEventId: 'k2',
      });
    } finally {
      await c.stop();
    }
  });

  it('follows a vessel visit and counts repeated discharges once', async () => {
    const v = '3V';
    const id = visitId(v);
    const cs = [1, 2, 3].map((i) => containerNumber('OOL', 300 + i));
    const c = await start();
    try {
      await publish(
        [
          trEvent(
            'v1',
            TransportEventType.ARRI,
            TransportCallLocation.PORT,
            0,
            v,
            {},
            EventClassifier.ESTIMATED,
          ),
          trEvent(
            'v2',
            TransportEventType.DEPA,
            TransportCallLocation.PORT,
            900,
            v,
            {},
            EventClassifier.PLANNED,
          ),
        ],
        'transport',
      );
      await waitFor(async () => (await visit(id))?.visit.status === VesselVisitStatus.EXPECTED);
      await publish(
        [
          trEvent('v3', TransportEventType.ARRI, TransportCallLocation.PORT, 5, v, {
            manifestContainerNumbers: cs.slice(0, 2),
          }),
          trEvent('v4', TransportEventType.ARRI, TransportCallLocation.BERTH, 60, v, { berth: 'LH2' }),
        ],
        'transport',
      );
      const disc = (eid: string, n: string) =>
        eqEvent(eid, EquipmentEventType.DISC, n, 70, { vessel: vessel(v), yardPosition: YARD });
      await publish(cs.map((n, i) => disc(`d${i}`, n)));
      // The same containers discharged again under other event ids, and the same message again.
      await publish(cs.map((n, i) => disc(`d${i}-again`, n)));
      await publish(cs.map((n, i) => disc(`d${i}`, n)));
      await publish([
        eqEvent('l1', EquipmentEventType.LOAD, containerNumber('OOL', 399), 80, { vessel: vessel(v) }),
      ]);
      await publish(
        [
          trEvent('v5', TransportEventType.DEPA, TransportCallLocation.BERTH, 100, v),
          trEvent('v6', TransportEventType.DEPA, TransportCallLocation.PORT, 120, v),
        ],
        'transport',
      );
      await waitFor(idle);
      // A late berthing report does not move the visit back.
      await publish(
        [trEvent('v7', TransportEventType.ARRI, TransportCallLocation.BERTH, 61, v)],
        'transport',
      );
      await waitFor(idle);
      const r = await visit(id);
      expect(r?.visit).toMatchObject({
        visitId: id,
        vessel: vessel(v),
        facility: FACILITY,
        status: VesselVisitStatus.DEPARTED,
        berth: 'LH2',
        eta: at(0),
        etd: at(900),
        ata: at(5),
        berthedTime: at(61),
        atd: at(120),
        manifestCount: 2,
        dischargedCount: 3,
        loadedCount: 1,
      });
      expect(await visitContainers(buckets.vesselVisits, id)).toEqual(
        new Set([...cs, containerNumber('OOL', 399)]),
      );
      expect(await visitContainers(buckets.vesselVisits, visitId('NOPE'))).toBeUndefined();
    } finally {
      await c.stop();
    }
  });

  it('applies 5,000 events with new seals to one container and keeps its record small', async () => {
    const c = await start();
    try {
      const n = containerNumber('MSC', 451);
      const deadBefore = (await jsm.streams.info(STREAM_DEADLETTERS)).state.messages;
      const seal = (i: number) => ({ number: `SEAL-${String(i).padStart(30, '0')}`, source: 1 });
      await publish([
        eqEvent('s-in', EquipmentEventType.DISC, n, 0, { yardPosition: YARD, seals: [seal(0)] }),
      ]);
      // 5,000 inspections, each with a seal not seen before, 5 to a message; publishes on one connection keep
      // their order in the stream.
      const total = 5000;
      const messages = Array.from({ length: total / 5 }, (_, m) =>
        Array.from({ length: 5 }, (_, k) => {
          const i = m * 5 + k + 1;
          return eqEvent(`s-${i}`, EquipmentEventType.INSP, n, 1 + i / 100, { seals: [seal(i)] });
        }),
      );
      for (let m = 0; m < messages.length; m += 100) {
        await Promise.all(messages.slice(m, m + 100).map((events) => publish(events)));
      }
      await waitFor(idle, { timeoutMs: 60_000, what: 'every inspection applied' });
      const got = await container(n);
      expect(got?.status.lastEventId).toBe(`s-${total}`);
      expect(got?.status.seals).toEqual(
        Array.from({ length: CONTAINER_MAX_SEALS }, (_, k) => seal(total - CONTAINER_MAX_SEALS + 1 + k)),
      );
      expect(got?.bookkeeping.recentEventIds).toHaveLength(CONTAINER_RECENT_EVENT_IDS);
      expect(got?.bookkeeping.recentEventIds.at(-1)).toBe(`test/s-${total}`);
      const stored = await buckets.containers.get(n);
      expect(stored?.value.length).toBeLessThan(4096);
      expect((await jsm.streams.info(STREAM_DEADLETTERS)).state.messages).toBe(deadBefore);

      // Gone and back: the new stay starts with the seal its gate-in brings, nothing from before.
      await publish([eqEvent('s-out', EquipmentEventType.GTOT, n, 100)]);
      await publish([eqEvent('s-back', EquipmentEventType.GTIN, n, 200, { seals: [seal(-1)] })]);
      await waitFor(async () => (await container(n))?.status.lastEventId === 's-back');
      expect((await container(n))?.status.seals).toEqual([seal(-1)]);
    } finally {
      await c.stop();
    }
  }, 90_000);

  it('dead-letters an undecodable message and carries on', async () => {
    const c = await start();
    try {
      const before = (await jsm.streams.info(STREAM_DEADLETTERS)).state.messages;
      await js.publish(subjects.events('VNHPH', 'HICT', 'equipment'), new Uint8Array([0xff, 0xff, 0xff]));
      const n = containerNumber('MSC', 401);
      await publish([eqEvent('z1', EquipmentEventType.DISC, n, 0)]);
      await waitFor(idle);
      expect((await jsm.streams.info(STREAM_DEADLETTERS)).state.messages).toBe(before + 1);
      const dl = await jsm.streams.getMessage(STREAM_DEADLETTERS, {
        last_by_subj: subjects.deadLetter(STREAM_EVENTS),
      });
      expect((dl?.json() as { reason: string; consumer: string }).reason).toContain('undecodable');
      expect((await container(n))?.status.location).toBe(ContainerLocation.IN_YARD);
    } finally {
      await c.stop();
    }
  });

  /** 20 containers, 4 moves each, in messages of 2 containers, half published out of order, all twice. */
  const workload = (serialBase: number, voyage: string) => {
    const numbers = Array.from({ length: 20 }, (_, i) => containerNumber('TGH', serialBase + i));
    const steps = (n: string, i: number): Event[] => [
      eqEvent(`${n}-0`, EquipmentEventType.DISC, n, i, { yardPosition: YARD, vessel: vessel(voyage) }),
      eqEvent(`${n}-1`, EquipmentEventType.RMVD, n, 100 + i, { yardPosition: { ...YARD, bay: i } }),
      eqEvent(`${n}-2`, EquipmentEventType.RMVD, n, 200 + i, { yardPosition: { ...YARD, row: i } }),
      eqEvent(`${n}-3`, EquipmentEventType.LOAD, n, 300 + i, { vessel: vessel(`${voyage}X`) }),
    ];
    const messages: Event[][] = [];
    for (let j = 0; j < 10; j++) {
      const order = j % 2 === 0 ? [0, 1, 2, 3] : [3, 0, 2, 1];
      for (const k of order) {
        const pair = [numbers[2 * j] ?? '', numbers[2 * j + 1] ?? ''];
        messages.push(pair.flatMap((n) => steps(n, 2 * j + (n === pair[1] ? 1 : 0))[k] ?? []));
      }
    }
    const expected = new Map(
      numbers.map((n, i) => [
        n,
        applyContainerEvents(undefined, n, steps(n, i), { now: new Date() })?.status,
      ]),
    );
    return { numbers, messages, expected };
  };

  it('two consumers at once on the same stream reach the same state as one applying everything in order', async () => {
    const { numbers, messages, expected } = workload(500, '5T');
    const nc1 = await connectNats({ url: nats.url, name: 'second' });
    const js1 = jetstream(nc1);
    const one = await start();
    const two = await start(js1, nc1, await ensureBuckets(js1, 1));
    try {
      await Promise.all([...messages, ...messages].map((m) => publish(m)));
      await waitFor(idle);
      for (const n of numbers) {
        const got = await container(n);
        expect(got?.status).toEqual(expected.get(n));
        expect(new Set(got?.bookkeeping.recentEventIds)).toEqual(
          new Set([0, 1, 2, 3].map((k) => `test/${n}-${k}`)),
        );
      }
      const disc = await visit(visitId('5T'));
      expect(disc?.visit.dischargedCount).toBe(20);
      expect((await visit(visitId('5TX')))?.visit.loadedCount).toBe(20);
    } finally {
      await Promise.all([one.stop(), two.stop()]);
      await nc1.close();
    }
  });

  it('a consumer stopped mid-stream and restarted loses nothing', async () => {
    // 100 containers, 4 moves each, one event per message: 400 messages, more than one pull holds.
    const numbers = Array.from({ length: 100 }, (_, i) => containerNumber('SEG', 600 + i));
    const step = (n: string, k: number): Event =>
      k === 0
        ? eqEvent(`${n}-0`, EquipmentEventType.DISC, n, 0, { yardPosition: YARD, vessel: vessel('6R') })
        : k === 3
          ? eqEvent(`${n}-3`, EquipmentEventType.LOAD, n, 30, { vessel: vessel('6RX') })
          : eqEvent(`${n}-${k}`, EquipmentEventType.RMVD, n, k * 10, { yardPosition: { ...YARD, bay: k } });
    const expected = new Map(
      numbers.map((n) => [
        n,
        applyContainerEvents(
          undefined,
          n,
          [0, 1, 2, 3].map((k) => step(n, k)),
          { now: new Date() },
        )?.status,
      ]),
    );
    for (let k = 0; k < 4; k++) await Promise.all(numbers.map((n) => publish([step(n, k)])));
    const startSeq = (await jsm.consumers.info(STREAM_EVENTS, STATE_CONSUMER)).ack_floor.stream_seq;
    const first = await startStateConsumer({
      js,
      jsm,
      nc,
      buckets,
      logger: silentLogger(),
      maxBatchMessages: 2,
    });
    await waitFor(
      async () => (await jsm.consumers.info(STREAM_EVENTS, STATE_CONSUMER)).ack_floor.stream_seq > startSeq,
    );
    await first.stop();
    // Stopped with work left in the stream. Messages a pull had already delivered when it stopped stay
    // ack-pending until ack_wait (30 s) and are redelivered then: allow for that.
    const mid = await jsm.consumers.info(STREAM_EVENTS, STATE_CONSUMER);
    expect(mid.num_pending + mid.num_ack_pending).toBeGreaterThan(0);
    const second = await start();
    try {
      await waitFor(idle, { timeoutMs: 45_000, what: 'every message processed after the restart' });
      for (const n of numbers) expect((await container(n))?.status).toEqual(expected.get(n));
      expect((await visit(visitId('6R')))?.visit.dischargedCount).toBe(100);
      expect((await visit(visitId('6RX')))?.visit.loadedCount).toBe(100);
    } finally {
      await second.stop();
    }
  }, 60_000);
});
