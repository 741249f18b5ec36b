import { describe, expect, it } from 'vitest';
import {
  CONTAINER_MAX_SEALS,
  CONTAINER_RECENT_EVENT_IDS,
  decodeContainerRecord,
  encodeContainerRecord,
  type ContainerRecord,
} from '../../core/state/container.js';
import { decodeVisitRecord, encodeVisitRecord, visitIdOf } from '../../core/state/visit.js';
import { ClearanceStatus } from '../../proto/gen/portstream/v1/customs.js';
import {
  EmptyIndicator,
  EquipmentEventType,
  EventClassifier,
  TransportCallLocation,
  TransportEventType,
  type EquipmentEvent,
  type Event,
  type Seal,
  type TransportEvent,
} from '../../proto/gen/portstream/v1/events.js';
import {
  ContainerLocation,
  ContainerStatus,
  CustomsStatus,
  VesselVisit,
  VesselVisitStatus,
} from '../../proto/gen/portstream/v1/tracking.js';
import {
  applyContainerEvents,
  EVENT_FROM_OTHER_TERMINAL,
  GATE_OUT_WITHOUT_RELEASE,
} from '../../processor/state/container.js';
import { aggregateCustoms } from '../../core/state/release.js';
import { applyVisitEvents } from '../../processor/state/visit.js';
import { containerMove, containerNumber, FACILITY, VESSEL } from '../../test-kit/events.js';

const T0 = Date.parse('2026-11-01T00:00:00Z');
const at = (min: number): Date => new Date(T0 + min * 60_000);
const NOW = at(1000);
const C = containerNumber('MSC', 1);
const YARD = { block: 'A1', bay: 12, row: 3, tier: 2 };
const VISIT = `${FACILITY.unLocode}-${FACILITY.terminalCode}-${VESSEL.imoNumber}-${VESSEL.voyage}`;

function eqEvent(
  id: string,
  type: EquipmentEventType,
  min: number,
  over: Partial<EquipmentEvent> = {},
  classifier = EventClassifier.ACTUAL,
): Event {
  return containerMove(id, type, C, at(min), classifier, {
    vessel: undefined,
    yardPosition: undefined,
    ...over,
  });
}

function trEvent(
  id: string,
  type: TransportEventType,
  location: TransportCallLocation,
  min: number,
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
      value: { type, vessel: VESSEL, location, berth: '', manifestContainerNumbers: [], ...over },
    },
  };
}

const apply = (prev: ContainerRecord | undefined, events: Event[], statuses?: Map<string, ClearanceStatus>) =>
  applyContainerEvents(prev, C, events, { now: NOW, ...(statuses ? { declarationStatuses: statuses } : {}) });

describe('container state', () => {
  it('moves through discharge, yard move, gate-out and back in for export and load', () => {
    const disc = apply(undefined, [
      eqEvent('e1', EquipmentEventType.DISC, 0, { vessel: VESSEL, yardPosition: YARD }),
    ]);
    expect(disc?.status).toMatchObject({
      location: ContainerLocation.IN_YARD,
      yardPosition: YARD,
      vessel: VESSEL,
      facility: FACILITY,
      dischargedTime: at(0),
      lastEventType: EquipmentEventType.DISC,
      lastEventId: 'e1',
      released: false,
      releaseBlocker: 'no customs declaration for a laden import',
      dwellSeconds: 1000 * 60,
    });
    const slot = { ...YARD, block: 'B2' };
    const moved = apply(disc, [eqEvent('e2', EquipmentEventType.RMVD, 10, { yardPosition: slot })]);
    expect(moved?.status.yardPosition).toEqual(slot);
    const out = apply(moved, [eqEvent('e3', EquipmentEventType.GTOT, 60)]);
    expect(out?.status.location).toBe(ContainerLocation.LEFT_TERMINAL);
    expect(out?.status.yardPosition).toBeUndefined();
    expect(out?.status.dwellSeconds).toBe(3600);
    const gate = apply(out, [
      eqEvent('e4', EquipmentEventType.GTIN, 100, { emptyIndicator: EmptyIndicator.EMPTY }),
    ]);
    expect(gate?.status).toMatchObject({
      location: ContainerLocation.AT_GATE,
      emptyIndicator: EmptyIndicator.EMPTY,
      dischargedTime: undefined,
    });
    const yard = apply(gate, [eqEvent('e5', EquipmentEventType.GTIN, 101, { yardPosition: YARD })]);
    expect(yard?.status.location).toBe(ContainerLocation.IN_YARD);
    const load = apply(yard, [eqEvent('e6', EquipmentEventType.LOAD, 130, { vessel: VESSEL })]);
    expect(load?.status).toMatchObject({ location: ContainerLocation.ON_VESSEL, dwellSeconds: 30 * 60 });
    const picked = apply(load, [eqEvent('e7', EquipmentEventType.PICK, 131)]);
    expect(picked?.status.location).toBe(ContainerLocation.LEFT_TERMINAL);
  });

  it('replaces seals on RSEA and adds them otherwise; STRP empties', () => {
    const s1 = { number: 'S1', source: 1 };
    const s2 = { number: 'S2', source: 3 };
    const a = apply(undefined, [
      eqEvent('e1', EquipmentEventType.DISC, 0, { seals: [s1] }),
      eqEvent('e2', EquipmentEventType.INSP, 1, { seals: [s2] }),
    ]);
    expect(a?.status.seals).toEqual([s1, s2]);
    const b = apply(a, [eqEvent('e3', EquipmentEventType.RSEA, 2, { seals: [s2] })]);
    expect(b?.status.seals).toEqual([s2]);
    const c = apply(b, [
      eqEvent('e4', EquipmentEventType.STRP, 3, { emptyIndicator: EmptyIndicator.UNSPECIFIED }),
    ]);
    expect(c?.status.emptyIndicator).toBe(EmptyIndicator.EMPTY);
  });

  it('keeps at most CONTAINER_MAX_SEALS seals, the newest, whatever the events bring', () => {
    const seal = (i: number): Seal => ({ number: `N${i}`, source: 1 });
    let rec = apply(undefined, [eqEvent('in', EquipmentEventType.DISC, 0, { seals: [seal(0)] })]);
    for (let i = 1; i <= 3000; i++) {
      rec = apply(rec, [eqEvent(`insp-${i}`, EquipmentEventType.INSP, 1 + i / 100, { seals: [seal(i)] })]);
    }
    const newest = Array.from({ length: CONTAINER_MAX_SEALS }, (_, k) =>
      seal(3000 - CONTAINER_MAX_SEALS + 1 + k),
    );
    expect(rec?.status.seals).toEqual(newest);
    expect(rec?.status.lastEventId).toBe('insp-3000');
    expect(rec?.bookkeeping.recentEventIds).toHaveLength(CONTAINER_RECENT_EVENT_IDS);
    expect(rec?.bookkeeping.recentEventIds.at(-1)).toBe('insp-3000');
    // The whole stored value (status and bookkeeping) stays small.
    expect(encodeContainerRecord(rec as ContainerRecord).length).toBeLessThan(4096);
    // A seal seen again becomes the newest (and keeps its number once); a reseal replaces the set.
    const again = apply(rec, [
      eqEvent('again', EquipmentEventType.INSP, 100, { seals: [newest[0] as Seal] }),
    ]);
    expect(again?.status.seals).toEqual([...newest.slice(1), newest[0]]);
    const resealed = apply(again, [eqEvent('rsea', EquipmentEventType.RSEA, 101, { seals: [seal(9)] })]);
    expect(resealed?.status.seals).toEqual([seal(9)]);
  });

  it('starts each stay with the seals of the event that brings the container in', () => {
    const s = (n: string): Seal => ({ number: n, source: 1 });
    const first = apply(undefined, [
      eqEvent('d1', EquipmentEventType.DISC, 0, { seals: [s('A')] }),
      eqEvent('i1', EquipmentEventType.INSP, 1, { seals: [s('B')] }),
    ]);
    expect(first?.status.seals).toEqual([s('A'), s('B')]);
    const gone = apply(first, [eqEvent('o1', EquipmentEventType.GTOT, 2)]);
    expect(gone?.status.seals).toEqual([s('A'), s('B')]);
    // Back for export with a new seal: the import's seals are not carried into the new stay.
    const back = apply(gone, [eqEvent('g2', EquipmentEventType.GTIN, 50, { seals: [s('C')] })]);
    expect(back?.status.seals).toEqual([s('C')]);
    // Moves within the stay add theirs; an entry event that starts no stay (already in) adds too.
    const moved = apply(back, [eqEvent('r2', EquipmentEventType.DROP, 51, { seals: [s('D')] })]);
    expect(moved?.status.seals).toEqual([s('C'), s('D')]);
    // Loaded and discharged again with no seals: the new stay has none.
    const loaded = apply(moved, [eqEvent('l2', EquipmentEventType.LOAD, 60)]);
    const next = apply(loaded, [eqEvent('d3', EquipmentEventType.DISC, 90)]);
    expect(next?.status.seals).toEqual([]);
  });

  it('ignores known event ids and does not move back for an older event', () => {
    const a = apply(undefined, [
      eqEvent('e1', EquipmentEventType.DISC, 0, { yardPosition: YARD }),
      eqEvent('e2', EquipmentEventType.GTOT, 30),
    ]);
    expect(apply(a, [eqEvent('e1', EquipmentEventType.DISC, 0, { yardPosition: YARD })])).toBeUndefined();
    const late = apply(a, [eqEvent('e0', EquipmentEventType.RMVD, 10, { yardPosition: YARD })]);
    expect(late?.status.location).toBe(ContainerLocation.LEFT_TERMINAL);
    expect(late?.status.lastEventId).toBe('e2');
    expect(late?.bookkeeping.recentEventIds).toEqual(['e1', 'e2', 'e0']);
    // Same result whatever the order inside a message.
    const reversed = apply(undefined, [
      eqEvent('e2', EquipmentEventType.GTOT, 30),
      eqEvent('e1', EquipmentEventType.DISC, 0, { yardPosition: YARD }),
    ]);
    expect(reversed?.status).toEqual(a?.status);
  });

  it('keeps only the last 64 event ids', () => {
    let r: ContainerRecord | undefined;
    for (let i = 0; i < 100; i++) r = apply(r, [eqEvent(`e${i}`, EquipmentEventType.INSP, i)]) ?? r;
    expect(r?.bookkeeping.recentEventIds).toHaveLength(64);
    expect(r?.bookkeeping.recentEventIds[0]).toBe('e36');
  });

  it('flags a gate-out of a discharged laden container without a cleared declaration, and still applies it', () => {
    const disc = apply(undefined, [eqEvent('d', EquipmentEventType.DISC, 0)]);
    const noDecl = apply(disc, [eqEvent('g', EquipmentEventType.GTOT, 5)]);
    expect(noDecl?.status.location).toBe(ContainerLocation.LEFT_TERMINAL);
    expect(noDecl?.status.flags).toEqual([
      {
        code: GATE_OUT_WITHOUT_RELEASE,
        reason: expect.stringContaining('no customs') as string,
        eventId: 'g',
        time: at(5),
      },
    ]);
    const listed = structuredClone(disc);
    if (!listed) throw new Error('no state');
    listed.status.declarationNumbers = ['D1', 'D2'];
    const held = apply(
      listed,
      [eqEvent('g', EquipmentEventType.GTOT, 5)],
      new Map([
        ['D1', ClearanceStatus.CLEARED],
        ['D2', ClearanceStatus.DOCUMENT_CHECK],
      ]),
    );
    expect(held?.status.flags[0]?.reason).toContain('D2 DOCUMENT_CHECK');
    expect(held?.status.customsStatus).toBe(CustomsStatus.DOCUMENT_CHECK);
    const cleared = apply(
      listed,
      [eqEvent('g', EquipmentEventType.GTOT, 5)],
      new Map([
        ['D1', ClearanceStatus.CLEARED],
        ['D2', ClearanceStatus.CLEARED],
      ]),
    );
    expect(cleared?.status.flags).toEqual([]);
    expect(cleared?.status.customsStatus).toBe(CustomsStatus.CLEARED);
    // An empty container with no declaration, and an export that was never discharged, are not flagged.
    const empty = apply(undefined, [
      eqEvent('d', EquipmentEventType.DISC, 0, { emptyIndicator: EmptyIndicator.EMPTY }),
      eqEvent('g', EquipmentEventType.GTOT, 5, { emptyIndicator: EmptyIndicator.EMPTY }),
    ]);
    expect(empty?.status.flags).toEqual([]);
    const exp = apply(undefined, [
      eqEvent('i', EquipmentEventType.GTIN, 0),
      eqEvent('o', EquipmentEventType.GTOT, 5),
    ]);
    expect(exp?.status.flags).toEqual([]);
  });

  it('holds a container at its terminal: another terminal may discharge it from a vessel or take it after it left', () => {
    const T2 = { unLocode: 'VNHPH', terminalCode: 'TVCT' };
    const atT2 = (e: Event): Event => ({ ...e, facility: T2 });
    const inYard = apply(undefined, [eqEvent('e1', EquipmentEventType.DISC, 0, { yardPosition: YARD })]);
    // In HICT's yard: TVCT's restow and its re-stuffing change nothing but a flag each.
    const tried = apply(inYard, [
      atT2(eqEvent('x1', EquipmentEventType.RMVD, 10, { yardPosition: { ...YARD, block: 'Z9' } })),
      atT2(eqEvent('x2', EquipmentEventType.STUF, 11, { seals: [{ number: 'S1', source: 1 }] })),
    ]);
    expect({ ...tried?.status, flags: [] }).toEqual({ ...inYard?.status, flags: [] });
    expect(tried?.status.flags.map((f) => [f.code, f.eventId, f.reason])).toEqual([
      [EVENT_FROM_OTHER_TERMINAL, 'x1', 'RMVD at VNHPH:TVCT while the container is at VNHPH:HICT'],
      [EVENT_FROM_OTHER_TERMINAL, 'x2', 'STUF at VNHPH:TVCT while the container is at VNHPH:HICT'],
    ]);
    // A late event from another terminal (from before this stay) is not a flag either.
    const late = apply(tried, [atT2(eqEvent('x0', EquipmentEventType.GTOT, -5))]);
    expect(late?.status).toEqual(tried?.status);
    // Loaded at HICT, discharged at TVCT: the vessel called both.
    const loaded = apply(tried, [eqEvent('e2', EquipmentEventType.LOAD, 20)]);
    const moved = apply(loaded, [atT2(eqEvent('y1', EquipmentEventType.DISC, 30, { yardPosition: YARD }))]);
    expect(moved?.status).toMatchObject({ location: ContainerLocation.IN_YARD, facility: T2 });
    // Gated out of TVCT, gated in at HICT.
    const out = apply(moved, [atT2(eqEvent('y2', EquipmentEventType.GTOT, 40))]);
    const back = apply(out, [eqEvent('e3', EquipmentEventType.GTIN, 50, { yardPosition: YARD })]);
    expect(back?.status).toMatchObject({ location: ContainerLocation.IN_YARD, facility: FACILITY });
    expect(back?.status.flags.filter((f) => f.code === EVENT_FROM_OTHER_TERMINAL)).toHaveLength(2);
  });

  it('aggregates customs statuses, most blocking first, cancelled ones not counted', () => {
    expect(aggregateCustoms([])).toBe(CustomsStatus.NO_DECLARATION);
    expect(aggregateCustoms([ClearanceStatus.CANCELLED])).toBe(CustomsStatus.NO_DECLARATION);
    expect(aggregateCustoms([ClearanceStatus.CLEARED, ClearanceStatus.PENDING])).toBe(CustomsStatus.PENDING);
    expect(aggregateCustoms([ClearanceStatus.REFUSED, ClearanceStatus.PHYSICAL_INSPECTION])).toBe(
      CustomsStatus.REFUSED,
    );
    expect(aggregateCustoms([ClearanceStatus.CLEARED, undefined])).toBe(CustomsStatus.PENDING);
  });

  it('encodes status then bookkeeping, so the value decodes as the API message', () => {
    const r = apply(undefined, [eqEvent('e1', EquipmentEventType.DISC, 0, { yardPosition: YARD })]);
    if (!r) throw new Error('no state');
    const bytes = encodeContainerRecord(r);
    expect(ContainerStatus.decode(bytes)).toEqual(r.status);
    expect(decodeContainerRecord(bytes)).toEqual(r);
  });
});

describe('vessel visit state', () => {
  const id = visitIdOf(FACILITY.unLocode, FACILITY.terminalCode, VESSEL) ?? '';

  it('goes from expected to departed, never back, with schedules, berth and manifest', () => {
    expect(id).toBe(VISIT);
    const eta = applyVisitEvents(
      undefined,
      id,
      [
        trEvent('t1', TransportEventType.ARRI, TransportCallLocation.PORT, 0, {}, EventClassifier.ESTIMATED),
        trEvent('t2', TransportEventType.DEPA, TransportCallLocation.PORT, 600, {}, EventClassifier.PLANNED),
      ],
      NOW,
    );
    expect(eta?.visit).toMatchObject({
      status: VesselVisitStatus.EXPECTED,
      eta: at(0),
      etd: at(600),
      ata: undefined,
    });
    const arr = applyVisitEvents(
      eta,
      id,
      [
        trEvent('t3', TransportEventType.ARRI, TransportCallLocation.PORT, 5, {
          manifestContainerNumbers: ['A', 'B'],
        }),
      ],
      NOW,
    );
    expect(arr?.visit).toMatchObject({ status: VesselVisitStatus.ARRIVED, ata: at(5), manifestCount: 2 });
    const berth = applyVisitEvents(
      arr,
      id,
      [
        trEvent('t4', TransportEventType.ARRI, TransportCallLocation.BERTH, 60, {
          berth: 'LH1',
          manifestContainerNumbers: ['B', 'C'],
        }),
      ],
      NOW,
    );
    expect(berth?.visit).toMatchObject({
      status: VesselVisitStatus.BERTHED,
      berth: 'LH1',
      berthedTime: at(60),
      manifestCount: 3,
    });
    const unb = applyVisitEvents(
      berth,
      id,
      [trEvent('t5', TransportEventType.DEPA, TransportCallLocation.BERTH, 500)],
      NOW,
    );
    expect(unb?.visit.status).toBe(VesselVisitStatus.UNBERTHED);
    const dep = applyVisitEvents(
      unb,
      id,
      [trEvent('t6', TransportEventType.DEPA, TransportCallLocation.PORT, 520)],
      NOW,
    );
    expect(dep?.visit).toMatchObject({ status: VesselVisitStatus.DEPARTED, atd: at(520) });
    // A late or repeated event does not move it back.
    const late = applyVisitEvents(
      dep,
      id,
      [trEvent('t7', TransportEventType.ARRI, TransportCallLocation.BERTH, 59, { berth: 'LH1' })],
      NOW,
    );
    expect(late?.visit.status).toBe(VesselVisitStatus.DEPARTED);
    expect(
      applyVisitEvents(
        dep,
        id,
        [trEvent('t6', TransportEventType.DEPA, TransportCallLocation.PORT, 520)],
        NOW,
      ),
    ).toBeUndefined();
    const bytes = encodeVisitRecord(dep ?? arr ?? eta ?? assertNever());
    expect(VesselVisit.decode(bytes)).toEqual(dep?.visit);
    expect(decodeVisitRecord(bytes).bookkeeping.manifestContainerNumbers).toEqual(['A', 'B', 'C']);
  });

  it('counts discharged and loaded containers once', () => {
    const disc = (i: string, serial: number) =>
      eqEvent(i, EquipmentEventType.DISC, 1, {
        vessel: VESSEL,
        containerNumber: containerNumber('MSC', serial),
      });
    const a = applyVisitEvents(undefined, id, [disc('x1', 1), disc('x2', 2), disc('x3', 1)], NOW);
    expect(a?.visit).toMatchObject({ dischargedCount: 2, loadedCount: 0 });
    expect(applyVisitEvents(a, id, [disc('x4', 2)], NOW)).toBeUndefined();
    const b = applyVisitEvents(a, id, [eqEvent('l', EquipmentEventType.LOAD, 2, { vessel: VESSEL })], NOW);
    expect(b?.visit).toMatchObject({ dischargedCount: 2, loadedCount: 1 });
  });
});

function assertNever(): never {
  throw new Error('unreachable');
}
