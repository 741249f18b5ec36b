// Full validation of a customs declaration at the gRPC edge, before it is persisted. Returns the first problem
// as a (field path, reason) pair in proto names; assertDeclaration throws it as INVALID_ARGUMENT.
import { DeclarationType, DocumentType, EnterprisePriority } from '../../proto/gen/portstream/v1/customs.js';
import type { Declaration, GoodsItem } from '../../proto/gen/portstream/v1/customs.js';
import { invalidArgument } from '../errors.js';
import {
  checkContainerNumber,
  checkCountryCode,
  checkCurrencyCode,
  checkDeclarationNumber,
  checkHsCode,
  checkImoNumber,
  checkTaxCode,
  checkUnLocode,
  declarationDirection,
} from '../identifiers/index.js';
import type { Problem } from './event.js';

export const DECLARATION_LIMITS = {
  maxGoods: 1000,
  maxContainers: 500,
  maxBills: 100,
  maxDocuments: 100,
  maxText: 512,
};

const BILL_NUMBER = /^[A-Z0-9]{4,35}$/;

const TYPES = new Set<number>([DeclarationType.IMPORT, DeclarationType.EXPORT, DeclarationType.TRANSIT]);
const PRIORITIES = new Set<number>([
  EnterprisePriority.UNSPECIFIED,
  EnterprisePriority.STANDARD,
  EnterprisePriority.PRIORITY,
  EnterprisePriority.AEO,
]);
const DOCUMENTS = new Set<number>([
  DocumentType.COMMERCIAL_INVOICE,
  DocumentType.PACKING_LIST,
  DocumentType.BILL_OF_LADING,
  DocumentType.CERTIFICATE_OF_ORIGIN,
  DocumentType.IMPORT_LICENCE,
  DocumentType.EXPORT_LICENCE,
  DocumentType.PHYTOSANITARY_CERTIFICATE,
  DocumentType.HEALTH_CERTIFICATE,
  DocumentType.CONTRACT,
]);

const UNIT = /^[A-Z0-9]{2,3}$/;
const OFFICE = /^[0-9A-Z]{4}$/;
const VOYAGE = /^[A-Z0-9][A-Z0-9/-]{0,19}$/;

const p = (field: string, reason: string | undefined): Problem | undefined =>
  reason === undefined ? undefined : { field, reason };

function checkGoods(g: GoodsItem, at: string): Problem | undefined {
  const bad =
    p(`${at}.hs_code`, checkHsCode(g.hsCode)) ??
    p(`${at}.origin_country`, checkCountryCode(g.originCountry)) ??
    (g.description.trim() === '' ? { field: `${at}.description`, reason: 'required' } : undefined) ??
    (g.description.length > DECLARATION_LIMITS.maxText
      ? { field: `${at}.description`, reason: 'too long' }
      : undefined) ??
    (!(Number.isFinite(g.quantity) && g.quantity > 0)
      ? { field: `${at}.quantity`, reason: 'must be a positive number' }
      : undefined) ??
    (UNIT.test(g.unit)
      ? undefined
      : { field: `${at}.unit`, reason: 'must be a UN/ECE Rec 20 code, e.g. KGM' }) ??
    (Number.isFinite(g.grossWeightKg) && g.grossWeightKg >= 0
      ? undefined
      : { field: `${at}.gross_weight_kg`, reason: 'must be zero or positive' });
  if (bad) return bad;
  const v = g.customsValue;
  if (!v) return { field: `${at}.customs_value`, reason: 'required' };
  return (
    p(`${at}.customs_value.currency_code`, checkCurrencyCode(v.currencyCode)) ??
    (v.units < 0 || v.nanos < 0 || v.nanos >= 1e9 || (v.units === 0 && v.nanos === 0)
      ? { field: `${at}.customs_value`, reason: 'must be a positive amount' }
      : undefined)
  );
}

export function checkDeclaration(d: Declaration | undefined): Problem | undefined {
  if (!d) return { field: 'declaration', reason: 'required' };
  const numberProblem = p('declaration.declaration_number', checkDeclarationNumber(d.declarationNumber));
  if (numberProblem) return numberProblem;
  if (!TYPES.has(d.type)) {
    return { field: 'declaration.type', reason: 'must be IMPORT, EXPORT or TRANSIT' };
  }
  const direction = declarationDirection(d.declarationNumber);
  if (
    (d.type === DeclarationType.IMPORT && direction !== 'import') ||
    (d.type === DeclarationType.EXPORT && direction !== 'export')
  ) {
    return {
      field: 'declaration.type',
      reason: `does not match the declaration number (${direction ?? '?'})`,
    };
  }
  const head =
    p('declaration.declarant_tax_code', checkTaxCode(d.declarantTaxCode)) ??
    p('declaration.trader_tax_code', checkTaxCode(d.traderTaxCode)) ??
    (!PRIORITIES.has(d.priority) ? { field: 'declaration.priority', reason: 'unknown value' } : undefined) ??
    p('declaration.port_of_loading', checkUnLocode(d.portOfLoading)) ??
    p('declaration.port_of_discharge', checkUnLocode(d.portOfDischarge)) ??
    (OFFICE.test(d.customsOffice)
      ? undefined
      : { field: 'declaration.customs_office', reason: 'must be 4 characters, e.g. 03CC' }) ??
    (d.traderName.length > DECLARATION_LIMITS.maxText
      ? { field: 'declaration.trader_name', reason: 'too long' }
      : undefined);
  if (head) return head;
  if (d.goods.length === 0)
    return { field: 'declaration.goods', reason: 'at least one goods line is required' };
  if (d.goods.length > DECLARATION_LIMITS.maxGoods)
    return { field: 'declaration.goods', reason: 'too many lines' };
  for (const [i, g] of d.goods.entries()) {
    const bad = checkGoods(g, `declaration.goods[${i}]`);
    if (bad) return bad;
  }
  if (d.containerNumbers.length > DECLARATION_LIMITS.maxContainers) {
    return { field: 'declaration.container_numbers', reason: 'too many containers' };
  }
  const seen = new Set<string>();
  for (const [i, c] of d.containerNumbers.entries()) {
    const bad = p(`declaration.container_numbers[${i}]`, checkContainerNumber(c));
    if (bad) return bad;
    if (seen.has(c)) return { field: `declaration.container_numbers[${i}]`, reason: 'listed twice' };
    seen.add(c);
  }
  if (d.billNumbers.length > DECLARATION_LIMITS.maxBills) {
    return { field: 'declaration.bill_numbers', reason: 'too many bills' };
  }
  const bills = new Set<string>();
  for (const [i, b] of d.billNumbers.entries()) {
    const at = `declaration.bill_numbers[${i}]`;
    if (!BILL_NUMBER.test(b)) return { field: at, reason: 'must be 4-35 of A-Z 0-9' };
    if (bills.has(b)) return { field: at, reason: 'listed twice' };
    bills.add(b);
  }
  if (d.vessel) {
    const bad =
      p('declaration.vessel.imo_number', checkImoNumber(d.vessel.imoNumber)) ??
      (VOYAGE.test(d.vessel.voyage)
        ? undefined
        : { field: 'declaration.vessel.voyage', reason: 'invalid voyage' });
    if (bad) return bad;
  }
  if (d.documents.length > DECLARATION_LIMITS.maxDocuments) {
    return { field: 'declaration.documents', reason: 'too many documents' };
  }
  for (const [i, doc] of d.documents.entries()) {
    if (!DOCUMENTS.has(doc.type)) {
      return { field: `declaration.documents[${i}].type`, reason: 'unknown document type' };
    }
    if (doc.reference.trim() === '' || doc.reference.length > 64) {
      return { field: `declaration.documents[${i}].reference`, reason: 'required, at most 64 characters' };
    }
  }
  return undefined;
}

/** Throws INVALID_ARGUMENT naming the field when the declaration is not acceptable. */
export function assertDeclaration(d: Declaration | undefined): asserts d is Declaration {
  const problem = checkDeclaration(d);
  if (problem) throw invalidArgument(problem.field, problem.reason);
}
