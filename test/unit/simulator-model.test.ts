// The simulator's traffic model: deterministic from a seed, every identifier valid per the shared
// validators, events physically ordered per container, every risk profile present, no ACTUAL event
// in the future under the compressed clock.
import { describe, expect, it } from 'vitest';
import { anchorClock, wallTimeOf } from '../../bench/simulator/model/clock.js';
import { traffic } from '../../bench/simulator/model/day.js';
import type { SimItem } from '../../bench/simulator/model/types.js';
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
} from '../../proto/gen/portstream/v1/events.js';

const WALL_START = Date.UTC(2026, 10, 22, 12, 0, 0);
// A port day in two minutes.
const clock = anchorClock(WALL_START, 120_000, 720);
const day = (seed: number): SimItem[] => [
  ...traffic({ seed, simStartMs: clock.simStartMs, simSpanMs: clock.simSpanMs }),
];
const items = day(7);
const events = items.flatMap((i) => (i.kind === 'event' ? [i.event] : []));
const declarations = items.flatMap((i) => (i.kind === 'declaration' ? [i] : []));

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
      for (const c of d.containerNumbers) check(c, checkContainerNumber(c));
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
      if (types[0] === E.DISC) {
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

  it('gates imports out only after their declaration is cleared', () => {
    const declaredAt = new Map<string, number>();
    for (const d of declarations) for (const c of d.declaration.containerNumbers) declaredAt.set(c, d.at);
    for (const it of items) {
      if (it.kind !== 'event' || it.event.payload?.$case !== 'equipment') continue;
      const v = it.event.payload.value;
      if (v.type === E.GTOT && v.emptyIndicator === EmptyIndicator.LADEN) {
        const at = declaredAt.get(v.containerNumber);
        expect(at, v.containerNumber).toBeDefined();
        expect(it.at).toBeGreaterThan(at ?? Infinity);
      }
    }
  });

  it('puts the containers of arriving vessels on the manifest, and all three risk profiles appear', () => {
    const manifest = new Set(
      events.flatMap((e) =>
        e.payload?.$case === 'transport' ? e.payload.value.manifestContainerNumbers : [],
      ),
    );
    const discharged = events.flatMap((e) =>
      e.payload?.$case === 'equipment' && e.payload.value.type === E.DISC
        ? [e.payload.value.containerNumber]
        : [],
    );
    expect(discharged.every((c) => manifest.has(c))).toBe(true);
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
