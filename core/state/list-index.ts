// The list index (KV bucket ps_list_index): which containers and declarations each party may be shown, so a
// list reads one party's keys instead of scanning every container. Written by the processor's index projection
// (processor/index/), read by the tracking API's list endpoints. It is a candidate set, never the authority:
// the API reads each candidate's current record and shows it only through the same access check as a point read
// (api/tracking/access.ts), so a stale or extra key can hide nothing and show nothing it should not.
//
// Keys (values are "1"; only the keys matter):
//   f.<tax code>.c.<container>   a party of one of the container's bills (or, on no manifest, of a declaration
//                                customs linked to it)
//   f.<tax code>.d.<declaration> the declarant or the trader
//   t.<UN/LOCODE>.<terminal>.<container>  the container's current facility (operators)
//   r.c.<container>, r.d.<declaration>    the projection's own record of the keys it set for the source key
// Customs and admin may list every container and declaration: their candidates are the keys of the source
// buckets themselves (api/tracking/store.ts, every()), which hold exactly the live ones, so the index keeps no
// list of all (it did until 2026-11-30: `a.c.<container>` and `a.d.<declaration>`, one write more per container
// and per declaration; such keys left in an index are read by nothing and go with their key's next change).
import type { ContainerRecord } from './container.js';
import type { Declaration } from '../../proto/gen/portstream/v1/customs.js';

/** KV keys allow [-/_=.a-zA-Z0-9]; a token is one dot-free part of a key. */
const TOKEN = /^[-_=a-zA-Z0-9]{1,64}$/;

export const isIndexToken = (s: string): boolean => TOKEN.test(s);

export type Listed = 'c' | 'd';

export const indexPrefix = {
  firm: (taxCode: string, what: Listed): string => `f.${taxCode}.${what}.`,
  terminal: (unLocode: string, terminal: string): string => `t.${unLocode}.${terminal}.`,
  /** Every terminal of a port (an operator holding "<UN/LOCODE>:*"). */
  port: (unLocode: string): string => `t.${unLocode}.`,
} as const;

/** The projection's record of what it indexed for a source key. */
export const reverseKey = (what: Listed, id: string): string => `r.${what}.${id}`;

/** The listed id (container or declaration number) a key ends with. */
export function listedId(key: string): string {
  return key.slice(key.lastIndexOf('.') + 1);
}

function add(out: Set<string>, prefix: string, id: string, ...tokens: string[]): void {
  if (tokens.every(isIndexToken)) out.add(`${prefix}${id}`);
}

/**
 * The keys a container record is listed under. `declarationParties` gives the parties of its linked
 * declarations; they count only for a container on no manifest, as in the access rules.
 */
export function containerIndexKeys(rec: ContainerRecord, declarationParties: readonly string[]): string[] {
  const n = rec.status.containerNumber;
  const out = new Set<string>();
  if (!isIndexToken(n)) return [];
  const f = rec.status.facility;
  if (f && f.unLocode !== '' && f.terminalCode !== '') {
    add(out, indexPrefix.terminal(f.unLocode, f.terminalCode), n, f.unLocode, f.terminalCode);
  }
  const parties =
    rec.bookkeeping.shipments.length === 0
      ? declarationParties
      : rec.bookkeeping.shipments.flatMap((s) => s.bills.flatMap((b) => b.partyTaxCodes));
  for (const t of parties) if (t !== '') add(out, indexPrefix.firm(t, 'c'), n, t);
  return [...out].sort();
}

/** The keys a declaration is listed under. */
export function declarationIndexKeys(d: Declaration): string[] {
  const no = d.declarationNumber;
  const out = new Set<string>();
  if (!isIndexToken(no)) return [];
  for (const t of [d.declarantTaxCode, d.traderTaxCode]) {
    if (t !== '') add(out, indexPrefix.firm(t, 'd'), no, t);
  }
  return [...out].sort();
}
