// Applying equipment events to a container's state: location, full/empty, seals, last event, vessel visit,
// facility, discharge and dwell, and the release check at gate-out. Pure: the consumer reads the declarations a
// gate-out needs and does the compare-and-set around it.
//
// Duplicates and order: an event whose sourced id (core/event-key.ts: the same id from another source is
// another event) is among the container's recent ids changes nothing; an event older
// than the watermark (the newest event time applied) is recorded among the recent ids and fills in history that
// is still missing (discharge and entry time) but does not move the container back.
import {
  CONTAINER_MAX_FLAGS,
  CONTAINER_MAX_SEALS,
  CONTAINER_RECENT_EVENT_IDS,
  facilityName,
  heldAtOtherTerminal,
  newContainerRecord,
  type ContainerRecord,
  type RetiredContainer,
} from '../../core/state/container.js';
import type { ClearanceStatus } from '../../proto/gen/portstream/v1/customs.js';
import {
  EmptyIndicator,
  EquipmentEventType,
  EventClassifier,
  type EquipmentEvent,
  type Event,
  type Seal,
} from '../../proto/gen/portstream/v1/events.js';
import {
  ContainerLocation,
  CustomsStatus,
  type ContainerStatus,
} from '../../proto/gen/portstream/v1/tracking.js';
import { aggregateCustoms, applyRelease, customsStatusOf, unclearedBills } from '../../core/state/release.js';
import { activeShipment, advanceShipments } from '../../core/state/shipment.js';
import { CargoFlow } from '../../proto/gen/portstream/v1/manifest.js';

export const GATE_OUT_WITHOUT_RELEASE = 'GATE_OUT_WITHOUT_RELEASE';
export const LOAD_WITHOUT_CLEARANCE = 'LOAD_WITHOUT_CLEARANCE';
/** An actual event from a terminal other than the one holding the container: recorded as a flag, not applied. */
export const EVENT_FROM_OTHER_TERMINAL = 'EVENT_FROM_OTHER_TERMINAL';

export interface ContainerApplyContext {
  /** Write time, for the dwell of a container still in the terminal. */
  now: Date;
  /**
   * Clearance status of the declarations listed in the status (undefined: not found), read for a gate-out.
   * Omitted when the events hold no gate-out.
   */
  declarationStatuses?: ReadonlyMap<string, ClearanceStatus | undefined>;
  /** The key an event is deduplicated by (its source-qualified id); default: the event id alone. */
  keyOf?: EventKeyOf;
}

/** The deduplication key of an event (see core/event-key.ts). */
export type EventKeyOf = (ev: Event) => string;

export const plainEventKey: EventKeyOf = (ev) => ev.eventId;

/** The container number of an equipment event, or undefined for other events. */
export function equipmentOf(ev: Event): EquipmentEvent | undefined {
  return ev.payload?.$case === 'equipment' ? ev.payload.value : undefined;
}

/** Whether the events would move a container out of the terminal (so the gate-out check needs declarations). */
export function hasGateOut(events: readonly Event[]): boolean {
  return events.some((e) => {
    const t = equipmentOf(e)?.type;
    return t === EquipmentEventType.GTOT || t === EquipmentEventType.PICK;
  });
}

const timeOf = (ev: Event, now: Date): Date => ev.eventTime ?? now;

/** Moves that bring a container into the terminal. */
const ENTERS: ReadonlySet<EquipmentEventType> = new Set([
  EquipmentEventType.DISC,
  EquipmentEventType.GTIN,
  EquipmentEventType.DROP,
]);

/**
 * Whether the earliest of the events brings the container into the terminal (discharge, gate-in, drop): then
 * it is usually not held in state yet (new to the port, or retired after its last stay).
 */
export function entersFirst(events: readonly Event[]): boolean {
  let first: Event | undefined;
  for (const e of events) {
    if (first === undefined || (e.eventTime?.getTime() ?? 0) < (first.eventTime?.getTime() ?? 0)) first = e;
  }
  const t = first === undefined ? undefined : equipmentOf(first)?.type;
  return t !== undefined && ENTERS.has(t);
}

/** Events by event time, the message order kept among equal times. */
export function byEventTime(events: readonly Event[], now: Date): Event[] {
  return events
    .map((e, i) => ({ e, i, t: timeOf(e, now).getTime() }))
    .sort((a, b) => a.t - b.t || a.i - b.i)
    .map((x) => x.e);
}

export function remember(ids: string[], id: string, max: number): void {
  ids.push(id);
  if (ids.length > max) ids.splice(0, ids.length - max);
}

const isActual = (ev: Event): boolean =>
  ev.classifier !== EventClassifier.PLANNED && ev.classifier !== EventClassifier.ESTIMATED;

/**
 * The events that may bring a retired container back (see core/state/container.ts RetiredContainer): actual
 * events after the newest one applied before it was removed. The others belong to the stay that ended (late,
 * replayed) or change nothing (plans and estimates never move a container), so they must not recreate it.
 */
export function eventsAfterRetirement(
  events: readonly Event[],
  retired: RetiredContainer,
  now: Date,
): Event[] {
  const after = retired.watermarkTime.getTime();
  return events.filter((e) => isActual(e) && timeOf(e, now).getTime() > after);
}

/**
 * The container's state after the events (in any order), or undefined when they change nothing (all already
 * applied). Does not modify `prev`.
 */
export function applyContainerEvents(
  prev: ContainerRecord | undefined,
  containerNumber: string,
  events: readonly Event[],
  ctx: ContainerApplyContext,
): ContainerRecord | undefined {
  const rec = prev ? structuredClone(prev) : newContainerRecord(containerNumber);
  const bk = rec.bookkeeping;
  const keyOf = ctx.keyOf ?? plainEventKey;
  let changed = false;
  for (const ev of byEventTime(events, ctx.now)) {
    const eq = equipmentOf(ev);
    if (!eq || eq.containerNumber !== containerNumber) continue;
    const key = keyOf(ev);
    if (bk.recentEventIds.includes(key)) continue;
    remember(bk.recentEventIds, key, CONTAINER_RECENT_EVENT_IDS);
    changed = true;
    // Plans and estimates do not move a container.
    if (!isActual(ev)) continue;
    const t = timeOf(ev, ctx.now);
    const late = bk.watermarkTime !== undefined && t.getTime() < bk.watermarkTime.getTime();
    // Another terminal's event for a container held here: the gateway refuses these, one that raced past it
    // (the container came in meanwhile) changes nothing. A late one may be from before this stay: no flag.
    const holder = heldAtOtherTerminal(rec.status, ev.facility);
    if (holder !== undefined) {
      if (!late) {
        flag(rec, {
          code: EVENT_FROM_OTHER_TERMINAL,
          reason: `${EquipmentEventType[eq.type]} at ${facilityName(ev.facility)} while the container is at ${facilityName(holder)}`,
          eventId: ev.eventId,
          time: t,
        });
      }
      continue;
    }
    if (late) {
      fillHistory(rec, eq, t);
      continue;
    }
    bk.watermarkTime = t;
    move(rec, ev, eq, t, ctx);
  }
  if (!changed) return undefined;
  finish(rec, ctx.now);
  return rec;
}

function flag(rec: ContainerRecord, f: ContainerStatus['flags'][number]): void {
  const flags = rec.status.flags;
  flags.push(f);
  if (flags.length > CONTAINER_MAX_FLAGS) flags.splice(0, flags.length - CONTAINER_MAX_FLAGS);
}

/** A late event still tells when the container came in, if nothing newer did. */
function fillHistory(rec: ContainerRecord, eq: EquipmentEvent, t: Date): void {
  const s = rec.status;
  const bk = rec.bookkeeping;
  if (eq.type === EquipmentEventType.DISC && s.dischargedTime === undefined) s.dischargedTime = t;
  const enters =
    eq.type === EquipmentEventType.DISC ||
    eq.type === EquipmentEventType.GTIN ||
    eq.type === EquipmentEventType.DROP;
  if (enters && (bk.enteredTime === undefined || bk.enteredTime.getTime() > t.getTime())) {
    if (bk.leftTime === undefined || bk.leftTime.getTime() >= t.getTime()) bk.enteredTime = t;
  }
}

/**
 * The seals after an event that adds `added` to `kept`: a number seen again is the newest, with the event's
 * details; the newest CONTAINER_MAX_SEALS distinct numbers are kept, so no sequence of events grows the record.
 */
export function mergeSeals(kept: readonly Seal[], added: readonly Seal[]): Seal[] {
  const byNumber = new Map<string, Seal>();
  for (const s of [...kept, ...added]) {
    byNumber.delete(s.number);
    byNumber.set(s.number, s);
  }
  return [...byNumber.values()].slice(-CONTAINER_MAX_SEALS);
}

function move(
  rec: ContainerRecord,
  ev: Event,
  eq: EquipmentEvent,
  t: Date,
  ctx: ContainerApplyContext,
): void {
  const s = rec.status;
  const bk = rec.bookkeeping;
  if (eq.isoSizeType !== '') s.isoSizeType = eq.isoSizeType;
  if (eq.emptyIndicator !== EmptyIndicator.UNSPECIFIED) s.emptyIndicator = eq.emptyIndicator;
  else if (eq.type === EquipmentEventType.STUF) s.emptyIndicator = EmptyIndicator.LADEN;
  else if (eq.type === EquipmentEventType.STRP) s.emptyIndicator = EmptyIndicator.EMPTY;
  if (ev.facility) s.facility = ev.facility;
  if (eq.vessel && eq.vessel.imoNumber !== '') s.vessel = eq.vessel;
  // A new stay in the terminal starts when the container comes in after having left (or for the first time):
  // the seals of the stay before are history (ClickHouse keeps them), the stay starts with the event's own.
  const newStay = ENTERS.has(eq.type) && (bk.enteredTime === undefined || bk.leftTime !== undefined);
  if (eq.type === EquipmentEventType.RSEA || newStay) s.seals = mergeSeals([], eq.seals);
  else if (eq.seals.length > 0) s.seals = mergeSeals(s.seals, eq.seals);

  const enter = (): void => {
    if (newStay) {
      bk.enteredTime = t;
      bk.leftTime = undefined;
    }
  };
  const yard = eq.yardPosition;
  switch (eq.type) {
    case EquipmentEventType.DISC:
      enter();
      s.dischargedTime = t;
      s.location = ContainerLocation.IN_YARD;
      s.yardPosition = yard;
      break;
    case EquipmentEventType.GTIN:
      if (newStay) {
        // Back for export (or new): the previous import is over.
        s.dischargedTime = undefined;
      }
      enter();
      s.location = yard ? ContainerLocation.IN_YARD : ContainerLocation.AT_GATE;
      s.yardPosition = yard;
      break;
    case EquipmentEventType.DROP:
      enter();
      s.location = ContainerLocation.IN_YARD;
      s.yardPosition = yard;
      break;
    case EquipmentEventType.RMVD:
      if (yard) {
        s.location = ContainerLocation.IN_YARD;
        s.yardPosition = yard;
      }
      break;
    case EquipmentEventType.LOAD:
      checkLoad(rec, ev, t);
      s.location = ContainerLocation.ON_VESSEL;
      s.yardPosition = undefined;
      bk.leftTime = t;
      break;
    case EquipmentEventType.GTOT:
    case EquipmentEventType.PICK:
      checkRelease(rec, ev, t, ctx);
      s.location = ContainerLocation.LEFT_TERMINAL;
      s.yardPosition = undefined;
      bk.leftTime = t;
      break;
    default:
      break;
  }
  // After the checks above, which judge the departure against the shipment it ends.
  advanceShipments(bk, eq.type, ev.facility, eq.vessel, t);
  s.lastEventType = eq.type;
  s.lastEventTime = t;
  s.lastEventId = ev.eventId;
}

/** An export loaded before every bill in it was cleared for export is flagged, still moved. */
function checkLoad(rec: ContainerRecord, ev: Event, t: Date): void {
  const shipment = activeShipment(rec.bookkeeping);
  if (shipment?.flow !== CargoFlow.EXPORT) return;
  const open = unclearedBills(shipment);
  if (open.length > 0) {
    const bills = open.map((b) => b.billNumber).join(', ');
    flag(rec, {
      code: LOAD_WITHOUT_CLEARANCE,
      reason: `loaded with bill ${bills} not cleared for export`,
      eventId: ev.eventId,
      time: t,
    });
  }
}

/**
 * A container leaving by road that may not is flagged, still moved: import cargo with a bill not cleared,
 * transshipment cargo (under customs supervision until loaded), or, on no manifest, a discharged container
 * without every listed declaration cleared.
 */
function checkRelease(rec: ContainerRecord, ev: Event, t: Date, ctx: ContainerApplyContext): void {
  const shipment = activeShipment(rec.bookkeeping);
  if (shipment) {
    if (shipment.flow === CargoFlow.TRANSSHIPMENT) {
      flag(rec, {
        code: GATE_OUT_WITHOUT_RELEASE,
        reason: 'transshipment cargo under customs supervision left by road',
        eventId: ev.eventId,
        time: t,
      });
    } else if (shipment.flow === CargoFlow.IMPORT) {
      const open = unclearedBills(shipment);
      if (open.length > 0) {
        const bills = open.map((b) => b.billNumber).join(', ');
        flag(rec, {
          code: GATE_OUT_WITHOUT_RELEASE,
          reason: `bill ${bills} not cleared`,
          eventId: ev.eventId,
          time: t,
        });
      }
    }
    return;
  }
  const s = rec.status;
  if (s.dischargedTime === undefined) return;
  const statuses = ctx.declarationStatuses;
  let reason = '';
  if (statuses !== undefined && s.declarationNumbers.length > 0) {
    s.customsStatus = aggregateCustoms(s.declarationNumbers.map((n) => statuses.get(n)));
    const open = s.declarationNumbers.filter((n) => {
      const c = customsStatusOf(statuses.get(n));
      return c !== undefined && c !== CustomsStatus.CLEARED;
    });
    if (open.length > 0) {
      reason = `declaration ${open
        .map((n) => {
          const st = statuses.get(n);
          return st === undefined ? `${n} not found` : `${n} ${CustomsStatus[customsStatusOf(st) ?? 0]}`;
        })
        .join(', ')} not cleared`;
    } else if (
      s.customsStatus === CustomsStatus.NO_DECLARATION &&
      s.emptyIndicator === EmptyIndicator.LADEN
    ) {
      reason = 'no customs declaration for a laden import (all cancelled)';
    }
  } else if (s.declarationNumbers.length > 0) {
    // Declarations not read: go by the customs status the decider last linked.
    if (s.customsStatus !== CustomsStatus.CLEARED)
      reason = `customs status ${CustomsStatus[s.customsStatus]}`;
  } else if (s.emptyIndicator === EmptyIndicator.LADEN) {
    reason = 'no customs declaration for a laden import';
  }
  if (reason !== '') flag(rec, { code: GATE_OUT_WITHOUT_RELEASE, reason, eventId: ev.eventId, time: t });
}

function finish(rec: ContainerRecord, now: Date): void {
  const s = rec.status;
  const bk = rec.bookkeeping;
  if (s.declarationNumbers.length === 0) s.customsStatus = CustomsStatus.NO_DECLARATION;
  applyRelease(rec);
  const end = bk.leftTime ?? now;
  s.dwellSeconds =
    bk.enteredTime === undefined
      ? 0
      : Math.max(0, Math.floor((end.getTime() - bk.enteredTime.getTime()) / 1000));
}
