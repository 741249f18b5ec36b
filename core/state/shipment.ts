// A container's shipments: its part in each vessel call's cargo manifest, kept in the container's bookkeeping.
// The manifest service adds, replaces and removes them as carriers file, amend and withdraw manifests; the state
// processor starts and ends them as the container moves; the customs decider records, per bill, the declarations
// that clear it. Who may see a container, and what its release needs, follow from them.
//
// A shipment starts when the container enters the call's terminal for it: discharged from the call's vessel (cargo
// arriving on it), or entering the terminal by any way for cargo leaving on it (gate-in for an export, discharge
// from another vessel for a transshipment). It ends when the container next leaves the terminal (gate-out,
// pick-up or loading onto any vessel).
import type { Facility, VesselRef } from '../../proto/gen/portstream/v1/common.js';
import { EquipmentEventType } from '../../proto/gen/portstream/v1/events.js';
import { CargoFlow } from '../../proto/gen/portstream/v1/manifest.js';
import type { ContainerBookkeeping, Shipment, ShipmentBill } from '../../proto/gen/portstream/v1/records.js';
import { CustomsStatus } from '../../proto/gen/portstream/v1/tracking.js';

/** Shipments kept per container: the ended ones beyond this are dropped, oldest first. */
export const CONTAINER_MAX_SHIPMENTS = 8;

/** KV keys allow [-/_=.a-zA-Z0-9]. */
const KEY = /^[-_=.a-zA-Z0-9]{1,128}$/;

/** "<UN/LOCODE>-<terminal>-<IMO>-<voyage>", or undefined when a part is missing or unusable as a KV key. */
export function callIdOf(facility: Facility | undefined, vessel: VesselRef | undefined): string | undefined {
  if (!facility || !vessel) return undefined;
  const parts = [facility.unLocode, facility.terminalCode, vessel.imoNumber, vessel.voyage];
  if (parts.some((p) => p === '')) return undefined;
  const id = parts.join('-');
  return KEY.test(id) ? id : undefined;
}

const sameVessel = (a: VesselRef | undefined, b: VesselRef | undefined): boolean =>
  a !== undefined && b !== undefined && a.imoNumber === b.imoNumber && a.voyage === b.voyage;

const sameTerminal = (a: Facility | undefined, b: Facility | undefined): boolean =>
  a !== undefined && b !== undefined && a.unLocode === b.unLocode && a.terminalCode === b.terminalCode;

/** Whether the cargo of this flow arrives on the call's vessel (rather than leaving on it). */
export function arrivesOnCall(s: Shipment): boolean {
  return s.flow === CargoFlow.IMPORT;
}

/** The shipment under way: started and not ended (the latest started, should there be several). */
export function activeShipment(bk: ContainerBookkeeping): Shipment | undefined {
  let found: Shipment | undefined;
  for (const s of bk.shipments) {
    if (s.startedTime === undefined || s.endedTime !== undefined) continue;
    if (found?.startedTime === undefined || s.startedTime > found.startedTime) found = s;
  }
  return found;
}

/** The next shipment: not started yet (the first filed). */
export function upcomingShipment(bk: ContainerBookkeeping): Shipment | undefined {
  return bk.shipments.find((s) => s.startedTime === undefined);
}

/** The shipment that ended last (the container's latest completed step), if any. */
export function lastEndedShipment(bk: ContainerBookkeeping): Shipment | undefined {
  let found: Shipment | undefined;
  for (const s of bk.shipments) {
    if (s.endedTime !== undefined && (found?.endedTime === undefined || s.endedTime > found.endedTime))
      found = s;
  }
  return found;
}

/** The shipment a reader is shown: the one under way, else the next one. */
export function currentShipment(bk: ContainerBookkeeping): Shipment | undefined {
  return activeShipment(bk) ?? upcomingShipment(bk);
}

/**
 * Keeps the record bounded: beyond the cap, ended shipments go first (oldest first), then those filed longest ago
 * that never started; the one under way is never dropped.
 */
function prune(bk: ContainerBookkeeping): void {
  while (bk.shipments.length > CONTAINER_MAX_SHIPMENTS) {
    const ended = bk.shipments.filter((s) => s.endedTime !== undefined);
    const oldest =
      ended.sort((a, b) => (a.endedTime?.getTime() ?? 0) - (b.endedTime?.getTime() ?? 0))[0] ??
      bk.shipments.find((s) => s.startedTime === undefined);
    if (!oldest) return;
    bk.shipments.splice(bk.shipments.indexOf(oldest), 1);
  }
}

/**
 * Adds the container's part in a call's manifest, or replaces it (an amendment): what the processor and the
 * decider recorded (start, end, declarations per bill still listed) is kept.
 */
export function upsertShipment(bk: ContainerBookkeeping, next: Shipment): void {
  const i = bk.shipments.findIndex((s) => s.callId === next.callId && s.carrierCode === next.carrierCode);
  if (i < 0) {
    bk.shipments.push(next);
    prune(bk);
    return;
  }
  const prev = bk.shipments[i] as Shipment;
  const before = new Map(prev.bills.map((b) => [b.billNumber, b]));
  bk.shipments[i] = {
    ...next,
    startedTime: prev.startedTime ?? next.startedTime,
    endedTime: prev.endedTime ?? next.endedTime,
    bills: next.bills.map((b): ShipmentBill => {
      const was = before.get(b.billNumber);
      return was ? { ...b, declarationNumbers: was.declarationNumbers, customsStatus: was.customsStatus } : b;
    }),
  };
}

/** Removes the container's part in a carrier's manifest of a call (withdrawn, or amended not to list it). */
export function removeShipment(bk: ContainerBookkeeping, callId: string, carrier: string): boolean {
  const i = bk.shipments.findIndex((s) => s.callId === callId && s.carrierCode === carrier);
  if (i < 0) return false;
  bk.shipments.splice(i, 1);
  return true;
}

const ENTERS = new Set<EquipmentEventType>([
  EquipmentEventType.DISC,
  EquipmentEventType.GTIN,
  EquipmentEventType.DROP,
]);
const LEAVES = new Set<EquipmentEventType>([
  EquipmentEventType.LOAD,
  EquipmentEventType.GTOT,
  EquipmentEventType.PICK,
]);

/** Whether the container entering the terminal this way starts the shipment. */
export function startsShipment(
  s: Shipment,
  type: EquipmentEventType,
  facility: Facility | undefined,
  vessel: VesselRef | undefined,
): boolean {
  if (s.startedTime !== undefined || !ENTERS.has(type) || !sameTerminal(s.facility, facility)) return false;
  const fromThisVessel = type === EquipmentEventType.DISC && sameVessel(s.vessel, vessel);
  // Import cargo comes off the call's vessel; export cargo comes in any other way; transshipped and empty
  // containers come in either way (off this vessel, or off another one to leave on this).
  if (arrivesOnCall(s)) return fromThisVessel;
  return s.flow === CargoFlow.EXPORT ? !fromThisVessel : true;
}

/**
 * Moves the shipments on with an ACTUAL equipment event at time t: an entry starts the shipments it starts, a
 * departure (load, gate-out, pick-up) ends the one under way. Returns whether anything changed.
 */
export function advanceShipments(
  bk: ContainerBookkeeping,
  type: EquipmentEventType,
  facility: Facility | undefined,
  vessel: VesselRef | undefined,
  t: Date,
): boolean {
  let changed = false;
  if (ENTERS.has(type)) {
    for (const s of bk.shipments) {
      if (startsShipment(s, type, facility, vessel)) {
        s.startedTime = t;
        changed = true;
      }
    }
  } else if (LEAVES.has(type)) {
    for (const s of bk.shipments) {
      if (s.startedTime !== undefined && s.endedTime === undefined && sameTerminal(s.facility, facility)) {
        s.endedTime = t;
        changed = true;
      }
    }
  }
  return changed;
}

/** The least advanced of a bill's declarations, as the container's customs status. */
export function billStatus(b: ShipmentBill): CustomsStatus {
  return b.declarationNumbers.length === 0 ? CustomsStatus.NO_DECLARATION : b.customsStatus;
}
