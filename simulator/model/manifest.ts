// The carrier's cargo manifest of a simulated vessel call, assembled while the call is planned: bills of lading
// (import, export, transshipment) with their parties, containers and cargo lines, and the empty containers the
// call moves. Its bill numbers are the carrier's code, the run's code (day.runCode), the call and a serial, so that
// no two calls of a run, nor (but by a rare chance) two runs, file the same number: the port refuses a bill
// another manifest holds.
import type { Facility, VesselRef } from '../../proto/gen/portstream/v1/common.js';
import type { GoodsItem } from '../../proto/gen/portstream/v1/customs.js';
import { SealSource } from '../../proto/gen/portstream/v1/events.js';
import type {
  BillOfLading,
  CargoFlow,
  CargoLine,
  CargoManifest,
  ManifestContainer,
  Party,
} from '../../proto/gen/portstream/v1/manifest.js';
import { EXPORT_GOODS, FOREIGN_FIRMS, IMPORT_GOODS, RISKY_GOODS, type Goods } from './catalog.js';
import type { Trader } from './customs.js';
import type { BoxState } from './events.js';
import type { Rng } from './prng.js';

const ALL_GOODS: readonly Goods[] = [...IMPORT_GOODS, ...EXPORT_GOODS, ...RISKY_GOODS];

export const vietnameseParty = (t: Trader): Party => ({
  taxCode: t.taxCode,
  name: t.name,
  countryCode: 'VN',
});

/** A firm abroad in `country` (any firm when the catalog has none there). */
export function foreignParty(rng: Rng, country: string): Party {
  const here = FOREIGN_FIRMS.filter((f) => f.country === country);
  const f = rng.pick(here.length > 0 ? here : FOREIGN_FIRMS);
  return { taxCode: '', name: f.name, countryCode: f.country };
}

/** Tare by ISO size: 20' about 2.2 t, 40'/45' about 3.8 t. */
const tareKg = (sizeType: string): number => (sizeType.startsWith('2') ? 2_200 : 3_800);

export function manifestContainer(box: BoxState, cargoKg: number): ManifestContainer {
  return {
    containerNumber: box.number,
    isoSizeType: box.sizeType,
    seals: box.seal === '' ? [] : [{ number: box.seal, source: SealSource.CARRIER }],
    grossWeightKg: tareKg(box.sizeType) + cargoKg,
  };
}

/** The bill's cargo line for a declared goods line (the carrier describes what the shipper told it). */
export function cargoLine(rng: Rng, g: GoodsItem): CargoLine {
  const pack = ALL_GOODS.find((x) => x.hs === g.hsCode)?.pack ?? 'PK';
  return {
    hsCode: g.hsCode,
    packages: rng.int(10, 1_200),
    packageType: pack,
    description: g.description,
    grossWeightKg: g.grossWeightKg,
  };
}

/** Cargo of a transshipment bill: goods from the catalog, declared to no customs here. */
export function transitCargo(rng: Rng): CargoLine {
  const g = rng.pick(rng.chance(0.5) ? IMPORT_GOODS : EXPORT_GOODS);
  return {
    hsCode: g.hs,
    packages: rng.int(10, 1_200),
    packageType: g.pack,
    description: g.description,
    grossWeightKg: rng.int(2_000, 24_000),
  };
}

export interface BillDraft {
  readonly flow: CargoFlow;
  readonly shipper: Party;
  readonly consignee: Party;
  readonly portOfLoading: string;
  readonly portOfDischarge: string;
  readonly boxes: readonly BoxState[];
  readonly cargo: readonly CargoLine[];
}

/** The manifest of one call, filled in as the call is planned. */
export class ManifestDraft {
  private readonly bills: BillOfLading[] = [];
  private readonly empties: BoxState[] = [];
  private serial = 0;

  constructor(
    private readonly carrierCode: string,
    private readonly facility: Facility,
    private readonly vessel: VesselRef,
    /** Run code and call index: together with the serial they make the bill numbers unique. */
    private readonly billPrefix: string,
  ) {}

  /** The number of the next bill, before its content is known (a declaration names it as it is planned). */
  reserve(): string {
    return `${this.carrierCode}${this.billPrefix}${String(++this.serial).padStart(4, '0')}`;
  }

  add(billNumber: string, b: BillDraft): void {
    const perBox = b.cargo.reduce((sum, l) => sum + l.grossWeightKg, 0) / Math.max(1, b.boxes.length);
    this.bills.push({
      billNumber,
      flow: b.flow,
      shipper: b.shipper,
      consignee: b.consignee,
      notifyParty: undefined,
      portOfLoading: b.portOfLoading,
      portOfDischarge: b.portOfDischarge,
      containers: b.boxes.map((box) => manifestContainer(box, Math.round(perBox))),
      cargo: [...b.cargo],
    });
  }

  addEmpty(box: BoxState): void {
    this.empties.push(box);
  }

  /** Nothing to file (a manifest lists at least one bill or empty container). */
  get isEmpty(): boolean {
    return this.bills.length === 0 && this.empties.length === 0;
  }

  /** The manifest as filed. */
  build(): CargoManifest {
    return {
      carrierCode: this.carrierCode,
      facility: this.facility,
      vessel: this.vessel,
      bills: this.bills,
      emptyContainers: this.empties.map((b) => manifestContainer({ ...b, seal: '' }, 0)),
    };
  }
}
