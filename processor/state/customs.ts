// Customs standing and release of a container, from the declarations that list it. The state consumer checks
// release at gate-out; the customs projector calls linkDeclaration for each container a decided declaration lists.
import { decodeDeclarationState } from '../../core/state/declaration.js';
import {
  decodeContainerRecord,
  encodeContainerRecord,
  newContainerRecord,
  type ContainerRecord,
} from '../../core/state/container.js';
import { ClearanceStatus } from '../../proto/gen/portstream/v1/customs.js';
import type { ContainerStatus } from '../../proto/gen/portstream/v1/tracking.js';
import { aggregateCustoms, applyRelease } from '../../core/state/release.js';
import { readModifyWrite, type CasStore } from '../../core/nats/cas.js';

/** Reads a key's last entry: the KV client or a pipelined CasBucket. */
export interface EntryReader {
  get(key: string): Promise<{ operation: string; value: Uint8Array } | null>;
}

export const containerCodec = { decode: decodeContainerRecord, encode: encodeContainerRecord };

/** Current clearance status of each declaration (its last decision; PENDING before one; undefined: absent). */
export async function readDeclarationStatuses(
  declarations: EntryReader,
  numbers: readonly string[],
): Promise<Map<string, ClearanceStatus | undefined>> {
  const out = new Map<string, ClearanceStatus | undefined>();
  await Promise.all(
    numbers.map(async (n) => {
      const e = await declarations.get(n);
      if (e === null || e.operation !== 'PUT') {
        out.set(n, undefined);
        return;
      }
      const st = decodeDeclarationState(e.value);
      out.set(n, st.decisions.at(-1)?.status ?? ClearanceStatus.PENDING);
    }),
  );
  return out;
}

/**
 * Records that a declaration lists the container with this clearance status (CANCELLED unlinks it), and sets
 * customs_status / declaration_numbers / released with compare-and-set. The declaration's bills that are in the
 * container's shipments record it too, each with the status of all the declarations naming it. The other
 * declarations are read from `declarations` (ps_declarations) when given; without it they count as not cleared.
 * Creates the container entry when the declaration comes before any event. Resolves with the status written.
 */
export async function linkDeclaration(
  containers: CasStore,
  containerNumber: string,
  declarationNumber: string,
  status: ClearanceStatus,
  declarations?: EntryReader,
  billNumbers: readonly string[] = [],
): Promise<ContainerStatus> {
  const named = new Set(billNumbers);
  const cancelled = status === ClearanceStatus.CANCELLED;
  const written = await readModifyWrite(
    containers,
    containerNumber,
    containerCodec,
    async (prev): Promise<ContainerRecord> => {
      const rec = prev ?? newContainerRecord(containerNumber);
      const s = rec.status;
      const others = s.declarationNumbers.filter((n) => n !== declarationNumber);
      s.declarationNumbers = cancelled ? others : [...others, declarationNumber];
      const bills = rec.bookkeeping.shipments.flatMap((sh) => sh.bills);
      for (const b of bills) {
        const rest = b.declarationNumbers.filter((n) => n !== declarationNumber);
        b.declarationNumbers = named.has(b.billNumber) && !cancelled ? [...rest, declarationNumber] : rest;
      }
      const otherNumbers = [...new Set([...others, ...bills.flatMap((b) => b.declarationNumbers)])].filter(
        (n) => n !== declarationNumber,
      );
      const statuses =
        declarations === undefined
          ? new Map<string, ClearanceStatus | undefined>(
              otherNumbers.map((n) => [n, ClearanceStatus.PENDING]),
            )
          : await readDeclarationStatuses(declarations, otherNumbers);
      statuses.set(declarationNumber, status);
      s.customsStatus = aggregateCustoms(s.declarationNumbers.map((n) => statuses.get(n)));
      for (const b of bills)
        b.customsStatus = aggregateCustoms(b.declarationNumbers.map((n) => statuses.get(n)));
      applyRelease(rec);
      return rec;
    },
  );
  if (written === undefined) throw new Error(`container ${containerNumber}: nothing written`);
  return written.status;
}
