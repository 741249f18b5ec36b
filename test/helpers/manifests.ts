// Valid cargo manifests for tests: a carrier's call at a terminal with bills of each flow, built from the real
// identifier rules.
import type { Facility, VesselRef } from '../../proto/gen/portstream/v1/common.js';
import {
  CargoFlow,
  type BillOfLading,
  type CargoManifest,
  type Party,
} from '../../proto/gen/portstream/v1/manifest.js';

export const FIRM_A = '0100109106';
export const FIRM_B = '0300588569';

export const VESSEL_IN: VesselRef = { imoNumber: '9811000', name: 'EVER GIVEN', voyage: '2346W' };
export const VESSEL_OUT: VesselRef = { imoNumber: '9321483', name: 'HAI PHONG EXPRESS', voyage: '118N' };
export const HICT: Facility = { unLocode: 'VNHPH', terminalCode: 'HICT' };

export function party(taxCode: string, name = `Party ${taxCode}`): Party {
  return { taxCode, name, countryCode: 'VN' };
}

export const FOREIGN: Party = { taxCode: '', name: 'Shenzhen Electronics Co', countryCode: 'CN' };

/** A bill whose cargo is consigned to `consignee` (import, transshipment) or shipped by `shipper` (export). */
export function bill(
  billNumber: string,
  flow: CargoFlow,
  containers: readonly string[],
  parties: { shipper?: Party; consignee?: Party } = {},
): BillOfLading {
  const route =
    flow === CargoFlow.IMPORT
      ? { portOfLoading: 'CNSHA', portOfDischarge: 'VNHPH' }
      : flow === CargoFlow.EXPORT
        ? { portOfLoading: 'VNHPH', portOfDischarge: 'USLAX' }
        : { portOfLoading: 'CNSHA', portOfDischarge: 'KHPNH' };
  return {
    billNumber,
    flow,
    shipper: parties.shipper ?? FOREIGN,
    consignee: parties.consignee ?? FOREIGN,
    notifyParty: undefined,
    ...route,
    containers: containers.map((c) => ({
      containerNumber: c,
      isoSizeType: '45G1',
      seals: [{ number: `SL${c.slice(4)}`, source: 1 }],
      grossWeightKg: 12_000,
    })),
    cargo: [
      { hsCode: '84713020', packages: 100, packageType: 'CT', description: 'laptops', grossWeightKg: 11_000 },
    ],
  };
}

export function manifest(
  carrierCode: string,
  vessel: VesselRef,
  bills: BillOfLading[],
  emptyContainers: string[] = [],
): CargoManifest {
  return {
    carrierCode,
    facility: { ...HICT },
    vessel: { ...vessel },
    bills,
    emptyContainers: emptyContainers.map((c) => ({
      containerNumber: c,
      isoSizeType: '22G1',
      seals: [],
      grossWeightKg: 2200,
    })),
  };
}

export const callIdOf = (vessel: VesselRef): string => `VNHPH-HICT-${vessel.imoNumber}-${vessel.voyage}`;
