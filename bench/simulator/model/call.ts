// One vessel call at a Hai Phong terminal: ETA updates, arrival, berthing, discharge of imports
// (each then cleared by customs and gated out, some stripped or moved in the yard first), gate-in and
// stuffing of exports that are loaded once cleared, unberthing and departure.
import type { VesselRef } from '../../../proto/gen/portstream/v1/common.js';
import { InspectionOutcome } from '../../../proto/gen/portstream/v1/customs.js';
import {
  EquipmentEventType as E,
  EventClassifier,
  TransportCallLocation as L,
  TransportEventType as T,
} from '../../../proto/gen/portstream/v1/events.js';
import type { YardPosition } from '../../../proto/gen/portstream/v1/events.js';
import type { Carrier, Terminal } from './catalog.js';
import { SIZE_TYPES } from './catalog.js';
import { buildDeclaration } from './customs.js';
import { equipment, transport } from './events.js';
import type { BoxState, Emitter } from './events.js';
import { containerNumber, declarationNumber, truckPlate } from './ids.js';
import type { Rng } from './prng.js';
import type { SimDeclarationItem, SimItem } from './types.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

export interface CallPlan {
  readonly index: number;
  readonly eta: number;
  readonly terminal: Terminal;
  readonly carrier: Carrier;
  readonly containers: number;
  /** Items before this instant are clamped to it (the start of the simulated day of the call). */
  readonly notBefore: number;
  readonly idPrefix: string;
  readonly brokerTaxCode: string;
  readonly knownTraders: readonly string[];
  /** Container numbers already used in the run: a box has one life per run, so per-box order holds. */
  readonly usedBoxes: Set<string>;
  nextDeclarationSerial(): number;
}

interface Ctx {
  readonly rng: Rng;
  readonly plan: CallPlan;
  readonly em: Emitter;
  readonly vessel: VesselRef;
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

/** Submits a declaration for boxes at `at`; returns when they are cleared, or undefined if held. */
function declare(
  ctx: Ctx,
  direction: 'import' | 'export',
  boxes: readonly BoxState[],
  at: number,
): number | undefined {
  const d = buildDeclaration(ctx.rng, {
    direction,
    number: declarationNumber(direction, ctx.plan.nextDeclarationSerial()),
    containers: boxes.map((b) => b.number),
    vessel: ctx.vessel,
    at,
    knownTraders: ctx.plan.knownTraders,
    brokerTaxCode: ctx.plan.brokerTaxCode,
  });
  ctx.declarations.push(d);
  if (d.risk === 'green') return at + ctx.rng.int(1, 5) * MIN;
  const cleared = at + d.inspectionDelayMs;
  if (d.risk === 'red') {
    for (const b of boxes) equipment(ctx.em, cleared - 30 * MIN, E.INSP, b, { yard: yard(ctx) });
  }
  return d.inspectionOutcome === InspectionOutcome.PASSED ? cleared : undefined;
}

function importFlow(ctx: Ctx, boxes: readonly BoxState[], discAt: readonly number[]): void {
  const r = ctx.rng;
  let i = 0;
  while (i < boxes.length) {
    const group = boxes.slice(i, i + r.int(1, 3));
    const lastDisc = discAt[i + group.length - 1] ?? 0;
    i += group.length;
    const empties = group.filter((b) => !b.laden);
    for (const b of empties)
      equipment(ctx.em, lastDisc + r.int(2, 10) * HOUR, E.GTOT, b, { truckPlate: truckPlate(r) });
    const laden = group.filter((b) => b.laden);
    if (laden.length === 0) continue;
    const cleared = declare(ctx, 'import', laden, lastDisc + r.int(10, 60) * MIN);
    for (const b of laden) {
      if (r.chance(0.2)) equipment(ctx.em, lastDisc + r.int(20, 50) * MIN, E.RMVD, b, { yard: yard(ctx) });
      if (cleared === undefined) continue;
      let out = cleared + r.int(60, 480) * MIN;
      if (r.chance(0.15)) {
        // Consolidated cargo is stripped at the CFS and the box leaves empty.
        equipment(ctx.em, out, E.STRP, b, { yard: yard(ctx) });
        b.laden = false;
        out += r.int(30, 120) * MIN;
      }
      equipment(ctx.em, out, E.GTOT, b, { truckPlate: truckPlate(r) });
    }
  }
}

export function vesselCall(rng: Rng, plan: CallPlan, vessel: VesselRef): SimItem[] {
  let seq = 0;
  const em: Emitter = {
    terminal: plan.terminal.code,
    out: [],
    nextId: () => `${plan.idPrefix}.c${plan.index}.${seq++}`,
  };
  const ctx: Ctx = { rng, plan, em, vessel, declarations: [] };
  const berth = rng.pick(plan.terminal.berths);
  const eta = plan.eta;
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
    if (!repositioned) {
      const cleared = declare(ctx, 'export', [box], readyAt + rng.int(5, 30) * MIN);
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
  const items: SimItem[] = [...em.out, ...ctx.declarations];
  return items.map((it) => (it.at >= plan.notBefore ? it : { ...it, at: plan.notBefore }));
}
