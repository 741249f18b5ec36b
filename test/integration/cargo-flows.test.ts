// An import, an export, an LCL and a transshipment container played end to end through the public APIs against
// the real services: the carrier files the manifests, the terminal reports the moves, the consignees and
// shippers declare their bills, customs decides; after each step the release and what blocks it are asserted,
// as the parties see them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClearanceStatus,
  DeclarationType,
  InspectionOutcome,
} from '../../proto/gen/portstream/v1/customs.js';
import { EquipmentEventType } from '../../proto/gen/portstream/v1/events.js';
import { CargoFlow } from '../../proto/gen/portstream/v1/manifest.js';
import { ContainerLocation, CustomsStatus } from '../../proto/gen/portstream/v1/tracking.js';
import { numberSequence, sampleDeclaration, type Kind } from '../helpers/declarations.js';
import { containerNumber } from '../../test-kit/events.js';
import {
  bill,
  callIdOf,
  FIRM_A,
  FIRM_B,
  manifest,
  party,
  VESSEL_IN,
  VESSEL_OUT,
} from '../helpers/manifests.js';
import { unary } from '../helpers/rpc.js';
import {
  allAccepted,
  move,
  startPartiesFixture,
  type Party,
  type PartiesFixture,
} from './parties-fixture.js';

const importNumber = numberSequence(108700000000);
/** The broker's own tax code (test-kit/auth.ts): it declares as itself for the party it acts for. */
const BROKER = '0101243150';
const exportNumber = numberSequence(308700000000);

describe('cargo flows end to end', () => {
  let fx: PartiesFixture;
  const FCL = containerNumber('HLX', 100_001);
  const LCL = containerNumber('HLX', 100_002);
  const TSP = containerNumber('HLX', 100_003);
  const EXP = containerNumber('HLX', 100_004);
  const EMPTY = containerNumber('HLX', 100_005);

  /** Declares the bills as the party; whatever channel the rules give, customs passes it to clearance. */
  const clear = async (
    party: Party,
    bills: string[],
    trader: string,
    type = DeclarationType.IMPORT,
    kind: Kind = 'green',
    declarant = trader,
  ): Promise<string> => {
    const no = type === DeclarationType.IMPORT ? importNumber() : exportNumber();
    const r = await fx.declare(
      party,
      sampleDeclaration(kind, no, {
        type,
        declarantTaxCode: declarant,
        traderTaxCode: trader,
        billNumbers: bills,
        portOfLoading: type === DeclarationType.EXPORT ? 'VNHPH' : 'CNSHA',
        portOfDischarge: type === DeclarationType.EXPORT ? 'USLAX' : 'VNHPH',
      }),
    );
    return r.declarationNumber;
  };
  const pass = async (no: string): Promise<void> => {
    const c = fx.as('customs').customs;
    const got = await unary(c.getDeclaration.bind(c), { declarationNumber: no });
    if (got.status === ClearanceStatus.CLEARED) return;
    await unary(c.recordInspectionResult.bind(c), {
      declarationNumber: no,
      outcome: InspectionOutcome.PASSED,
      inspector: 'HP customs team 3',
      remarks: '',
    });
  };

  beforeAll(async () => {
    fx = await startPartiesFixture();
    await fx.file(
      'carrier',
      manifest(
        'HLCU',
        VESSEL_IN,
        [
          bill('HLCUHPH1000001', CargoFlow.IMPORT, [FCL], { consignee: party(FIRM_A) }),
          bill('HLCUHPH1000002', CargoFlow.IMPORT, [LCL], { consignee: party(FIRM_A) }),
          bill('HLCUHPH1000003', CargoFlow.IMPORT, [LCL], { consignee: party(FIRM_B) }),
          bill('HLCUHPH1000004', CargoFlow.TRANSSHIPMENT, [TSP]),
        ],
        [EMPTY],
      ),
    );
    await fx.file(
      'carrier',
      manifest('HLCU', VESSEL_OUT, [
        bill('HLCUHPH2000001', CargoFlow.EXPORT, [EXP], { shipper: party(FIRM_A) }),
        bill('HLCUHPH2000002', CargoFlow.TRANSSHIPMENT, [TSP]),
      ]),
    );
  }, 120_000);
  afterAll(async () => {
    await fx.close();
  });

  it('an import: manifest, discharge, declaration, clearance, gate-out', async () => {
    let s = await fx.until(FCL, (x) => x.flow === CargoFlow.IMPORT, 'on the manifest');
    expect(s.released).toBe(false);
    expect(s.releaseBlocker).toBe('not discharged yet from EVER GIVEN voyage 2346W');
    expect(s.callId).toBe(callIdOf(VESSEL_IN));
    // The consignee sees what the manifest says before the box arrives.
    const before = await fx.status('firm', FCL);
    expect(before.billNumbers).toEqual(['HLCUHPH1000001']);
    expect(before.location).toBe(ContainerLocation.UNSPECIFIED);

    expect(
      allAccepted(await fx.publish('operator', [move(EquipmentEventType.DISC, FCL, { vessel: VESSEL_IN })])),
    ).toBe(true);
    s = await fx.until(FCL, (x) => x.location === ContainerLocation.IN_YARD, 'discharged');
    expect(s.releaseBlocker).toBe('bill HLCUHPH1000001: no customs declaration yet');
    expect(s.customsStatus).toBe(CustomsStatus.NO_DECLARATION);

    const no = await clear('firm', ['HLCUHPH1000001'], FIRM_A);
    await pass(no);
    s = await fx.until(FCL, (x) => x.released, 'released');
    expect(s.releaseBlocker).toBe('');
    expect(s.customsStatus).toBe(CustomsStatus.CLEARED);
    expect((await fx.status('firm', FCL)).declarationNumbers).toEqual([no]);

    expect(allAccepted(await fx.publish('operator', [move(EquipmentEventType.GTOT, FCL)]))).toBe(true);
    s = await fx.until(FCL, (x) => x.location === ContainerLocation.LEFT_TERMINAL, 'gated out');
    expect(s.flags).toEqual([]);
    // The shipment ended and nothing happened since: the consignee still sees how it ended.
    expect((await fx.status('firm', FCL)).location).toBe(ContainerLocation.LEFT_TERMINAL);
  });

  it('an LCL container: released only when every bill in it is cleared, each consignee seeing its own', async () => {
    allAccepted(await fx.publish('operator', [move(EquipmentEventType.DISC, LCL, { vessel: VESSEL_IN })]));
    let s = await fx.until(LCL, (x) => x.location === ContainerLocation.IN_YARD, 'discharged');
    expect(s.billNumbers.sort()).toEqual(['HLCUHPH1000002', 'HLCUHPH1000003']);
    expect(s.releaseBlocker).toBe(
      'bill HLCUHPH1000002: no customs declaration yet; bill HLCUHPH1000003: no customs declaration yet',
    );

    const mine = await clear('firm', ['HLCUHPH1000002'], FIRM_A);
    await pass(mine);
    s = await fx.until(LCL, (x) => !x.releaseBlocker.includes('HLCUHPH1000002'), 'bill 2 cleared');
    expect(s.released).toBe(false);
    expect(s.releaseBlocker).toBe('bill HLCUHPH1000003: no customs declaration yet');
    // Each consignee is told of its own bill by number and of the other only that it holds the box.
    const a = await fx.status('firm', LCL);
    expect(a.billNumbers).toEqual(['HLCUHPH1000002']);
    expect(a.releaseBlocker).toBe('1 other bill in this container not cleared by customs yet');
    expect(a.declarationNumbers).toEqual([mine]);

    // The other consignee's goods go to the red channel.
    const theirs = await clear('otherFirm', ['HLCUHPH1000003'], FIRM_B, DeclarationType.IMPORT, 'red');
    s = await fx.until(
      LCL,
      (x) => x.customsStatus === CustomsStatus.PHYSICAL_INSPECTION,
      'held for inspection',
    );
    const b = await fx.status('otherFirm', LCL);
    expect(b.releaseBlocker).toBe(
      'bill HLCUHPH1000003: held for a customs physical inspection: book the inspection',
    );
    expect(b.declarationNumbers).toEqual([theirs]);
    expect((await fx.status('firm', LCL)).declarationNumbers).toEqual([mine]);

    await pass(theirs);
    s = await fx.until(LCL, (x) => x.released, 'released');
    expect(s.customsStatus).toBe(CustomsStatus.CLEARED);
  });

  it('a transshipment: no import clearance, may be loaded onto the on-carrying vessel, never gated out', async () => {
    let s = await fx.until(TSP, (x) => x.flow === CargoFlow.TRANSSHIPMENT, 'on the manifests');
    expect(s.releaseBlocker).toBe('not in terminal HICT yet');
    allAccepted(await fx.publish('operator', [move(EquipmentEventType.DISC, TSP, { vessel: VESSEL_IN })]));
    s = await fx.until(TSP, (x) => x.location === ContainerLocation.IN_YARD, 'discharged');
    expect(s.released).toBe(true);
    expect(s.customsStatus).toBe(CustomsStatus.NO_DECLARATION);
    allAccepted(await fx.publish('operator', [move(EquipmentEventType.LOAD, TSP, { vessel: VESSEL_OUT })]));
    s = await fx.until(TSP, (x) => x.location === ContainerLocation.ON_VESSEL, 'loaded');
    expect(s.flags).toEqual([]);
  });

  it('an export: manifest, gate-in, declaration by the shipper, clearance, loading', async () => {
    let s = await fx.until(EXP, (x) => x.flow === CargoFlow.EXPORT, 'on the manifest');
    expect(s.releaseBlocker).toBe('not gated in at HICT yet for HAI PHONG EXPRESS voyage 118N');
    allAccepted(await fx.publish('operator', [move(EquipmentEventType.GTIN, EXP)]));
    s = await fx.until(EXP, (x) => x.location === ContainerLocation.IN_YARD, 'gated in');
    expect(s.releaseBlocker).toBe('bill HLCUHPH2000001: no customs declaration yet');
    // The shipper's broker declares for it.
    const no = await clear('broker', ['HLCUHPH2000001'], FIRM_A, DeclarationType.EXPORT, 'green', BROKER);
    await pass(no);
    s = await fx.until(EXP, (x) => x.released, 'cleared for loading');
    allAccepted(await fx.publish('operator', [move(EquipmentEventType.LOAD, EXP, { vessel: VESSEL_OUT })]));
    s = await fx.until(EXP, (x) => x.location === ContainerLocation.ON_VESSEL, 'loaded');
    expect(s.flags).toEqual([]);
    // Its shipment took its step: nothing holds it (not "not discharged", the rule for boxes on no manifest).
    expect(s.released).toBe(true);
    expect(s.releaseBlocker).toBe('');
    expect(s.flow).toBe(CargoFlow.EXPORT);
  });

  it('an empty container needs no clearance once in the terminal', async () => {
    let s = await fx.until(EMPTY, (x) => x.flow === CargoFlow.EMPTY, 'on the manifest');
    expect(s.released).toBe(false);
    allAccepted(await fx.publish('operator', [move(EquipmentEventType.DISC, EMPTY, { vessel: VESSEL_IN })]));
    s = await fx.until(EMPTY, (x) => x.location === ContainerLocation.IN_YARD, 'discharged');
    expect(s.released).toBe(true);
  });

  it('flags transshipment cargo leaving by road and exports loaded before clearance', async () => {
    const T2 = containerNumber('HLX', 100_006);
    const E2 = containerNumber('HLX', 100_007);
    await fx.file(
      'carrier',
      manifest('HLCU', { imoNumber: '9074729', name: 'FEEDER', voyage: '7S' }, [
        bill('HLCUHPH3000001', CargoFlow.TRANSSHIPMENT, [T2]),
      ]),
    );
    await fx.file(
      'carrier',
      manifest('HLCU', { imoNumber: '9703291', name: 'MOTHER', voyage: '9E' }, [
        bill('HLCUHPH4000001', CargoFlow.EXPORT, [E2], { shipper: party(FIRM_A) }),
      ]),
    );
    allAccepted(
      await fx.publish('operator', [
        move(EquipmentEventType.DISC, T2, { vessel: { imoNumber: '9074729', name: 'FEEDER', voyage: '7S' } }),
        move(EquipmentEventType.GTIN, E2),
      ]),
    );
    await fx.until(T2, (x) => x.released, 'in the yard');
    await fx.until(E2, (x) => x.location === ContainerLocation.IN_YARD, 'gated in');
    allAccepted(
      await fx.publish('operator', [
        move(EquipmentEventType.GTOT, T2),
        move(EquipmentEventType.LOAD, E2, { vessel: { imoNumber: '9703291', name: 'MOTHER', voyage: '9E' } }),
      ]),
    );
    const t = await fx.until(T2, (x) => x.flags.length > 0, 'flagged');
    expect(t.flags[0]?.code).toBe('GATE_OUT_WITHOUT_RELEASE');
    const e = await fx.until(E2, (x) => x.flags.length > 0, 'flagged');
    expect(e.flags[0]?.code).toBe('LOAD_WITHOUT_CLEARANCE');
    expect(e.flags[0]?.reason).toBe('loaded with bill HLCUHPH4000001 not cleared for export');
  });
});
