// Customs declarations for the bills of lading of a vessel call: goods, values, documents, and the risk
// profile each is built to trigger (high-risk HS chapters, missing licence, first-time declarant,
// undervaluation, a bill on no carrier's manifest) so that all three channels appear. A declaration names its
// bills, not containers: the gateway takes the containers from the manifest.
import {
  DeclarationType,
  DocumentType,
  EnterprisePriority,
  InspectionOutcome,
} from '../../proto/gen/portstream/v1/customs.js';
import type { Declaration, Document, GoodsItem } from '../../proto/gen/portstream/v1/customs.js';
import type { VesselRef } from '../../proto/gen/portstream/v1/common.js';
import { EXPORT_GOODS, IMPORT_GOODS, PARTNER_PORTS, PORT, RISKY_GOODS, TRADERS } from './catalog.js';
import type { Goods } from './catalog.js';
import { taxCode } from './ids.js';
import type { Rng } from './prng.js';
import type { RiskProfile, SimDeclarationItem } from './types.js';

/** Customs sub-department of the Hai Phong area (Chi cuc HQ CK cang HP KV III), VNACCS office code. */
const CUSTOMS_OFFICE = '03TG';
const HOUR = 3_600_000;

/** A Vietnamese enterprise: the consignee of an import, the shipper of an export. */
export interface Trader {
  readonly taxCode: string;
  readonly name: string;
}

export interface DeclarationInput {
  readonly direction: 'import' | 'export';
  readonly number: string;
  /** The bills of lading it clears (the gateway derives its containers from them). */
  readonly bills?: readonly string[];
  /** Containers named directly (customs and admin may; nothing the simulator's port day uses). */
  readonly containers?: readonly string[];
  /** Calls whose manifests hold the bills. */
  readonly callIds?: readonly string[];
  readonly vessel: VesselRef;
  readonly at: number;
  /** The party of its bills it declares for; default: one of knownTraders. */
  readonly trader?: Trader;
  /** Tax codes of traders that declared before; first-time declarants get a fresh one. */
  readonly knownTraders: readonly string[];
  readonly brokerTaxCode: string;
}

function item(rng: Rng, g: Goods, origin: string, undervalue: boolean): GoodsItem {
  const quantity = g.unit === 'TNE' ? rng.int(10, 25) : rng.int(200, 20_000);
  // Whole cents, so nanos stays within [0, 1e9) as Money requires.
  const cents = Math.max(
    1,
    Math.round(quantity * g.unitPriceUsd * (undervalue ? 0.2 : 0.9 + rng.next() * 0.3) * 100),
  );
  return {
    hsCode: g.hs,
    description: g.description,
    quantity,
    unit: g.unit,
    customsValue: { currencyCode: 'USD', units: Math.floor(cents / 100), nanos: (cents % 100) * 10_000_000 },
    originCountry: origin,
    grossWeightKg: rng.int(2_000, 24_000),
  };
}

export function buildDeclaration(rng: Rng, input: DeclarationInput): SimDeclarationItem {
  const roll = rng.next();
  const risk: RiskProfile = roll < 0.12 ? 'red' : roll < 0.32 ? 'yellow' : 'green';
  const imp = input.direction === 'import';
  const partner = rng.pick(PARTNER_PORTS);
  const reasons: string[] = [];
  let goods = rng.pick(imp ? IMPORT_GOODS : EXPORT_GOODS);
  let trader: Trader = input.trader ?? { taxCode: rng.pick(input.knownTraders), name: rng.pick(TRADERS) };
  let undervalue = false;
  let missingLicence = false;
  const bills = [...(input.bills ?? [])];
  const unmanifestedBills: string[] = [];
  if (risk === 'red') {
    const kind = rng.int(0, 2);
    if (kind === 0 || !imp) {
      goods = rng.pick(RISKY_GOODS);
      missingLicence = true;
      reasons.push(`high-risk HS chapter ${goods.hs.slice(0, 2)} without licence`);
    } else if (kind === 1) {
      // "NOMF" is no carrier code of the simulated port, so no manifest of a run holds this bill.
      const phantom = `NOMF${rng.int(10_000_000, 99_999_999)}`;
      bills.push(phantom);
      unmanifestedBills.push(phantom);
      reasons.push('bill of lading on no cargo manifest');
    } else {
      goods = rng.pick(RISKY_GOODS);
      reasons.push(`high-risk HS chapter ${goods.hs.slice(0, 2)}`);
    }
  } else if (risk === 'yellow') {
    if (rng.chance(0.5)) {
      undervalue = true;
      reasons.push('value far under the reference price');
    } else {
      trader = { taxCode: taxCode(rng), name: rng.pick(TRADERS) };
      reasons.push('first-time declarant');
    }
  }
  const documents: Document[] = [
    { type: DocumentType.COMMERCIAL_INVOICE, reference: `INV-${rng.int(10_000, 99_999)}` },
    { type: DocumentType.PACKING_LIST, reference: `PL-${rng.int(10_000, 99_999)}` },
    {
      type: DocumentType.BILL_OF_LADING,
      reference: bills[0] ?? `BL${input.vessel.voyage}${rng.int(1000, 9999)}`,
    },
  ];
  if (imp)
    documents.push({
      type: DocumentType.CERTIFICATE_OF_ORIGIN,
      reference: `CO-${partner.country}-${rng.int(1e5, 1e6 - 1)}`,
    });
  if (goods.licence !== undefined && !missingLicence) {
    documents.push({ type: DocumentType.IMPORT_LICENCE, reference: `GP-${rng.int(100, 999)}/BCT` });
  }
  const declaration: Declaration = {
    declarationNumber: input.number,
    type: imp ? DeclarationType.IMPORT : DeclarationType.EXPORT,
    declarantTaxCode: input.brokerTaxCode,
    traderTaxCode: trader.taxCode,
    traderName: trader.name,
    priority: risk === 'green' && rng.chance(0.2) ? EnterprisePriority.AEO : EnterprisePriority.STANDARD,
    goods: [item(rng, goods, imp ? partner.country : 'VN', undervalue)],
    containerNumbers: [...(input.containers ?? [])],
    billNumbers: bills,
    vessel: input.vessel,
    portOfLoading: imp ? partner.locode : PORT,
    portOfDischarge: imp ? PORT : partner.locode,
    documents,
    customsOffice: CUSTOMS_OFFICE,
    declaredTime: new Date(input.at),
  };
  return {
    kind: 'declaration',
    at: input.at,
    declaration,
    callIds: [...(input.callIds ?? [])],
    unmanifestedBills,
    risk,
    reasons,
    inspectionDelayMs: risk === 'red' ? rng.int(2 * HOUR, 4 * HOUR) : rng.int(HOUR / 2, 2 * HOUR),
    // What the model means to clear (green) passes should the real engine hold it: the model has moved its
    // boxes on as cleared.
    inspectionOutcome:
      rng.chance(0.9) || risk === 'green' ? InspectionOutcome.PASSED : InspectionOutcome.FAILED,
  };
}
