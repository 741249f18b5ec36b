// Whether a container may take its next step out of customs control, and what holds it, per cargo flow:
//   import         discharged, and every bill in it cleared: may gate out;
//   export         gated in, and every bill in it cleared for export: may be loaded;
//   transshipment  in the terminal: may be loaded onto the on-carrying vessel; stays under customs supervision
//                  and never gates out;
//   empty          in the terminal: may gate out or be loaded, no clearance.
// A container on no manifest keeps the rule from declarations alone: discharged, and every declaration listing it
// cleared (a laden one needs at least one). The blocker is written for a truck dispatcher, and for one reader at a
// time: bills the reader may not see are counted, never named, and no declaration number is ever in it.
import { ClearanceStatus } from '../../proto/gen/portstream/v1/customs.js';
import { EmptyIndicator } from '../../proto/gen/portstream/v1/events.js';
import { CargoFlow } from '../../proto/gen/portstream/v1/manifest.js';
import type { Shipment, ShipmentBill } from '../../proto/gen/portstream/v1/records.js';
import { CustomsStatus, type ContainerStatus } from '../../proto/gen/portstream/v1/tracking.js';
import type { ContainerRecord } from './container.js';
import { billStatus, currentShipment, lastEndedShipment } from './shipment.js';

/** Statuses by how strongly they hold a container, the most blocking last. CLEARED blocks nothing. */
const SEVERITY: readonly CustomsStatus[] = [
  CustomsStatus.CLEARED,
  CustomsStatus.PENDING,
  CustomsStatus.DOCUMENT_CHECK,
  CustomsStatus.PHYSICAL_INSPECTION,
  CustomsStatus.REFUSED,
];

/** A declaration's clearance status as the container's customs status; undefined for CANCELLED (not listed). */
export function customsStatusOf(s: ClearanceStatus | undefined): CustomsStatus | undefined {
  switch (s) {
    case ClearanceStatus.CLEARED:
      return CustomsStatus.CLEARED;
    case ClearanceStatus.DOCUMENT_CHECK:
      return CustomsStatus.DOCUMENT_CHECK;
    case ClearanceStatus.PHYSICAL_INSPECTION:
      return CustomsStatus.PHYSICAL_INSPECTION;
    case ClearanceStatus.REFUSED:
      return CustomsStatus.REFUSED;
    case ClearanceStatus.CANCELLED:
      return undefined;
    default:
      // Pending, unknown or not found: not cleared.
      return CustomsStatus.PENDING;
  }
}

/**
 * The container's customs status from its declarations' statuses (undefined: declaration not found): the most
 * blocking of them; NO_DECLARATION when none lists it (cancelled ones do not count).
 */
export function aggregateCustoms(statuses: Iterable<ClearanceStatus | undefined>): CustomsStatus {
  let worst: CustomsStatus | undefined;
  for (const s of statuses) {
    const c = customsStatusOf(s);
    if (c === undefined) continue;
    if (worst === undefined || SEVERITY.indexOf(c) > SEVERITY.indexOf(worst)) worst = c;
  }
  return worst ?? CustomsStatus.NO_DECLARATION;
}

/** A bill's statuses by how strongly they hold it: a bill without a declaration is held too. */
const BILL_SEVERITY: readonly CustomsStatus[] = [
  CustomsStatus.CLEARED,
  CustomsStatus.NO_DECLARATION,
  ...SEVERITY.slice(1),
];

/** The more blocking of two customs statuses. */
export function worse(a: CustomsStatus, b: CustomsStatus): CustomsStatus {
  return BILL_SEVERITY.indexOf(b) > BILL_SEVERITY.indexOf(a) ? b : a;
}

const WHAT_HOLDS: Record<CustomsStatus, string> = {
  [CustomsStatus.UNSPECIFIED]: 'customs status unknown',
  [CustomsStatus.NO_DECLARATION]: 'no customs declaration yet',
  [CustomsStatus.PENDING]: 'customs declaration awaiting its decision',
  [CustomsStatus.CLEARED]: 'cleared',
  [CustomsStatus.DOCUMENT_CHECK]: 'held for a customs document check: present the documents',
  [CustomsStatus.PHYSICAL_INSPECTION]: 'held for a customs physical inspection: book the inspection',
  [CustomsStatus.REFUSED]: 'refused by customs: the goods may not leave',
  [CustomsStatus.UNRECOGNIZED]: 'customs status unknown',
};

/** Bills of the shipment not cleared yet. */
export function unclearedBills(s: Shipment): ShipmentBill[] {
  return s.bills.filter((b) => billStatus(b) !== CustomsStatus.CLEARED);
}

/** "bill X: held ...; 2 other bills in this container: not cleared", naming only the bills the reader may see. */
function billsBlocker(open: readonly ShipmentBill[], mayName: (bill: string) => boolean): string {
  const named = open.filter((b) => mayName(b.billNumber));
  const others = open.length - named.length;
  const parts = named.map((b) => `bill ${b.billNumber}: ${WHAT_HOLDS[billStatus(b)]}`);
  if (others > 0) {
    parts.push(`${others} other bill${others === 1 ? '' : 's'} in this container not cleared by customs yet`);
  }
  return parts.join('; ');
}

function vesselText(s: Shipment): string {
  const v = s.vessel;
  return v ? `${v.name !== '' ? v.name : `IMO ${v.imoNumber}`} voyage ${v.voyage}` : s.callId;
}

/** What holds the container in its current shipment, for a reader who may name the bills `mayName` accepts. */
export function shipmentBlocker(s: Shipment, mayName: (bill: string) => boolean = () => true): string {
  // An ended shipment took its step out (gated out, or loaded): nothing holds it any more.
  if (s.endedTime !== undefined) return '';
  const started = s.startedTime !== undefined;
  const terminal = s.facility?.terminalCode ?? '';
  switch (s.flow) {
    case CargoFlow.IMPORT:
      if (!started) return `not discharged yet from ${vesselText(s)}`;
      return billsBlocker(unclearedBills(s), mayName);
    case CargoFlow.EXPORT:
      if (!started) return `not gated in at ${terminal} yet for ${vesselText(s)}`;
      return billsBlocker(unclearedBills(s), mayName);
    case CargoFlow.TRANSSHIPMENT:
    case CargoFlow.EMPTY:
      return started ? '' : `not in terminal ${terminal} yet`;
    default:
      return 'cargo flow unknown';
  }
}

/** The rule for a container on no manifest: discharged, and its declarations cleared. */
function legacyBlocker(s: ContainerStatus): string {
  if (s.dischargedTime === undefined) return 'not discharged from a vessel';
  if (s.customsStatus === CustomsStatus.NO_DECLARATION || s.declarationNumbers.length === 0) {
    return s.emptyIndicator === EmptyIndicator.LADEN ? 'no customs declaration for a laden import' : '';
  }
  return s.customsStatus === CustomsStatus.CLEARED ? '' : `customs status ${CustomsStatus[s.customsStatus]}`;
}

/**
 * Sets the status's release fields (released, release_blocker, flow, bill numbers, call, customs status) from
 * the current shipment (or the one it last completed), or from the declarations alone when the container is on
 * no manifest.
 */
export function applyRelease(rec: ContainerRecord): void {
  const s = rec.status;
  const shipment = currentShipment(rec.bookkeeping) ?? lastEndedShipment(rec.bookkeeping);
  let blocker: string;
  if (shipment) {
    s.flow = shipment.flow;
    s.callId = shipment.callId;
    s.billNumbers = shipment.bills.map((b) => b.billNumber);
    let worst = CustomsStatus.CLEARED;
    for (const b of shipment.bills) worst = worse(worst, billStatus(b));
    if (shipment.flow === CargoFlow.IMPORT || shipment.flow === CargoFlow.EXPORT) {
      s.customsStatus = shipment.bills.length === 0 ? CustomsStatus.NO_DECLARATION : worst;
    }
    blocker = shipmentBlocker(shipment);
  } else {
    s.flow = CargoFlow.UNSPECIFIED;
    s.callId = '';
    s.billNumbers = [];
    blocker = legacyBlocker(s);
  }
  s.released = blocker === '';
  s.releaseBlocker = blocker;
}
