// Who is calling and what they may see. Roles: a terminal operator publishes events for its own terminals; customs
// submits and decides declarations and sees everything; a logistics firm (identified by its tax codes) sees only
// containers and declarations where it is declarant or importer/exporter; admin may do everything.
export const Role = {
  Admin: 'admin',
  Customs: 'customs',
  Operator: 'operator',
  Firm: 'firm',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

export interface Principal {
  /** Name for logs and audit (never the token). */
  readonly name: string;
  readonly role: Role;
  /** For operators: facilities as "<UN/LOCODE>:<terminal>" (e.g. "VNHPH:HICT") or "<UN/LOCODE>:*". */
  readonly terminals: ReadonlySet<string>;
  /** For firms: the enterprise tax codes it acts for. */
  readonly taxCodes: ReadonlySet<string>;
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
  return parties.some((t) => p.taxCodes.has(t));
}
