// Full validation of a cargo manifest at the gRPC edge, before anything is stored. Returns the first problem as a
// (field path, reason) pair in proto names; assertManifest throws it as INVALID_ARGUMENT.
import type { Seal } from '../../proto/gen/portstream/v1/events.js';
import {
  CargoFlow,
  type BillOfLading,
  type CargoLine,
  type CargoManifest,
  type ManifestContainer,
  type Party,
} from '../../proto/gen/portstream/v1/manifest.js';
import { invalidArgument } from '../errors.js';
import {
  checkContainerNumber,
  checkCountryCode,
  checkHsCode,
  checkImoNumber,
  checkSizeTypeCode,
  checkTaxCode,
  checkUnLocode,
} from '../identifiers/index.js';
import type { Problem } from './event.js';

export const MANIFEST_LIMITS = {
  maxBills: 5000,
  maxContainersPerBill: 1000,
  maxContainers: 20_000,
  /** Bills sharing one container (LCL): each is kept on the container's record, which must stay small. */
  maxBillsPerContainer: 20,
  maxCargoLines: 200,
  maxSeals: 8,
  maxText: 512,
};

export const CARRIER_CODE = /^[A-Z0-9]{2,4}$/;
export const BILL_NUMBER = /^[A-Z0-9]{4,35}$/;
const TERMINAL_CODE = /^[A-Z0-9]{2,6}$/;
const VOYAGE = /^[A-Z0-9][A-Z0-9/-]{0,19}$/;
const SEAL_NUMBER = /^[A-Za-z0-9-]{1,35}$/;
const PACKAGE_TYPE = /^[A-Z0-9]{2}$/;
const FLOWS = new Set<number>([CargoFlow.IMPORT, CargoFlow.EXPORT, CargoFlow.TRANSSHIPMENT, CargoFlow.EMPTY]);

const p = (field: string, reason: string | undefined): Problem | undefined =>
  reason === undefined ? undefined : { field, reason };

function text(v: string, field: string, required: boolean): Problem | undefined {
  if (required && v.trim() === '') return { field, reason: 'required' };
  return v.length > MANIFEST_LIMITS.maxText ? { field, reason: 'too long' } : undefined;
}

function checkParty(party: Party | undefined, at: string, required: boolean): Problem | undefined {
  if (!party) return required ? { field: at, reason: 'required' } : undefined;
  const bad =
    text(party.name, `${at}.name`, true) ?? p(`${at}.country_code`, checkCountryCode(party.countryCode));
  if (bad) return bad;
  if (party.taxCode !== '') return p(`${at}.tax_code`, checkTaxCode(party.taxCode));
  // A Vietnamese party is named by its tax code: that is what declarations and access go by.
  return party.countryCode === 'VN'
    ? { field: `${at}.tax_code`, reason: 'required for a Vietnamese party' }
    : undefined;
}

function checkSeals(seals: readonly Seal[], at: string): Problem | undefined {
  if (seals.length > MANIFEST_LIMITS.maxSeals) return { field: at, reason: 'too many seals' };
  for (const [i, s] of seals.entries()) {
    if (!SEAL_NUMBER.test(s.number)) return { field: `${at}[${i}].number`, reason: 'invalid seal number' };
  }
  return undefined;
}

function checkContainer(c: ManifestContainer, at: string): Problem | undefined {
  return (
    p(`${at}.container_number`, checkContainerNumber(c.containerNumber)) ??
    (c.isoSizeType === '' ? undefined : p(`${at}.iso_size_type`, checkSizeTypeCode(c.isoSizeType))) ??
    checkSeals(c.seals, `${at}.seals`) ??
    (Number.isFinite(c.grossWeightKg) && c.grossWeightKg >= 0 && c.grossWeightKg <= 100_000
      ? undefined
      : { field: `${at}.gross_weight_kg`, reason: 'must be between 0 and 100000' })
  );
}

function checkCargo(l: CargoLine, at: string): Problem | undefined {
  return (
    p(`${at}.hs_code`, checkHsCode(l.hsCode)) ??
    (l.packages > 0 ? undefined : { field: `${at}.packages`, reason: 'must be positive' }) ??
    (PACKAGE_TYPE.test(l.packageType)
      ? undefined
      : { field: `${at}.package_type`, reason: 'must be a UN/ECE Rec 21 code, e.g. CT' }) ??
    text(l.description, `${at}.description`, true) ??
    (Number.isFinite(l.grossWeightKg) && l.grossWeightKg >= 0
      ? undefined
      : { field: `${at}.gross_weight_kg`, reason: 'must be zero or positive' })
  );
}

/** The flow must agree with where the call is: imports end here, exports start here, transshipments do neither. */
function checkRoute(b: BillOfLading, port: string, at: string): Problem | undefined {
  const bad =
    p(`${at}.port_of_loading`, checkUnLocode(b.portOfLoading)) ??
    p(`${at}.port_of_discharge`, checkUnLocode(b.portOfDischarge));
  if (bad) return bad;
  if (b.flow === CargoFlow.IMPORT && b.portOfDischarge !== port) {
    return {
      field: `${at}.port_of_discharge`,
      reason: `an import bill is discharged at the call's port ${port}`,
    };
  }
  if (b.flow === CargoFlow.EXPORT && b.portOfLoading !== port) {
    return { field: `${at}.port_of_loading`, reason: `an export bill is loaded at the call's port ${port}` };
  }
  if (b.flow === CargoFlow.TRANSSHIPMENT && (b.portOfLoading === port || b.portOfDischarge === port)) {
    return { field: `${at}.flow`, reason: `a transshipment bill neither starts nor ends at ${port}` };
  }
  return undefined;
}

function checkBill(b: BillOfLading, port: string, at: string): Problem | undefined {
  if (!BILL_NUMBER.test(b.billNumber)) {
    return { field: `${at}.bill_number`, reason: 'must be 4-35 of A-Z 0-9' };
  }
  if (!FLOWS.has(b.flow) || b.flow === CargoFlow.EMPTY) {
    return { field: `${at}.flow`, reason: 'must be IMPORT, EXPORT or TRANSSHIPMENT' };
  }
  const head =
    checkParty(b.shipper, `${at}.shipper`, true) ??
    checkParty(b.consignee, `${at}.consignee`, true) ??
    checkParty(b.notifyParty, `${at}.notify_party`, false) ??
    checkRoute(b, port, at);
  if (head) return head;
  // The party who declares must be known by its tax code.
  if (b.flow === CargoFlow.IMPORT && b.consignee?.taxCode === '') {
    return { field: `${at}.consignee.tax_code`, reason: 'required for an import bill' };
  }
  if (b.flow === CargoFlow.EXPORT && b.shipper?.taxCode === '') {
    return { field: `${at}.shipper.tax_code`, reason: 'required for an export bill' };
  }
  if (b.containers.length === 0) return { field: `${at}.containers`, reason: 'at least one container' };
  if (b.containers.length > MANIFEST_LIMITS.maxContainersPerBill) {
    return { field: `${at}.containers`, reason: 'too many containers' };
  }
  const seen = new Set<string>();
  for (const [i, c] of b.containers.entries()) {
    const bad = checkContainer(c, `${at}.containers[${i}]`);
    if (bad) return bad;
    if (seen.has(c.containerNumber)) return { field: `${at}.containers[${i}]`, reason: 'listed twice' };
    seen.add(c.containerNumber);
  }
  if (b.cargo.length === 0) return { field: `${at}.cargo`, reason: 'at least one cargo line' };
  if (b.cargo.length > MANIFEST_LIMITS.maxCargoLines)
    return { field: `${at}.cargo`, reason: 'too many lines' };
  for (const [i, l] of b.cargo.entries()) {
    const bad = checkCargo(l, `${at}.cargo[${i}]`);
    if (bad) return bad;
  }
  return undefined;
}

export function checkManifest(m: CargoManifest | undefined): Problem | undefined {
  if (!m) return { field: 'manifest', reason: 'required' };
  if (!CARRIER_CODE.test(m.carrierCode)) {
    return { field: 'manifest.carrier_code', reason: 'must be 2-4 of A-Z 0-9' };
  }
  const f = m.facility;
  if (!f) return { field: 'manifest.facility', reason: 'required' };
  const v = m.vessel;
  const head =
    p('manifest.facility.un_locode', checkUnLocode(f.unLocode)) ??
    (TERMINAL_CODE.test(f.terminalCode)
      ? undefined
      : { field: 'manifest.facility.terminal_code', reason: 'must be 2-6 of A-Z 0-9' }) ??
    (v ? undefined : { field: 'manifest.vessel', reason: 'required' }) ??
    p('manifest.vessel.imo_number', checkImoNumber(v?.imoNumber ?? '')) ??
    (VOYAGE.test(v?.voyage ?? '')
      ? undefined
      : { field: 'manifest.vessel.voyage', reason: 'invalid voyage' }) ??
    text(v?.name ?? '', 'manifest.vessel.name', false);
  if (head) return head;
  if (m.bills.length === 0 && m.emptyContainers.length === 0) {
    return { field: 'manifest.bills', reason: 'a manifest lists at least one bill or empty container' };
  }
  if (m.bills.length > MANIFEST_LIMITS.maxBills) return { field: 'manifest.bills', reason: 'too many bills' };
  const bills = new Set<string>();
  // A container carries one flow on a call: LCL bills sharing it must agree.
  const flowOf = new Map<string, CargoFlow>();
  const billsIn = new Map<string, number>();
  let containers = 0;
  for (const [i, b] of m.bills.entries()) {
    const at = `manifest.bills[${i}]`;
    const bad = checkBill(b, f.unLocode, at);
    if (bad) return bad;
    if (bills.has(b.billNumber)) return { field: `${at}.bill_number`, reason: 'listed twice' };
    bills.add(b.billNumber);
    for (const [j, c] of b.containers.entries()) {
      const shared = (billsIn.get(c.containerNumber) ?? 0) + 1;
      if (shared > MANIFEST_LIMITS.maxBillsPerContainer) {
        return {
          field: `${at}.containers[${j}]`,
          reason: `on more than ${MANIFEST_LIMITS.maxBillsPerContainer} bills of this manifest`,
        };
      }
      billsIn.set(c.containerNumber, shared);
      const was = flowOf.get(c.containerNumber);
      if (was === undefined) containers++;
      else if (was !== b.flow) {
        return {
          field: `${at}.containers[${j}]`,
          reason: 'on another bill of this manifest with another flow',
        };
      }
      flowOf.set(c.containerNumber, b.flow);
    }
  }
  for (const [i, c] of m.emptyContainers.entries()) {
    const at = `manifest.empty_containers[${i}]`;
    const bad = checkContainer(c, at);
    if (bad) return bad;
    if (flowOf.has(c.containerNumber)) return { field: at, reason: 'listed on a bill or twice' };
    flowOf.set(c.containerNumber, CargoFlow.EMPTY);
    containers++;
  }
  return containers > MANIFEST_LIMITS.maxContainers
    ? { field: 'manifest', reason: 'too many containers' }
    : undefined;
}

/** Throws INVALID_ARGUMENT naming the field when the manifest is not acceptable. */
export function assertManifest(m: CargoManifest | undefined): asserts m is CargoManifest {
  const problem = checkManifest(m);
  if (problem) throw invalidArgument(problem.field, problem.reason);
}
