// Operators act on their own terminal. The operator of HICT plays an attacker against TVCT through the public
// gRPC API, with the real gateway, processor, sink and tracking API: it tries to move a container in TVCT's
// yard (discharge, restow, gate-out, load), to re-stuff one, and to rewrite TVCT's vessel call. Each move is
// REJECTED at `facility`, the call events change only HICT's own call, and TVCT's view (status, history, visit)
// is the same before and after. The processor holds the rule too (for a gateway check that raced), and an
// operator's history shows only what happened at its own terminals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EmptyIndicator,
  EquipmentEventType as E,
  EventClassifier,
  SealSource,
  TransportCallLocation,
  TransportEventType,
  type Event,
} from '../../proto/gen/portstream/v1/events.js';
import { EventStatus } from '../../proto/gen/portstream/v1/ingest.js';
import { ContainerLocation, VesselVisitStatus } from '../../proto/gen/portstream/v1/tracking.js';
import { status as grpcStatus } from '@grpc/grpc-js';
import { containerNumber, equipmentEvent, VESSEL } from '../../test-kit/events.js';
import { startTerminals, type TerminalsFixture } from './terminal-fixture.js';

const HICT = { unLocode: 'VNHPH', terminalCode: 'HICT' };
const TVCT = { unLocode: 'VNHPH', terminalCode: 'TVCT' };
const TVCT_CALL = `VNHPH-TVCT-${VESSEL.imoNumber}-${VESSEL.voyage}`;
const HICT_CALL = `VNHPH-HICT-${VESSEL.imoNumber}-${VESSEL.voyage}`;
const T0 = Date.now() - 60 * 60_000;
const at = (min: number): Date => new Date(T0 + min * 60_000);

/** Discharged at TVCT from TVCT's call. */
const C = containerNumber('MSC', 720_001);
/** Gated in empty at TVCT. */
const G = containerNumber('MSC', 720_002);
/** Gated in at TVCT, then loaded there (on the vessel). */
const L = containerNumber('MSC', 720_003);
/** In TVCT's yard; admin (not checked at the gateway) sends a move at HICT: the processor refuses it. */
const R = containerNumber('MSC', 720_004);
/** Gated in and out at TVCT, then gated in at HICT. */
const M = containerNumber('MSC', 720_005);
const serial = (n: string): number => Number(n.slice(4, 10));

function eq(id: string, n: string, type: E, facility: typeof HICT, min: number, extra = {}): Event {
  const base = equipmentEvent(id, serial(n), { facility, eventTime: at(min) });
  if (base.payload?.$case !== 'equipment') throw new Error('not an equipment event');
  return { ...base, payload: { $case: 'equipment', value: { ...base.payload.value, type, ...extra } } };
}

function call(
  id: string,
  type: TransportEventType,
  location: TransportCallLocation,
  facility: typeof HICT,
  min: number,
  manifest: string[] = [],
): Event {
  return {
    eventId: id,
    eventTime: at(min),
    classifier: EventClassifier.ACTUAL,
    facility,
    payload: {
      $case: 'transport',
      value: { type, vessel: VESSEL, location, berth: 'B1', manifestContainerNumbers: manifest },
    },
  };
}

const YARD = { yardPosition: { block: 'Z9', bay: 1, row: 1, tier: 1 } };
const NO_YARD = { yardPosition: undefined };

describe('operator T1 (HICT) against operator T2 (TVCT)', () => {
  let p: TerminalsFixture;
  /** What TVCT's operator sees of its containers and its call. */
  const victimView = async () => ({
    c: await p.status('otherOperator', C),
    cHistory: await p.history('otherOperator', C),
    g: await p.status('otherOperator', G),
    gHistory: await p.history('otherOperator', G),
    visit: await p.visit('otherOperator', TVCT_CALL),
  });

  beforeAll(async () => {
    p = await startTerminals();
    const tvct = await p.send('otherOperator', [
      call('T2-ARRI', TransportEventType.ARRI, TransportCallLocation.BERTH, TVCT, 0, [C]),
      eq('T2-DISC-C', C, E.DISC, TVCT, 5),
      eq('T2-GTIN-G', G, E.GTIN, TVCT, 6, { ...YARD, emptyIndicator: EmptyIndicator.EMPTY }),
      eq('T2-GTIN-L', L, E.GTIN, TVCT, 7, YARD),
      eq('T2-LOAD-L', L, E.LOAD, TVCT, 8, NO_YARD),
      eq('T2-DISC-R', R, E.DISC, TVCT, 9),
      eq('T2-GTIN-M', M, E.GTIN, TVCT, 10, YARD),
      eq('T2-GTOT-M', M, E.GTOT, TVCT, 11, NO_YARD),
    ]);
    expect(tvct.every((r) => r.status === EventStatus.ACCEPTED)).toBe(true);
    await p.settle();
  }, 60_000);

  afterAll(async () => {
    await p.close();
  });

  it('cannot move, re-stuff or take over a container in another terminal, nor rewrite its vessel call', async () => {
    const before = await victimView();
    expect(before.c).toMatchObject({ location: ContainerLocation.IN_YARD, facility: TVCT });
    expect(before.visit).toMatchObject({ status: VesselVisitStatus.BERTHED, facility: TVCT });

    const attacks = [
      eq('T1-DISC-C', C, E.DISC, HICT, 20),
      eq('T1-RMVD-C', C, E.RMVD, HICT, 21),
      eq('T1-GTOT-C', C, E.GTOT, HICT, 22, NO_YARD),
      eq('T1-LOAD-C', C, E.LOAD, HICT, 23, NO_YARD),
      eq('T1-STUF-G', G, E.STUF, HICT, 24, { seals: [{ number: 'EVIL1', source: SealSource.CARRIER }] }),
      { ...eq('T1-PLAN-G', G, E.GTOT, HICT, 25, NO_YARD), classifier: EventClassifier.PLANNED },
    ];
    const res = await p.send('operator', attacks);
    expect(res.map((r) => [r.eventId, r.status, r.field])).toEqual(
      attacks.map((a) => [a.eventId, EventStatus.REJECTED, 'facility']),
    );
    expect(res[0]?.reason).toBe(
      `container ${C} is at VNHPH:TVCT; an event at VNHPH:HICT needs it to leave TVCT first (gate-out or load)`,
    );

    // The same vessel's call at HICT: HICT's own call, which TVCT's call never sees.
    const calls = await p.send('operator', [
      call('T1-ARRI', TransportEventType.ARRI, TransportCallLocation.BERTH, HICT, 26, [G]),
      call('T1-UNBERTH', TransportEventType.DEPA, TransportCallLocation.BERTH, HICT, 27),
      call('T1-DEPA', TransportEventType.DEPA, TransportCallLocation.PORT, HICT, 28),
    ]);
    expect(calls.map((r) => r.status)).toEqual([
      EventStatus.ACCEPTED,
      EventStatus.ACCEPTED,
      EventStatus.ACCEPTED,
    ]);
    await p.settle();

    expect(await p.visit('operator', HICT_CALL)).toMatchObject({
      visitId: HICT_CALL,
      facility: HICT,
      status: VesselVisitStatus.DEPARTED,
      manifestCount: 1,
    });
    expect(await victimView()).toEqual(before);
  });

  it('answers each event of a mixed batch on its own: its own containers pass, others are refused', async () => {
    const res = await p.send('operator', [
      eq('T1-DISC-L', L, E.DISC, HICT, 30), // on the vessel: discharge at any terminal the vessel calls
      eq('T1-RMVD-C2', C, E.RMVD, HICT, 31),
      eq('T1-GTIN-NEW', containerNumber('MSC', 720_099), E.GTIN, HICT, 32, YARD), // unknown container
      eq('T1-GTIN-M', M, E.GTIN, HICT, 33, YARD), // left TVCT
    ]);
    expect(res.map((r) => r.status)).toEqual([
      EventStatus.ACCEPTED,
      EventStatus.REJECTED,
      EventStatus.ACCEPTED,
      EventStatus.ACCEPTED,
    ]);
    await p.settle();
    expect(await p.status('operator', L)).toMatchObject({
      location: ContainerLocation.IN_YARD,
      facility: HICT,
    });
    expect(await p.status('operator', M)).toMatchObject({
      location: ContainerLocation.IN_YARD,
      facility: HICT,
    });
    expect(await p.status('otherOperator', C)).toMatchObject({ facility: TVCT });
  });

  it('the processor holds the rule too: an event that passed the gateway changes nothing but a flag', async () => {
    const before = await p.record(R);
    // Admin is not checked at the gateway (it may act on every terminal): the processor is what refuses it.
    const res = await p.send('admin', [eq('ADM-GTOT-R', R, E.GTOT, HICT, 40, NO_YARD)]);
    expect(res.map((r) => r.status)).toEqual([EventStatus.ACCEPTED]);
    await p.settle();
    const after = await p.record(R);
    // Everything as it was (the dwell time is recomputed on every write), plus the flag.
    expect({ ...after?.status, dwellSeconds: 0 }).toEqual({
      ...before?.status,
      dwellSeconds: 0,
      flags: [
        {
          code: 'EVENT_FROM_OTHER_TERMINAL',
          reason: 'GTOT at VNHPH:HICT while the container is at VNHPH:TVCT',
          eventId: 'ADM-GTOT-R',
          time: at(40),
        },
      ],
    });
  });

  it("an operator's history shows what happened at its own terminals, page by page", async () => {
    await p.settle();
    const ids = (h: Event[] | number): string[] | number =>
      typeof h === 'number' ? h : h.map((e) => e.eventId);
    // M gated in and out at TVCT, then in at HICT (and HICT now holds it).
    expect(ids(await p.history('admin', M, 1))).toEqual(['T2-GTIN-M', 'T2-GTOT-M', 'T1-GTIN-M']);
    expect(ids(await p.history('operator', M, 1))).toEqual(['T1-GTIN-M']);
    expect(ids(await p.history('operator', M))).toEqual(['T1-GTIN-M']);
    // TVCT's operator no longer sees M at all (it is at HICT now).
    expect(await p.history('otherOperator', M)).toBe(grpcStatus.NOT_FOUND);
    // L: loaded at TVCT, discharged at HICT.
    expect(ids(await p.history('operator', L, 1))).toEqual(['T1-DISC-L']);
  });
});
