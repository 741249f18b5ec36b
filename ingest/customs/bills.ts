// What a declaration's bills of lading grant. A bill on a filed manifest says who may declare it (the consignee of
// an import, the shipper of an export, or a firm registered to act for them) and which containers the declaration
// covers; a bill on no manifest (yet) grants nothing and is left to the risk rules. A firm's own list of containers
// is never trusted: its declaration covers exactly the containers of its manifested bills. Customs and admin may
// also name containers directly.
import { actsForTaxCode, Role, type Principal } from '../../core/auth/principal.js';
import { ErrorCode, invalidArgument, PortstreamError } from '../../core/errors.js';
import { DeclarationType, type Declaration } from '../../proto/gen/portstream/v1/customs.js';
import { CargoFlow, type BillOfLading, type Party } from '../../proto/gen/portstream/v1/manifest.js';
import type { FiledBill } from '../manifest/store.js';

export interface BillLookup {
  bills(billNumbers: readonly string[]): Promise<Map<string, FiledBill>>;
  /** Declarations (not cancelled) that name the bill, as recorded on one of its containers. */
  billDeclarations(billNumber: string, containerNumber: string): Promise<number>;
}

/**
 * Declarations a firm may have on one bill at once (cancelled ones do not count). Each is recorded on the bill's
 * containers, which hold other parties' bills too (LCL): without a bound, a firm filing declaration after
 * declaration on its own bill would grow a shared container's record until no write to it fits.
 */
export const MAX_DECLARATIONS_PER_BILL = 16;

export interface ResolvedDeclaration {
  /** The declaration as it is persisted: its containers are those of its bills. */
  declaration: Declaration;
  /** Bills it names that are on no filed manifest. */
  unmanifested: string[];
}

const FLOW_FOR: Record<number, CargoFlow> = {
  [DeclarationType.IMPORT]: CargoFlow.IMPORT,
  [DeclarationType.EXPORT]: CargoFlow.EXPORT,
  [DeclarationType.TRANSIT]: CargoFlow.TRANSSHIPMENT,
};

/** The party whose goods the declaration clears: consignee of an import or transit, shipper of an export. */
function declaringParty(type: DeclarationType, b: BillOfLading): Party | undefined {
  return type === DeclarationType.EXPORT ? b.shipper : b.consignee;
}

export async function resolveBills(
  lookup: BillLookup,
  p: Principal,
  decl: Declaration,
): Promise<ResolvedDeclaration> {
  const filed =
    decl.billNumbers.length === 0 ? new Map<string, FiledBill>() : await lookup.bills(decl.billNumbers);
  const containers = new Set<string>(p.role === Role.Firm ? [] : decl.containerNumbers);
  const unmanifested: string[] = [];
  for (const [i, n] of decl.billNumbers.entries()) {
    const field = `declaration.bill_numbers[${i}]`;
    const bill = filed.get(n)?.record.bill;
    if (!bill) {
      unmanifested.push(n);
      continue;
    }
    if (bill.flow !== FLOW_FOR[decl.type]) {
      throw invalidArgument(field, `bill ${n} is not a ${CargoFlow[FLOW_FOR[decl.type] ?? 0]} bill`);
    }
    const party = declaringParty(decl.type, bill)?.taxCode ?? '';
    if (p.role === Role.Firm && !actsForTaxCode(p, party)) {
      throw new PortstreamError(
        ErrorCode.PermissionDenied,
        `${field}: ${p.name} is not the ${decl.type === DeclarationType.EXPORT ? 'shipper' : 'consignee'} of bill ${n} and is not registered to act for it`,
      );
    }
    if (party !== '' && decl.traderTaxCode !== party) {
      throw invalidArgument(
        'declaration.trader_tax_code',
        `must be the tax code of bill ${n}'s ${decl.type === DeclarationType.EXPORT ? 'shipper' : 'consignee'}`,
      );
    }
    const first = bill.containers[0]?.containerNumber;
    if (p.role === Role.Firm && first !== undefined) {
      const count = await lookup.billDeclarations(n, first);
      if (count >= MAX_DECLARATIONS_PER_BILL) {
        throw new PortstreamError(
          ErrorCode.FailedPrecondition,
          `${field}: bill ${n} already has ${count} declarations; amend or cancel one of them`,
        );
      }
    }
    for (const c of bill.containers) containers.add(c.containerNumber);
  }
  return { declaration: { ...decl, containerNumbers: [...containers] }, unmanifested };
}
