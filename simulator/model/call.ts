// One vessel call at a Hai Phong terminal: the carrier's cargo manifest filed before arrival, ETA updates,
// arrival, berthing, discharge of imports (each bill then declared by its consignee and cleared by customs, the
// box gated out, some stripped or moved in the yard first; LCL boxes carry several consignees' bills), of
// transshipment boxes (left in the yard for a later call at the terminal to load) and of empties, gate-in and
// stuffing of exports that are loaded once their shipper's declaration is cleared, loading of transshipment
// boxes discharged by earlier calls, unberthing and departure.
import type { VesselRef } from '../../proto/gen/portstream/v1/common.js';
import { InspectionOutcome } from '../../proto/gen/portstream/v1/customs.js';
import {
  EquipmentEventType as E,
  EventClassifier,
  TransportCallLocation as L,
  TransportEventType as T,
} from '../../proto/gen/portstream/v1/events.js';
import type { YardPosition } from '../../proto/gen/portstream/v1/events.js';
import { CargoFlow, type CargoLine, type Party } from '../../proto/gen/portstream/v1/manifest.js';
import type { Carrier, Terminal } from './catalog.js';
import { PARTNER_PORTS, PORT, SIZE_TYPES } from './catalog.js';
import { buildDeclaration, type Trader } from './customs.js';
import { equipment, transport } from './events.js';
import type { BoxState, Emitter } from './events.js';
import { containerNumber, declarationNumber, truckPlate } from './ids.js';
import { cargoLine, foreignParty, ManifestDraft, transitCargo, vietnameseParty } from './manifest.js';
import type { Rng } from './prng.js';
import type { SimDeclarationItem, SimItem } from './types.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

/** Transshipment boxes of one bill, discharged by a call and waiting in its terminal's yard for a vessel. */
export interface TransshipmentLot {
  readonly callId: string;
  readonly boxes: readonly BoxState[];
  /** When the last of them was discharged. */
  readonly dischargedAt: number;
  readonly shipper: Party;
  readonly consignee: Party;
  readonly portOfLoading: string;
  readonly portOfDischarge: string;
  readonly cargo: readonly CargoLine[];
}

export interface CallPlan {
  readonly index: number;
  readonly eta: number;
  readonly terminal: Terminal;
  readonly carrier: Carrier;
  readonly containers: number;
  /** Items before this instant are clamped to it (the start of the simulated day of the call). */
  readonly notBefore: number;
  readonly idPrefix: string;
  /** Unique to the run and call: the carrier's bill numbers of the call start with its code and this. */
  readonly billPrefix: string;
  readonly brokerTaxCode: string;
  /** Vietnamese traders of the day: consignees of imports, shippers of exports. */
  readonly knownTraders: readonly Trader[];
  /** Container numbers already used in the run: a box has one life per run, so per-box order holds. */
  readonly usedBoxes: Set<string>;
  /** Transshipment lots in each terminal's yard (by terminal code), left by earlier calls of the run. */
  readonly transshipments: Map<string, TransshipmentLot[]>;
  nextDeclarationSerial(): number;
}

interface Ctx {
  readonly rng: Rng;
  readonly plan: CallPlan;
  readonly em: Emitter;
  readonly vessel: VesselRef;
  readonly callId: string;
  readonly manifest: ManifestDraft;
  readonly declarations: SimDeclarationItem[];
}

function yard(ctx: Ctx): YardPosition {
  const r = ctx.rng;
  return { block: r.pick(ctx.plan.terminal.blocks), bay: r.int(1, 40), row: r.int(1, 8), tier: r.int(1, 5) };
}

function newBox(ctx: Ctx, laden: boolean): BoxState {
  const r = ctx.rng;
  const sizeType = r.pick(SIZE_TYPES);
  let number = containerNumber(r, r.pick(ctx.plan.carrier.prefixes));
  while (ctx.plan.usedBoxes.has(number)) number = containerNumber(r, r.pick(ctx.plan.carrier.prefixes));
  ctx.plan.usedBoxes.add(number);
  return {
    number,
    sizeType,
    laden,
    seal: laden ? `${ctx.plan.carrier.prefixes[0] ?? 'SL'}${r.int(100_000, 999_999)}` : '',
  };
}

/** `n` different traders of the day (an LCL box's consignees are different firms). */
function traders(ctx: Ctx, n: number): Trader[] {
  const pool = [...ctx.plan.knownTraders];
  const out: Trader[] = [];
  while (out.length < n && pool.length > 0)
    out.push(pool.splice(ctx.rng.int(0, pool.length - 1), 1)[0] as Trader);
  return out;
}

/**
 * The trader's bill for `boxes` on the call's manifest, and its declaration submitted at `at`; returns when
 * customs clears it, or undefined if it is held.
 */
function declareBill(
  ctx: Ctx,
  direction: 'import' | 'export',
  boxes: readonly BoxState[],
  trader: Trader,
  at: number,
): number | undefined {
  const imp = direction === 'import';
  const bill = ctx.manifest.reserve();
  const item = buildDeclaration(ctx.rng, {
    direction,
    number: declarationNumber(direction, ctx.plan.nextDeclarationSerial()),
    bills: [bill],
    callIds: [ctx.callId],
    vessel: ctx.vessel,
    at,
    trader,
    knownTraders: ctx.plan.knownTraders.map((t) => t.taxCode),
    brokerTaxCode: ctx.plan.brokerTaxCode,
  });
  const d = item.declaration;
  // The declared trader (a first-time declarant is a new firm) is the bill's consignee or shipper.
  const own = vietnameseParty({ taxCode: d.traderTaxCode, name: d.traderName });
  const abroad = foreignParty(ctx.rng, (imp ? d.portOfLoading : d.portOfDischarge).slice(0, 2));
  ctx.manifest.add(bill, {
    flow: imp ? CargoFlow.IMPORT : CargoFlow.EXPORT,
    shipper: imp ? abroad : own,
    consignee: imp ? own : abroad,
    portOfLoading: d.portOfLoading,
    portOfDischarge: d.portOfDischarge,
    boxes,
    cargo: d.goods.map((g) => cargoLine(ctx.rng, g)),
  });
  ctx.declarations.push(item);
  if (item.risk === 'green') return at + ctx.rng.int(1, 5) * MIN;
  const cleared = at + item.inspectionDelayMs;
  if (item.risk === 'red') {
    for (const b of boxes) equipment(ctx.em, cleared - 30 * MIN, E.INSP, b, { yard: yard(ctx) });
  }
  return item.inspectionOutcome === InspectionOutcome.PASSED ? cleared : undefined;
}

/** Transshipment boxes stay in the yard: on a bill from one foreign port to another, for a later vessel. */
function transship(ctx: Ctx, boxes: readonly BoxState[], dischargedAt: number): void {
  const r = ctx.rng;
  const from = r.pick(PARTNER_PORTS);
  const onward = PARTNER_PORTS.filter((p) => p.locode !== from.locode);
  const to = r.pick(onward);
  const lot: TransshipmentLot = {
    callId: ctx.callId,
    boxes,
    dischargedAt,
    shipper: foreignParty(r, from.country),
    consignee: foreignParty(r, to.country),
    portOfLoading: from.locode,
    portOfDischarge: to.locode,
    cargo: [transitCargo(r)],
  };
  ctx.manifest.add(ctx.manifest.reserve(), { ...lot, flow: CargoFlow.TRANSSHIPMENT });
  const waiting = ctx.plan.transshipments.get(ctx.plan.terminal.code) ?? [];
  waiting.push(lot);
  ctx.plan.transshipments.set(ctx.plan.terminal.code, waiting);
}

function importFlow(ctx: Ctx, boxes: readonly BoxState[], discAt: readonly number[]): void {
  const r = ctx.rng;
  let i = 0;
  while (i < boxes.length) {
    const group = boxes.slice(i, i + r.int(1, 3));
    const lastDisc = discAt[i + group.length - 1] ?? 0;
    i += group.length;
    const empties = group.filter((b) => !b.laden);
    for (const b of empties) {
      ctx.manifest.addEmpty(b);
      equipment(ctx.em, lastDisc + r.int(2, 10) * HOUR, E.GTOT, b, { truckPlate: truckPlate(r) });
    }
    const laden = group.filter((b) => b.laden);
    if (laden.length === 0) continue;
    if (r.chance(0.08)) {
      transship(ctx, laden, lastDisc);
      continue;
    }
    // Less than a container load: one box carries the bills of two or three consignees, each declaring its own.
    const lcl = laden.length === 1 && r.chance(0.25);
    const consignees = traders(ctx, lcl ? r.int(2, 3) : 1);
    let cleared: number | undefined = 0;
    for (const c of consignees) {
      const t = declareBill(ctx, 'import', laden, c, lastDisc + r.int(10, 60) * MIN);
      cleared = t === undefined || cleared === undefined ? undefined : Math.max(cleared, t);
    }
    for (const b of laden) {
      if (r.chance(0.2)) equipment(ctx.em, lastDisc + r.int(20, 50) * MIN, E.RMVD, b, { yard: yard(ctx) });
      // Released only when every bill in it is cleared.
      if (cleared === undefined) continue;
      let out = cleared + r.int(60, 480) * MIN;
      if (lcl || r.chance(0.15)) {
        // Consolidated cargo is stripped at the CFS and the box leaves empty.
        equipment(ctx.em, out, E.STRP, b, { yard: yard(ctx) });
        b.laden = false;
        out += r.int(30, 120) * MIN;
      }
      equipment(ctx.em, out, E.GTOT, b, { truckPlate: truckPlate(r) });
    }
  }
}

/** Transshipment lots in this terminal's yard from earlier calls, discharged in time to be loaded from `at`. */
function takeTransshipments(ctx: Ctx, at: number): TransshipmentLot[] {
  const waiting = ctx.plan.transshipments.get(ctx.plan.terminal.code) ?? [];
  // Oldest first, and on average about as many as a call leaves, so the yard's waiting lots stay few in a long run.
  const max = ctx.rng.int(3, 8);
  const taken: TransshipmentLot[] = [];
  for (const lot of waiting) {
    if (taken.length >= max) break;
    if (lot.callId !== ctx.callId && lot.dischargedAt + 2 * HOUR <= at) taken.push(lot);
  }
  ctx.plan.transshipments.set(
    ctx.plan.terminal.code,
    waiting.filter((l) => !taken.includes(l)),
  );
  return taken;
}

export function callId(terminal: string, vessel: VesselRef): string {
  return `${PORT}-${terminal}-${vessel.imoNumber}-${vessel.voyage}`;
}

export function vesselCall(rng: Rng, plan: CallPlan, vessel: VesselRef): SimItem[] {
  let seq = 0;
  const em: Emitter = {
    terminal: plan.terminal.code,
    out: [],
    nextId: () => `${plan.idPrefix}.c${plan.index}.${seq++}`,
  };
  const id = callId(plan.terminal.code, vessel);
  const manifest = new ManifestDraft(
    plan.carrier.code,
    { unLocode: PORT, terminalCode: plan.terminal.code },
    vessel,
    plan.billPrefix,
  );
  const ctx: Ctx = { rng, plan, em, vessel, callId: id, manifest, declarations: [] };
  const berth = rng.pick(plan.terminal.berths);
  const eta = plan.eta;
  // The carrier files the manifest 14-30 h before arrival: before the exporters, whose boxes gate in up to 13 h
  // before it, declare their bills (a bill is declared against the manifest holding it).
  const filedAt = eta - rng.int(14, 30) * HOUR;
  for (const before of [24, 12, 4]) {
    transport(em, eta - before * HOUR, EventClassifier.ESTIMATED, eta + rng.int(-90, 90) * MIN, vessel, {
      type: T.ARRI,
      location: L.PORT,
      berth,
    });
  }
  const nDisc = Math.round(plan.containers * (0.4 + rng.next() * 0.2));
  const imports = Array.from({ length: nDisc }, () => newBox(ctx, rng.chance(0.88)));
  transport(em, eta, EventClassifier.ACTUAL, eta, vessel, {
    type: T.ARRI,
    location: L.PORT,
    berth,
    manifest: imports.map((b) => b.number),
  });
  const berthed = eta + rng.int(60, 150) * MIN;
  transport(em, berthed, EventClassifier.ACTUAL, berthed, vessel, { type: T.ARRI, location: L.BERTH, berth });
  // Two or three quay cranes working in parallel: a move every 40-90 s overall.
  let t = berthed + 30 * MIN;
  const discAt = imports.map((b) => {
    t += rng.int(40, 90) * 1000;
    equipment(em, t, E.DISC, b, { vessel, yard: yard(ctx) });
    return t;
  });
  importFlow(ctx, imports, discAt);
  let loadT = t + 15 * MIN;
  const loadReady: { box: BoxState; ready: number }[] = [];
  for (const lot of takeTransshipments(ctx, loadT)) {
    // On the on-carrier's manifest too, under its own bill number (a bill number is on one manifest).
    manifest.add(manifest.reserve(), { ...lot, flow: CargoFlow.TRANSSHIPMENT });
    for (const box of lot.boxes) loadReady.push({ box, ready: loadT });
  }
  for (let i = 0; i < plan.containers - nDisc; i++) {
    const stuffed = rng.chance(0.2);
    const repositioned = !stuffed && rng.chance(0.08);
    const box = newBox(ctx, !stuffed && !repositioned);
    const gtin = Math.max(plan.notBefore, eta - rng.int(1, 12) * HOUR - rng.int(0, 59) * MIN);
    equipment(em, gtin, E.GTIN, box, { truckPlate: truckPlate(rng), yard: yard(ctx) });
    let readyAt = gtin + 5 * MIN;
    if (stuffed) {
      readyAt = gtin + rng.int(60, 180) * MIN;
      box.laden = true;
      box.seal = `${plan.carrier.prefixes[0] ?? 'SL'}${rng.int(100_000, 999_999)}`;
      equipment(em, readyAt, E.STUF, box, { yard: yard(ctx) });
    }
    if (repositioned) manifest.addEmpty(box);
    else {
      const shipper = rng.pick(plan.knownTraders);
      const cleared = declareBill(ctx, 'export', [box], shipper, readyAt + rng.int(5, 30) * MIN);
      if (cleared === undefined) continue; // held by customs: shut out of this voyage
      readyAt = cleared;
    }
    loadReady.push({ box, ready: readyAt });
  }
  for (const { box, ready } of loadReady.sort((a, b) => a.ready - b.ready)) {
    loadT = Math.max(loadT, ready + 10 * MIN) + rng.int(40, 90) * 1000;
    equipment(em, loadT, E.LOAD, box, { vessel });
  }
  const planned = berthed + 14 * HOUR;
  transport(em, berthed, EventClassifier.PLANNED, planned, vessel, {
    type: T.DEPA,
    location: L.BERTH,
    berth,
  });
  const unberth = Math.max(planned, loadT) + rng.int(30, 60) * MIN;
  transport(em, unberth, EventClassifier.ACTUAL, unberth, vessel, { type: T.DEPA, location: L.BERTH, berth });
  const leave = unberth + rng.int(60, 120) * MIN;
  transport(em, leave, EventClassifier.ACTUAL, leave, vessel, { type: T.DEPA, location: L.PORT, berth });
  const filing: SimItem[] = manifest.isEmpty
    ? []
    : [{ kind: 'manifest', at: filedAt, callId: id, manifest: manifest.build() }];
  const items: SimItem[] = [...filing, ...em.out, ...ctx.declarations];
  return items.map((it) => (it.at >= plan.notBefore ? it : { ...it, at: plan.notBefore }));
}
