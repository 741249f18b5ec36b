// Who is calling and what they may see. Roles: a terminal operator publishes events for its own terminals; customs
// submits and decides declarations and sees everything; a carrier (or its shipping agent) files the cargo manifests
// of its own vessel calls; a logistics firm (identified by its tax codes, and those of the parties it is registered
// to act for as customs broker) declares and sees the shipments it is a party to; admin may do everything.
export const Role = {
  Admin: 'admin',
  Customs: 'customs',
  Operator: 'operator',
  Firm: 'firm',
  Carrier: 'carrier',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

export interface Principal {
  /** Name for logs and audit (never the token). */
  readonly name: string;
  readonly role: Role;
  /** For operators: facilities as "<UN/LOCODE>:<terminal>" (e.g. "VNHPH:HICT") or "<UN/LOCODE>:*". */
  readonly terminals: ReadonlySet<string>;
  /** For firms: the firm's own enterprise tax codes (it may be declarant under these). */
  readonly taxCodes: ReadonlySet<string>;
  /** For firms: tax codes of the parties it is registered to act for as customs broker. */
  readonly actsFor: ReadonlySet<string>;
  /** For carriers: the carrier codes whose manifests it may file. */
  readonly carriers: ReadonlySet<string>;
}

/** Every tax code a firm speaks for: its own and those of the parties it acts for. */
export function actsForTaxCode(p: Principal, taxCode: string): boolean {
  return taxCode !== '' && (p.taxCodes.has(taxCode) || p.actsFor.has(taxCode));
}

export function facilityKey(unLocode: string, terminalCode: string): string {
  return `${unLocode}:${terminalCode}`;
}

/** May this principal publish events for the facility? */
export function mayPublishFor(p: Principal, unLocode: string, terminalCode: string): boolean {
  if (p.role === Role.Admin) return true;
  if (p.role !== Role.Operator) return false;
  return p.terminals.has(facilityKey(unLocode, terminalCode)) || p.terminals.has(`${unLocode}:*`);
}

/** May this principal see a declaration with these parties? (Firms: only their own.) */
export function maySeeDeclaration(p: Principal, parties: readonly string[]): boolean {
  if (p.role === Role.Admin || p.role === Role.Customs) return true;
  if (p.role !== Role.Firm) return false;
  return parties.some((t) => actsForTaxCode(p, t));
}
