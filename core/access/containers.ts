// Who may see which container, and which of its history: the rules the tracking API answers by and the notify
// service delivers by (one place, so a push never shows more than a read would). Customs and admin see everything. An operator sees containers whose
// current facility is one of its terminals (it handles them; once a container left for another terminal, that
// terminal's operator owns it), and of their history what happened at its terminals. A firm sees a container
// while it carries one of the firm's bills of lading (the firm, or a party it acts for, is shipper, consignee or
// notify party on the carrier's manifest): from that shipment's start (discharge from the call's vessel, or entry
// into the terminal for cargo leaving on it) to its end (gate-out, or loading), and of its history only that
// window; of a shipment not started yet it sees what the manifest says, not where the container is now. It never
// sees another party's bills or declaration numbers. A container on no manifest is seen by the parties of the
// declarations customs linked to it. Whatever a caller may not see is answered NOT_FOUND, exactly as if it did
// not exist, so nobody can probe which containers or declarations exist.
import { actsForTaxCode, facilityKey, maySeeDeclaration, Role, type Principal } from '../auth/principal.js';
import type { ContainerRecord } from '../state/container.js';
import { shipmentBlocker, worse } from '../state/release.js';
import { billStatus } from '../state/shipment.js';
import type { Declaration } from '../../proto/gen/portstream/v1/customs.js';
import type { Shipment } from '../../proto/gen/portstream/v1/records.js';
import { ContainerLocation, ContainerStatus, CustomsStatus } from '../../proto/gen/portstream/v1/tracking.js';

/** Where the current revision of a declaration is read (its parties decide who may see it). */
export interface DeclarationSource {
  declaration(declarationNumber: string): Promise<Declaration | undefined>;
}

export function declarationParties(d: Declaration): string[] {
  return [d.declarantTaxCode, d.traderTaxCode].filter((t) => t !== '');
}

/** A period of a container's life a caller may read (end undefined: still open). */
export interface Window {
  from: Date | undefined;
  to: Date | undefined;
}

/** What a caller may know of one container: its status as shown to it, and which of its history. */
export interface ContainerView {
  status: ContainerStatus;
  /** undefined: all of it. */
  windows: Window[] | undefined;
  /** Only events at these facilities ("<UN/LOCODE>:<terminal>", or "<UN/LOCODE>:*"); undefined: anywhere. */
  terminals: ReadonlySet<string> | undefined;
}

const operates = (p: Principal, unLocode: string, terminal: string): boolean =>
  p.terminals.has(facilityKey(unLocode, terminal)) || p.terminals.has(`${unLocode}:*`);

/** The firm's bills in a shipment. */
function firmBills(p: Principal, s: Shipment): string[] {
  return s.bills.filter((b) => b.partyTaxCodes.some((t) => actsForTaxCode(p, t))).map((b) => b.billNumber);
}

/** Declarations linked to the container that the firm is a party to. */
async function firmDeclarations(
  p: Principal,
  numbers: readonly string[],
  store: DeclarationSource,
): Promise<string[]> {
  const out: string[] = [];
  for (const no of numbers) {
    const d = await store.declaration(no);
    if (d && maySeeDeclaration(p, declarationParties(d))) out.push(no);
  }
  return out;
}

/** The status of a shipment that has not started: what the manifest says, nothing of where the box is now. */
function manifestOnly(rec: ContainerRecord, s: Shipment, own: ReadonlySet<string>): ContainerStatus {
  let customs = CustomsStatus.CLEARED;
  for (const b of s.bills) if (own.has(b.billNumber)) customs = worse(customs, billStatus(b));
  return ContainerStatus.fromPartial({
    containerNumber: rec.status.containerNumber,
    location: ContainerLocation.UNSPECIFIED,
    facility: s.facility,
    vessel: s.vessel,
    customsStatus: customs,
    released: false,
    releaseBlocker: shipmentBlocker(s, (b) => own.has(b)),
    flow: s.flow,
    billNumbers: [...own],
    callId: s.callId,
  });
}

async function firmView(
  p: Principal,
  rec: ContainerRecord,
  store: DeclarationSource,
): Promise<ContainerView | undefined> {
  const mine = rec.bookkeeping.shipments.filter((s) => firmBills(p, s).length > 0);
  if (rec.bookkeeping.shipments.length === 0) {
    // On no manifest: the parties of the declarations customs linked to it.
    const own = await firmDeclarations(p, rec.status.declarationNumbers, store);
    if (own.length === 0) return undefined;
    return { status: { ...rec.status, declarationNumbers: own }, windows: undefined, terminals: undefined };
  }
  if (mine.length === 0) return undefined;
  const last = rec.status.lastEventTime?.getTime() ?? 0;
  // The shipment the container is in now, if it is the firm's: under way, or ended with nothing after it.
  const now = mine.find(
    (s) => s.startedTime !== undefined && (s.endedTime === undefined || s.endedTime.getTime() >= last),
  );
  const windows = mine
    .filter((s) => s.startedTime !== undefined)
    .map((s) => ({ from: s.startedTime, to: s.endedTime }));
  if (now) {
    const own = new Set(firmBills(p, now));
    const status: ContainerStatus = {
      ...rec.status,
      declarationNumbers: await firmDeclarations(p, rec.status.declarationNumbers, store),
      billNumbers: rec.status.callId === now.callId ? [...own] : [],
      releaseBlocker:
        rec.status.callId === now.callId
          ? shipmentBlocker(now, (b) => own.has(b))
          : rec.status.releaseBlocker,
      // Flags are the operators' and customs' work list, not a trader's.
      flags: [],
    };
    return { status, windows, terminals: undefined };
  }
  const upcoming = mine.find((s) => s.startedTime === undefined);
  if (!upcoming) return undefined;
  return {
    status: manifestOnly(rec, upcoming, new Set(firmBills(p, upcoming))),
    windows,
    terminals: undefined,
  };
}

/** What the caller may see of the container; undefined when nothing (answered NOT_FOUND). */
export async function containerView(
  p: Principal,
  rec: ContainerRecord,
  store: DeclarationSource,
): Promise<ContainerView | undefined> {
  switch (p.role) {
    case Role.Admin:
    case Role.Customs:
      return { status: rec.status, windows: undefined, terminals: undefined };
    case Role.Operator: {
      const f = rec.status.facility;
      if (!f || !operates(p, f.unLocode, f.terminalCode)) return undefined;
      return { status: rec.status, windows: undefined, terminals: p.terminals };
    }
    case Role.Firm:
      return firmView(p, rec, store);
    case Role.Carrier:
      return undefined;
  }
}

/** Whether a history event lies in what the view may read. */
export function inView(v: ContainerView, time: Date, unLocode: string, terminal: string): boolean {
  if (
    v.terminals &&
    !(v.terminals.has(facilityKey(unLocode, terminal)) || v.terminals.has(`${unLocode}:*`))
  ) {
    return false;
  }
  if (!v.windows) return true;
  const t = time.getTime();
  return v.windows.some(
    (w) => (w.from === undefined || t >= w.from.getTime()) && (w.to === undefined || t <= w.to.getTime()),
  );
}
