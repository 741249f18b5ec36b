// The simulator's traffic model: deterministic from a seed, every identifier valid per the shared
// validators, manifests valid and filed before arrival and before any declaration of their bills, the declaring
// trader the party of its bills, LCL and transshipment boxes in a day, events physically ordered per container,
// every risk profile present, no ACTUAL event in the future under the compressed clock.
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CARRIERS, DEV_FIRM } from '../../simulator/model/catalog.js';
import { anchorClock, wallTimeOf } from '../../simulator/model/clock.js';
import { traffic } from '../../simulator/model/day.js';
import type { SimItem } from '../../simulator/model/types.js';
import { DEV_CARRIER_CODES, ensureDevTokens, tokensFileSchema } from '../../core/auth/tokens.js';
import { callIdOf } from '../../core/state/shipment.js';
import { checkManifest } from '../../core/validation/manifest.js';
import {
  checkContainerNumber,
  checkDeclarationNumber,
  checkHsCode,
  checkImoNumber,
  checkSizeTypeCode,
  checkTaxCode,
  checkUnLocode,
  declarationDirection,
} from '../../core/identifiers/index.js';
import { checkDeclaration } from '../../core/validation/declaration.js';
import { validateEvent } from '../../core/validation/event.js';
import { DeclarationType } from '../../proto/gen/portstream/v1/customs.js';
import {
  EmptyIndicator,
  EquipmentEventType as E,
  EventClassifier,
  TransportCallLocation,
  TransportEventType,
} from '../../proto/gen/portstream/v1/events.js';
import { CargoFlow, type BillOfLading } from '../../proto/gen/portstream/v1/manifest.js';

const WALL_START = Date.UTC(2026, 10, 22, 12, 0, 0);
// A port day in two minutes.
const clock = anchorClock(WALL_START, 120_000, 720);
const day = (seed: number): SimItem[] => [
  ...traffic({ seed, simStartMs: clock.simStartMs, simSpanMs: clock.simSpanMs }),
];
const items = day(7);
const events = items.flatMap((i) => (i.kind === 'event' ? [i.event] : []));
const declarations = items.flatMap((i) => (i.kind === 'declaration' ? [i] : []));
const manifests = items.flatMap((i) => (i.kind === 'manifest' ? [i] : []));
const bills = new Map<string, { bill: BillOfLading; callId: string; at: number; index: number }>();
for (const m of manifests) {
  for (const bill of m.manifest.bills)
    bills.set(bill.billNumber, { bill, callId: m.callId, at: m.at, index: items.indexOf(m) });
}
/** Bills on manifests carrying each container. */
const billsOf = new Map<string, BillOfLading[]>();
for (const { bill } of bills.values()) {
  for (const c of bill.containers)
    billsOf.set(c.containerNumber, [...(billsOf.get(c.containerNumber) ?? []), bill]);
}
const transshipped = new Set(
  [...billsOf].filter(([, bs]) => bs.some((b) => b.flow === CargoFlow.TRANSSHIPMENT)).map(([c]) => c),
);

describe('simulator traffic model', () => {
  it('is deterministic from the seed', () => {
    expect(day(7)).toEqual(items);
    const other = day(8);
    expect(other.map((i) => (i.kind === 'event' ? i.event.eventId : ''))).not.toEqual(
      items.map((i) => (i.kind === 'event' ? i.event.eventId : '')),
    );
    expect(JSON.stringify(other)).not.toEqual(JSON.stringify(items));
  });

  it('produces a busy day in release order with unique event ids', () => {
    expect(events.length).toBeGreaterThan(3000);
    const at = items.map((i) => i.at);
    expect(at).toEqual([...at].sort((a, b) => a - b));
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
    expect(new Set(declarations.map((d) => d.declaration.declarationNumber)).size).toBe(declarations.length);
  });

  it('generates only valid identifiers', () => {
    const problems: string[] = [];
    const check = (what: string, r: string | undefined): void => {
      if (r !== undefined) problems.push(`${what}: ${r}`);
    };
    for (const e of events) {
      check(e.facility?.unLocode ?? '', checkUnLocode(e.facility?.unLocode ?? ''));
      const p = e.payload;
      if (p?.$case === 'equipment') {
        check(p.value.containerNumber, checkContainerNumber(p.value.containerNumber));
        check(p.value.isoSizeType, checkSizeTypeCode(p.value.isoSizeType));
        if (p.value.truckPlate !== '') expect(p.value.truckPlate).toMatch(/^1[56][CR]-\d{3}\.\d{2}$/);
      } else if (p?.$case === 'transport') {
        check(p.value.vessel?.imoNumber ?? '', checkImoNumber(p.value.vessel?.imoNumber ?? ''));
        for (const c of p.value.manifestContainerNumbers) check(c, checkContainerNumber(c));
      }
    }
    for (const { declaration: d } of declarations) {
      check(d.declarationNumber, checkDeclarationNumber(d.declarationNumber));
      expect(declarationDirection(d.declarationNumber)).toBe(
        d.type === DeclarationType.IMPORT ? 'import' : 'export',
      );
      check(d.declarantTaxCode, checkTaxCode(d.declarantTaxCode));
      check(d.traderTaxCode, checkTaxCode(d.traderTaxCode));
      check(d.portOfLoading, checkUnLocode(d.portOfLoading));
      check(d.portOfDischarge, checkUnLocode(d.portOfDischarge));
      check(d.vessel?.imoNumber ?? '', checkImoNumber(d.vessel?.imoNumber ?? ''));
      // Declarations name bills; the gateway takes their containers from the manifest.
      expect(d.containerNumbers).toEqual([]);
      expect(d.billNumbers.length).toBeGreaterThan(0);
      for (const g of d.goods) check(g.hsCode, checkHsCode(g.hsCode));
    }
    expect(problems.slice(0, 10)).toEqual([]);
    // The customs service's own validation (written alongside) must accept every declaration too.
    expect(
      declarations
        .map((d) => checkDeclaration(d.declaration))
        .filter(Boolean)
        .slice(0, 5),
    ).toEqual([]);
  });

  it('passes the gateway validation at the wall time each event is sent', () => {
    const limits = { maxFutureSkewMs: 0, maxPlanAheadMs: 7 * 86_400_000, maxAgeMs: 30 * 86_400_000 };
    for (const it of items) {
      if (it.kind !== 'event') continue;
      const sentAt = wallTimeOf(clock, it.at);
      expect(validateEvent(it.event, sentAt, limits)).toBeUndefined();
      if (it.event.classifier === EventClassifier.ACTUAL) {
        expect(it.event.eventTime?.getTime()).toBeLessThanOrEqual(sentAt);
      }
    }
  });

  it('orders each container physically', () => {
    const seen = new Map<string, E[]>();
    for (const e of events) {
      if (e.payload?.$case !== 'equipment') continue;
      const list = seen.get(e.payload.value.containerNumber) ?? [];
      list.push(e.payload.value.type);
      seen.set(e.payload.value.containerNumber, list);
    }
    let imports = 0;
    let exports = 0;
    for (const [box, types] of seen) {
      const at = (t: E): number => types.indexOf(t);
      if (types[0] === E.DISC && transshipped.has(box)) {
        // Discharged by one call and loaded by a later one, never through the gate.
        expect(at(E.GTOT), box).toBe(-1);
        expect(at(E.GTIN), box).toBe(-1);
        if (at(E.LOAD) !== -1) expect(at(E.LOAD), box).toBe(types.length - 1);
      } else if (types[0] === E.DISC) {
        imports++;
        expect(at(E.LOAD), box).toBe(-1);
        expect(at(E.GTIN), box).toBe(-1);
        if (at(E.GTOT) !== -1) expect(at(E.GTOT), box).toBe(types.length - 1);
        if (at(E.STRP) !== -1)
          expect(at(E.STRP), box).toBeLessThan(at(E.GTOT) === -1 ? Infinity : at(E.GTOT));
      } else {
        // Exports whose gate-in fell before the run may start later, but never LOAD before GTIN.
        if (at(E.GTIN) !== -1) {
          exports++;
          expect(at(E.GTIN), box).toBe(0);
        }
        if (at(E.LOAD) !== -1) expect(at(E.LOAD), box).toBe(types.length - 1);
        if (at(E.STUF) !== -1 && at(E.LOAD) !== -1) expect(at(E.STUF)).toBeLessThan(at(E.LOAD));
      }
    }
    expect(imports).toBeGreaterThan(100);
    expect(exports).toBeGreaterThan(100);
  });

  it('gates imports out only after every bill in them is declared', () => {
    const declaredAt = new Map<string, number>();
    for (const d of declarations) for (const b of d.declaration.billNumbers) declaredAt.set(b, d.at);
    let checked = 0;
    for (const it of items) {
      if (it.kind !== 'event' || it.event.payload?.$case !== 'equipment') continue;
      const v = it.event.payload.value;
      const imported = (billsOf.get(v.containerNumber) ?? []).filter((b) => b.flow === CargoFlow.IMPORT);
      if (v.type !== E.GTOT || imported.length === 0) continue;
      checked++;
      for (const b of imported) {
        const at = declaredAt.get(b.billNumber);
        expect(at, `${v.containerNumber} ${b.billNumber}`).toBeDefined();
        expect(it.at).toBeGreaterThan(at ?? Infinity);
      }
    }
    expect(checked).toBeGreaterThan(100);
    // A laden box that gates out came in on an import bill.
    for (const e of events) {
      const v = e.payload?.$case === 'equipment' ? e.payload.value : undefined;
      if (v?.type === E.GTOT && v.emptyIndicator === EmptyIndicator.LADEN) {
        expect(billsOf.get(v.containerNumber)?.[0]?.flow, v.containerNumber).toBe(CargoFlow.IMPORT);
      }
    }
  });

  it('files a valid manifest for each call, as one of the carrier codes `up` gives its carrier token', () => {
    expect(CARRIERS.map((c) => c.code).filter((c) => !DEV_CARRIER_CODES.includes(c))).toEqual([]);
    expect(manifests.length).toBe(14);
    expect(manifests.map((m) => checkManifest(m.manifest)).filter(Boolean)).toEqual([]);
    for (const m of manifests) {
      expect(m.callId).toBe(callIdOf(m.manifest.facility, m.manifest.vessel));
      expect(DEV_CARRIER_CODES).toContain(m.manifest.carrierCode);
    }
    expect(new Set(manifests.map((m) => m.callId)).size).toBe(manifests.length);
    const numbers = manifests.flatMap((m) => m.manifest.bills.map((b) => b.billNumber));
    expect(new Set(numbers).size).toBe(numbers.length);
    // Another run (another seed) files other calls and bill numbers: the port refuses a bill another manifest holds.
    const otherBills = new Set(
      day(8).flatMap((i) => (i.kind === 'manifest' ? i.manifest.bills.map((b) => b.billNumber) : [])),
    );
    expect(numbers.filter((n) => otherBills.has(n))).toEqual([]);
    expect(manifests.some((m) => m.manifest.emptyContainers.length > 0)).toBe(true);
  });

  it("gives up's firm token bills of its own", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sim-tokens-'));
    try {
      const file = path.join(dir, 'tokens.json');
      await ensureDevTokens(file);
      const tokens = tokensFileSchema.parse(JSON.parse(await readFile(file, 'utf8'))).tokens;
      expect(tokens.find((t) => t.role === 'firm')?.tax_codes).toContain(DEV_FIRM.taxCode);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const own = [...bills.values()].filter(
      ({ bill }) =>
        bill.consignee?.taxCode === DEV_FIRM.taxCode || bill.shipper?.taxCode === DEV_FIRM.taxCode,
    );
    expect(own.length).toBeGreaterThan(10);
  });

  it('files each manifest before its vessel arrives', () => {
    const arrival = new Map<string, number>();
    for (const it of items) {
      const p =
        it.kind === 'event' && it.event.payload?.$case === 'transport' ? it.event.payload.value : undefined;
      if (
        p?.type === TransportEventType.ARRI &&
        p.location === TransportCallLocation.PORT &&
        it.kind === 'event' &&
        it.event.classifier === EventClassifier.ACTUAL
      ) {
        arrival.set(callIdOf(it.event.facility, p.vessel) ?? '', it.at);
      }
    }
    for (const m of manifests) {
      expect(arrival.get(m.callId), m.callId).toBeDefined();
      expect(m.at, m.callId).toBeLessThan(arrival.get(m.callId) ?? -Infinity);
    }
  });

  it('declares only bills on a manifest filed before, by their consignee or shipper', () => {
    for (const d of declarations) {
      const decl = d.declaration;
      const named = decl.billNumbers.filter((b) => !d.unmanifestedBills.includes(b));
      expect(named.length, decl.declarationNumber).toBeGreaterThan(0);
      for (const n of named) {
        const filed = bills.get(n);
        expect(filed, `${decl.declarationNumber} ${n}`).toBeDefined();
        if (!filed) continue;
        // Released earlier in the stream (the driver also waits for the filing's answer).
        expect(filed.index).toBeLessThan(items.indexOf(d));
        expect(filed.at).toBeLessThanOrEqual(d.at);
        expect(d.callIds).toContain(filed.callId);
        const imp = decl.type === DeclarationType.IMPORT;
        expect(filed.bill.flow).toBe(imp ? CargoFlow.IMPORT : CargoFlow.EXPORT);
        const party = imp ? filed.bill.consignee : filed.bill.shipper;
        expect(party?.taxCode, `${decl.declarationNumber} ${n}`).toBe(decl.traderTaxCode);
        expect(party?.countryCode).toBe('VN');
      }
    }
    // The "cargo not manifested" risk names a bill no manifest holds.
    const unmanifested = declarations.flatMap((d) => d.unmanifestedBills);
    expect(unmanifested.length).toBeGreaterThan(3);
    for (const n of unmanifested) expect(bills.has(n)).toBe(false);
    // Import and export bills are declared (but for those of calls cut off by the end of the run).
    const declared = new Set(declarations.flatMap((d) => d.declaration.billNumbers));
    const trade = [...bills.values()].filter(({ bill }) => bill.flow !== CargoFlow.TRANSSHIPMENT);
    const undeclared = trade.filter(({ bill }) => !declared.has(bill.billNumber));
    expect(undeclared.length / trade.length).toBeLessThan(0.2);
  });

  it("has LCL boxes: several consignees' bills, each declared by its own consignee", () => {
    const lcl = [...billsOf].filter(([, bs]) => bs.filter((b) => b.flow === CargoFlow.IMPORT).length > 1);
    expect(lcl.length).toBeGreaterThan(10);
    const declarationOf = new Map<string, string>();
    for (const d of declarations) {
      for (const b of d.declaration.billNumbers) declarationOf.set(b, d.declaration.traderTaxCode);
    }
    let fully = 0;
    for (const [box, bs] of lcl) {
      expect(bs.length, box).toBeLessThanOrEqual(3);
      const consignees = bs.map((b) => b.consignee?.taxCode);
      expect(new Set(consignees).size, box).toBe(bs.length);
      const declared = bs.filter((b) => declarationOf.has(b.billNumber));
      // All of them, but for boxes of calls cut off by the end of the run.
      if (declared.length === bs.length) fully++;
      for (const b of declared) expect(declarationOf.get(b.billNumber)).toBe(b.consignee?.taxCode);
    }
    expect(fully).toBeGreaterThan(10);
  });

  it('has transshipment boxes: discharged by one call, loaded by a later call at the same terminal', () => {
    const tsCalls = new Map<string, Set<string>>();
    for (const { bill, callId } of bills.values()) {
      if (bill.flow !== CargoFlow.TRANSSHIPMENT) continue;
      expect(bill.portOfLoading).not.toBe('VNHPH');
      expect(bill.portOfDischarge).not.toBe('VNHPH');
      for (const c of bill.containers) {
        tsCalls.set(c.containerNumber, new Set([...(tsCalls.get(c.containerNumber) ?? []), callId]));
      }
    }
    const moved = new Map<string, { type: E; call: string }[]>();
    for (const e of events) {
      if (e.payload?.$case !== 'equipment') continue;
      const v = e.payload.value;
      const call = v.vessel ? (callIdOf(e.facility, v.vessel) ?? '') : '';
      moved.set(v.containerNumber, [...(moved.get(v.containerNumber) ?? []), { type: v.type, call }]);
    }
    let loaded = 0;
    for (const [box, calls] of tsCalls) {
      // Only transshipment bills carry it.
      expect((billsOf.get(box) ?? []).every((b) => b.flow === CargoFlow.TRANSSHIPMENT)).toBe(true);
      const disc = moved.get(box)?.find((x) => x.type === E.DISC);
      const load = moved.get(box)?.find((x) => x.type === E.LOAD);
      if (disc) expect(calls.has(disc.call), box).toBe(true);
      if (!disc || !load) continue; // the run ended before
      loaded++;
      // On the manifests of both calls; the same terminal ("<locode>-<terminal>-<IMO>-<voyage>").
      expect([...calls].sort(), box).toEqual([disc.call, load.call].sort());
      expect(load.call).not.toBe(disc.call);
      expect(load.call.split('-')[1]).toBe(disc.call.split('-')[1]);
    }
    expect(loaded).toBeGreaterThan(5);
    // No declaration names a transshipment bill.
    const declared = new Set(declarations.flatMap((d) => d.declaration.billNumbers));
    for (const { bill } of bills.values()) {
      if (bill.flow === CargoFlow.TRANSSHIPMENT) expect(declared.has(bill.billNumber)).toBe(false);
    }
  });

  it('puts every container a vessel discharges or loads on its manifest, and all three risk profiles appear', () => {
    const listed = new Set(
      manifests.flatMap((m) => [
        ...m.manifest.bills.flatMap((b) => b.containers.map((c) => `${m.callId} ${c.containerNumber}`)),
        ...m.manifest.emptyContainers.map((c) => `${m.callId} ${c.containerNumber}`),
      ]),
    );
    const moved = events.flatMap((e) =>
      e.payload?.$case === 'equipment' && (e.payload.value.type === E.DISC || e.payload.value.type === E.LOAD)
        ? [`${callIdOf(e.facility, e.payload.value.vessel) ?? ''} ${e.payload.value.containerNumber}`]
        : [],
    );
    expect(moved.length).toBeGreaterThan(1000);
    expect(moved.filter((c) => !listed.has(c))).toEqual([]);
    // The terminal's own list on arrival (kept for the vessel visit's count) is what the vessel discharges.
    const operatorList = new Set(
      events.flatMap((e) =>
        e.payload?.$case === 'transport' ? e.payload.value.manifestContainerNumbers : [],
      ),
    );
    const discharged = events.flatMap((e) =>
      e.payload?.$case === 'equipment' && e.payload.value.type === E.DISC
        ? [e.payload.value.containerNumber]
        : [],
    );
    expect(discharged.every((c) => operatorList.has(c))).toBe(true);
    const byRisk = new Map<string, number>();
    for (const d of declarations) byRisk.set(d.risk, (byRisk.get(d.risk) ?? 0) + 1);
    expect(byRisk.get('green')).toBeGreaterThan(byRisk.get('yellow') ?? 0);
    expect(byRisk.get('yellow')).toBeGreaterThan(10);
    expect(byRisk.get('red')).toBeGreaterThan(10);
    const chapters = new Set(
      declarations.flatMap((d) => d.declaration.goods.map((g) => g.hsCode.slice(0, 2))),
    );
    for (const c of ['93', '29', '24']) expect(chapters.has(c)).toBe(true);
  });
});
