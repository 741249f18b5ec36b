// Manifest validation (each problem named by its field), a container's shipments as it moves, and the release
// blocker per flow as each reader may read it.
import { describe, expect, it } from 'vitest';
import { newContainerRecord } from '../../core/state/container.js';
import { applyRelease, shipmentBlocker } from '../../core/state/release.js';
import {
  activeShipment,
  advanceShipments,
  CONTAINER_MAX_SHIPMENTS,
  upsertShipment,
} from '../../core/state/shipment.js';
import { checkManifest } from '../../core/validation/manifest.js';
import { EquipmentEventType as E } from '../../proto/gen/portstream/v1/events.js';
import { CargoFlow, type CargoManifest } from '../../proto/gen/portstream/v1/manifest.js';
import type { Shipment } from '../../proto/gen/portstream/v1/records.js';
import { CustomsStatus } from '../../proto/gen/portstream/v1/tracking.js';
import { containerNumber } from '../../test-kit/events.js';
import { bill, FIRM_A, FIRM_B, HICT, manifest, party, VESSEL_IN, VESSEL_OUT } from '../helpers/manifests.js';

const BOX = containerNumber('HLX', 1);

function shipment(flow: CargoFlow, over: Partial<Shipment> = {}): Shipment {
  return {
    callId: `VNHPH-HICT-${VESSEL_IN.imoNumber}-${VESSEL_IN.voyage}`,
    facility: HICT,
    vessel: VESSEL_IN,
    flow,
    bills: [
      {
        billNumber: 'B1',
        partyTaxCodes: [FIRM_A],
        declarationNumbers: [],
        customsStatus: CustomsStatus.NO_DECLARATION,
      },
    ],
    startedTime: undefined,
    endedTime: undefined,
    manifestVersion: 1,
    carrierCode: 'HLCU',
    ...over,
  };
}

describe('manifest validation', () => {
  const ok = (): CargoManifest =>
    manifest('HLCU', VESSEL_IN, [
      bill('HLCUHPH0000001', CargoFlow.IMPORT, [BOX], { consignee: party(FIRM_A) }),
    ]);

  it('accepts a valid manifest', () => {
    expect(checkManifest(ok())).toBeUndefined();
  });

  it.each<[string, (m: CargoManifest) => void, string]>([
    ['carrier code', (m) => (m.carrierCode = 'hapag'), 'manifest.carrier_code'],
    ['no bills', (m) => (m.bills = []), 'manifest.bills'],
    ['terminal', (m) => m.facility && (m.facility.terminalCode = 'x'), 'manifest.facility.terminal_code'],
    ['IMO check digit', (m) => m.vessel && (m.vessel.imoNumber = '9811001'), 'manifest.vessel.imo_number'],
    ['bill number', (m) => m.bills[0] && (m.bills[0].billNumber = 'bl-1'), 'manifest.bills[0].bill_number'],
    ['flow', (m) => m.bills[0] && (m.bills[0].flow = CargoFlow.EMPTY), 'manifest.bills[0].flow'],
    [
      'import not discharged here',
      (m) => m.bills[0] && (m.bills[0].portOfDischarge = 'SGSIN'),
      'manifest.bills[0].port_of_discharge',
    ],
    [
      'Vietnamese consignee without a tax code',
      (m) => m.bills[0] && (m.bills[0].consignee = { taxCode: '', name: 'X', countryCode: 'VN' }),
      'manifest.bills[0].consignee.tax_code',
    ],
    [
      'tax code check digit',
      (m) => m.bills[0] && (m.bills[0].consignee = party('0200200200')),
      'manifest.bills[0].consignee.tax_code',
    ],
    [
      'container check digit',
      (m) => m.bills[0]?.containers[0] && (m.bills[0].containers[0].containerNumber = 'HLXU0000010'),
      'manifest.bills[0].containers[0].container_number',
    ],
    [
      'HS code',
      (m) => m.bills[0]?.cargo[0] && (m.bills[0].cargo[0].hsCode = '12'),
      'manifest.bills[0].cargo[0].hs_code',
    ],
    ['no cargo', (m) => m.bills[0] && (m.bills[0].cargo = []), 'manifest.bills[0].cargo'],
  ])('refuses %s at its field', (_name, spoil, field) => {
    const m = ok();
    spoil(m);
    expect(checkManifest(m)?.field).toBe(field);
  });

  it('refuses a bill number twice and a container on bills of different flows', () => {
    const twice = manifest('HLCU', VESSEL_IN, [
      bill('HLCUHPH0000001', CargoFlow.IMPORT, [BOX], { consignee: party(FIRM_A) }),
      bill('HLCUHPH0000001', CargoFlow.IMPORT, [containerNumber('HLX', 2)], { consignee: party(FIRM_B) }),
    ]);
    expect(checkManifest(twice)?.field).toBe('manifest.bills[1].bill_number');
    const mixed = manifest('HLCU', VESSEL_IN, [
      bill('HLCUHPH0000001', CargoFlow.IMPORT, [BOX], { consignee: party(FIRM_A) }),
      bill('HLCUHPH0000002', CargoFlow.TRANSSHIPMENT, [BOX]),
    ]);
    expect(checkManifest(mixed)?.field).toBe('manifest.bills[1].containers[0]');
    const emptyAndLaden = manifest(
      'HLCU',
      VESSEL_IN,
      [bill('HLCUHPH0000001', CargoFlow.IMPORT, [BOX], { consignee: party(FIRM_A) })],
      [BOX],
    );
    expect(checkManifest(emptyAndLaden)?.field).toBe('manifest.empty_containers[0]');
    // LCL has a bound: each bill sharing a box is kept on the box's record.
    const crowded = manifest(
      'HLCU',
      VESSEL_IN,
      Array.from({ length: 21 }, (_, i) =>
        bill(`HLCUHPH00000${String(i).padStart(2, '0')}`, CargoFlow.IMPORT, [BOX], {
          consignee: party(FIRM_A),
        }),
      ),
    );
    expect(checkManifest(crowded)?.field).toBe('manifest.bills[20].containers[0]');
    crowded.bills.pop();
    expect(checkManifest(crowded)).toBeUndefined();
  });
});

describe('shipments', () => {
  const t = (min: number): Date => new Date(Date.UTC(2026, 10, 29, 8, min));

  it('an import starts at discharge from its vessel only, and ends at the next departure', () => {
    const rec = newContainerRecord(BOX);
    upsertShipment(rec.bookkeeping, shipment(CargoFlow.IMPORT));
    expect(advanceShipments(rec.bookkeeping, E.DISC, HICT, VESSEL_OUT, t(1))).toBe(false);
    expect(advanceShipments(rec.bookkeeping, E.GTIN, HICT, undefined, t(2))).toBe(false);
    const other = { unLocode: 'VNHPH', terminalCode: 'TVCT' };
    expect(advanceShipments(rec.bookkeeping, E.DISC, other, VESSEL_IN, t(3))).toBe(false);
    expect(advanceShipments(rec.bookkeeping, E.DISC, HICT, VESSEL_IN, t(4))).toBe(true);
    expect(activeShipment(rec.bookkeeping)?.startedTime).toEqual(t(4));
    expect(advanceShipments(rec.bookkeeping, E.GTOT, HICT, undefined, t(5))).toBe(true);
    expect(activeShipment(rec.bookkeeping)).toBeUndefined();
    expect(rec.bookkeeping.shipments[0]?.endedTime).toEqual(t(5));
  });

  it('an export starts at gate-in, not at discharge from the vessel that will load it', () => {
    const rec = newContainerRecord(BOX);
    upsertShipment(rec.bookkeeping, shipment(CargoFlow.EXPORT, { vessel: VESSEL_OUT }));
    expect(advanceShipments(rec.bookkeeping, E.DISC, HICT, VESSEL_OUT, t(1))).toBe(false);
    expect(advanceShipments(rec.bookkeeping, E.GTIN, HICT, undefined, t(2))).toBe(true);
  });

  it('an amendment keeps what was recorded; the record stays bounded with the one under way kept', () => {
    const rec = newContainerRecord(BOX);
    upsertShipment(rec.bookkeeping, shipment(CargoFlow.IMPORT));
    advanceShipments(rec.bookkeeping, E.DISC, HICT, VESSEL_IN, t(1));
    const s0 = rec.bookkeeping.shipments[0];
    if (s0?.bills[0]) {
      s0.bills[0].declarationNumbers = ['108600000001'];
      s0.bills[0].customsStatus = CustomsStatus.CLEARED;
    }
    upsertShipment(rec.bookkeeping, shipment(CargoFlow.IMPORT, { manifestVersion: 2 }));
    expect(rec.bookkeeping.shipments).toHaveLength(1);
    expect(rec.bookkeeping.shipments[0]?.startedTime).toEqual(t(1));
    expect(rec.bookkeeping.shipments[0]?.bills[0]?.declarationNumbers).toEqual(['108600000001']);
    for (let i = 0; i < 3 * CONTAINER_MAX_SHIPMENTS; i++) {
      upsertShipment(rec.bookkeeping, shipment(CargoFlow.EXPORT, { callId: `call-${i}` }));
    }
    expect(rec.bookkeeping.shipments).toHaveLength(CONTAINER_MAX_SHIPMENTS);
    expect(activeShipment(rec.bookkeeping)?.manifestVersion).toBe(2);
  });
});

describe('release per flow', () => {
  it('an import waits for discharge, then for every bill, naming only those the reader may see', () => {
    const rec = newContainerRecord(BOX);
    const s = shipment(CargoFlow.IMPORT);
    s.bills.push({
      billNumber: 'B2',
      partyTaxCodes: [FIRM_B],
      declarationNumbers: [],
      customsStatus: CustomsStatus.NO_DECLARATION,
    });
    upsertShipment(rec.bookkeeping, s);
    applyRelease(rec);
    expect(rec.status.released).toBe(false);
    expect(rec.status.releaseBlocker).toBe('not discharged yet from EVER GIVEN voyage 2346W');
    advanceShipments(rec.bookkeeping, E.DISC, HICT, VESSEL_IN, new Date());
    const held = rec.bookkeeping.shipments[0];
    if (held?.bills[1]) {
      held.bills[1].declarationNumbers = ['108600000002'];
      held.bills[1].customsStatus = CustomsStatus.DOCUMENT_CHECK;
    }
    applyRelease(rec);
    expect(rec.status.customsStatus).toBe(CustomsStatus.DOCUMENT_CHECK);
    expect(rec.status.releaseBlocker).toBe(
      'bill B1: no customs declaration yet; bill B2: held for a customs document check: present the documents',
    );
    expect(shipmentBlocker(held as Shipment, (b) => b === 'B1')).toBe(
      'bill B1: no customs declaration yet; 1 other bill in this container not cleared by customs yet',
    );
    for (const b of held?.bills ?? []) {
      b.declarationNumbers = ['108600000003'];
      b.customsStatus = CustomsStatus.CLEARED;
    }
    applyRelease(rec);
    expect(rec.status.released).toBe(true);
    expect(rec.status.releaseBlocker).toBe('');
  });

  it('a transshipment and an empty are released once in the terminal, with no declaration', () => {
    for (const flow of [CargoFlow.TRANSSHIPMENT, CargoFlow.EMPTY]) {
      const rec = newContainerRecord(BOX);
      upsertShipment(rec.bookkeeping, shipment(flow, { bills: [] }));
      applyRelease(rec);
      expect(rec.status.releaseBlocker).toBe('not in terminal HICT yet');
      advanceShipments(rec.bookkeeping, E.DISC, HICT, VESSEL_IN, new Date());
      applyRelease(rec);
      expect(rec.status.released).toBe(true);
      expect(rec.status.flow).toBe(flow);
    }
  });
});
