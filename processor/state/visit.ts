// Applying transport events (arrival, berthing, unberthing, departure, schedules, manifest) and DISC/LOAD
// equipment events to a vessel visit. Pure apart from visitContainers, which reads the bucket.
//
// Order and duplicates: the status only moves forward (EXPECTED < ARRIVED < BERTHED < UNBERTHED < DEPARTED), so
// a late event cannot move a visit back; transport event ids are remembered (bounded) and container sets are
// sets, so a repeated event changes nothing. Transport events are remembered by their sourced id.
import type { KV } from '@nats-io/kv';
import {
  decodeVisitRecord,
  encodeVisitRecord,
  newVisitRecord,
  VISIT_MAX_CONTAINERS,
  VISIT_RECENT_EVENT_IDS,
  visitIdOf,
  type VisitRecord,
} from '../../core/state/visit.js';
import {
  EquipmentEventType,
  EventClassifier,
  TransportCallLocation,
  TransportEventType,
  type Event,
} from '../../proto/gen/portstream/v1/events.js';
import { VesselVisitStatus } from '../../proto/gen/portstream/v1/tracking.js';
import { byEventTime, plainEventKey, remember, type EventKeyOf } from './container.js';

export const visitCodec = { decode: decodeVisitRecord, encode: encodeVisitRecord };

/**
 * The visit an event belongs to: transport events, and DISC/LOAD equipment events with a vessel, each to the
 * call at its own facility's terminal.
 */
export function visitKeyOf(ev: Event): string | undefined {
  const unLocode = ev.facility?.unLocode ?? '';
  const terminal = ev.facility?.terminalCode ?? '';
  const p = ev.payload;
  if (p?.$case === 'transport') return visitIdOf(unLocode, terminal, p.value.vessel);
  if (p?.$case === 'equipment') {
    const t = p.value.type;
    if (t !== EquipmentEventType.DISC && t !== EquipmentEventType.LOAD) return undefined;
    if (ev.classifier === EventClassifier.PLANNED || ev.classifier === EventClassifier.ESTIMATED)
      return undefined;
    return visitIdOf(unLocode, terminal, p.value.vessel);
  }
  return undefined;
}

/**
 * Adds to a container list kept as a set. Membership is checked against a Set built once per apply (a visit
 * lists thousands of containers; scanning the list per event made a busy visit quadratic). A list stops growing
 * at VISIT_MAX_CONTAINERS: no vessel call moves more, and the record must stay within a NATS message.
 */
function adder(): (list: string[], v: string) => boolean {
  const sets = new Map<string[], Set<string>>();
  return (list, v) => {
    if (v === '' || list.length >= VISIT_MAX_CONTAINERS) return false;
    let set = sets.get(list);
    if (!set) {
      set = new Set(list);
      sets.set(list, set);
    }
    if (set.has(v)) return false;
    set.add(v);
    list.push(v);
    return true;
  };
}

/** The visit after the events (in any order), or undefined when they change nothing. Does not modify `prev`. */
export function applyVisitEvents(
  prev: VisitRecord | undefined,
  visitId: string,
  events: readonly Event[],
  now: Date,
  keyOf: EventKeyOf = plainEventKey,
): VisitRecord | undefined {
  const rec = prev ? structuredClone(prev) : newVisitRecord(visitId);
  const v = rec.visit;
  const bk = rec.bookkeeping;
  let changed = prev === undefined;
  const addTo = adder();
  const raise = (s: VesselVisitStatus): void => {
    if (s > v.status) v.status = s;
  };
  for (const ev of byEventTime(events, now)) {
    if (visitKeyOf(ev) !== visitId) continue;
    const t = ev.eventTime ?? now;
    const p = ev.payload;
    if (p?.$case === 'equipment') {
      const set =
        p.value.type === EquipmentEventType.DISC ? bk.dischargedContainerNumbers : bk.loadedContainerNumbers;
      if (addTo(set, p.value.containerNumber)) changed = true;
      if (!v.vessel && p.value.vessel) v.vessel = p.value.vessel;
      if (!v.facility && ev.facility) v.facility = ev.facility;
      continue;
    }
    if (p?.$case !== 'transport') continue;
    const key = keyOf(ev);
    if (bk.recentEventIds.includes(key)) continue;
    remember(bk.recentEventIds, key, VISIT_RECENT_EVENT_IDS);
    changed = true;
    const te = p.value;
    if (te.vessel) v.vessel = te.vessel;
    if (ev.facility) v.facility = ev.facility;
    for (const n of te.manifestContainerNumbers) addTo(bk.manifestContainerNumbers, n);
    const arri = te.type === TransportEventType.ARRI;
    const depa = te.type === TransportEventType.DEPA;
    const atBerth = te.location === TransportCallLocation.BERTH;
    const atPort = te.location === TransportCallLocation.PORT;
    if (ev.classifier === EventClassifier.PLANNED || ev.classifier === EventClassifier.ESTIMATED) {
      if (arri) v.eta = t;
      if (depa) v.etd = t;
      if (atBerth && te.berth !== '' && v.status < VesselVisitStatus.BERTHED) v.berth = te.berth;
      raise(VesselVisitStatus.EXPECTED);
      continue;
    }
    if (arri && atPort) {
      v.ata = t;
      raise(VesselVisitStatus.ARRIVED);
    } else if (arri && atBerth) {
      if (te.berth !== '') v.berth = te.berth;
      v.berthedTime = t;
      raise(VesselVisitStatus.BERTHED);
    } else if (depa && atBerth) {
      raise(VesselVisitStatus.UNBERTHED);
    } else if (depa && atPort) {
      v.atd = t;
      raise(VesselVisitStatus.DEPARTED);
    }
  }
  if (!changed) return undefined;
  v.manifestCount = bk.manifestContainerNumbers.length;
  v.dischargedCount = bk.dischargedContainerNumbers.length;
  v.loadedCount = bk.loadedContainerNumbers.length;
  return rec;
}

/** Containers of a visit (manifest ∪ discharged ∪ loaded), or undefined when the visit is unknown. */
export async function visitContainers(
  visitsKv: KV,
  visitId: string,
): Promise<ReadonlySet<string> | undefined> {
  const e = await visitsKv.get(visitId);
  if (e === null || e.operation !== 'PUT' || e.value.length === 0) return undefined;
  const bk = decodeVisitRecord(e.value).bookkeeping;
  return new Set([
    ...bk.manifestContainerNumbers,
    ...bk.dischargedContainerNumbers,
    ...bk.loadedContainerNumbers,
  ]);
}
