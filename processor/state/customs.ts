// Customs standing and release of a container, from the declarations that list it. The state consumer checks
// release at gate-out; the customs decider calls linkDeclaration when it decides on a declaration listing it.
import type { KV } from '@nats-io/kv';
import { decodeDeclarationState } from '../../core/state/declaration.js';
import {
  decodeContainerRecord,
  encodeContainerRecord,
  newContainerRecord,
  type ContainerRecord,
} from '../../core/state/container.js';
import { ClearanceStatus } from '../../proto/gen/portstream/v1/customs.js';
import { EmptyIndicator } from '../../proto/gen/portstream/v1/events.js';
import { CustomsStatus, type ContainerStatus } from '../../proto/gen/portstream/v1/tracking.js';
import { kvStore, readModifyWrite } from './cas.js';

export const containerCodec = { decode: decodeContainerRecord, encode: encodeContainerRecord };

/** Statuses by how strongly they hold a container, the most blocking last. CLEARED blocks nothing. */
const SEVERITY: readonly CustomsStatus[] = [
  CustomsStatus.CLEARED,
  CustomsStatus.PENDING,
  CustomsStatus.DOCUMENT_CHECK,
  CustomsStatus.PHYSICAL_INSPECTION,
  CustomsStatus.REFUSED,
];

/** A declaration's clearance status as the container's customs status; undefined for CANCELLED (not listed). */
export function customsStatusOf(s: ClearanceStatus | undefined): CustomsStatus | undefined {
  switch (s) {
    case ClearanceStatus.CLEARED:
      return CustomsStatus.CLEARED;
    case ClearanceStatus.DOCUMENT_CHECK:
      return CustomsStatus.DOCUMENT_CHECK;
    case ClearanceStatus.PHYSICAL_INSPECTION:
      return CustomsStatus.PHYSICAL_INSPECTION;
    case ClearanceStatus.REFUSED:
      return CustomsStatus.REFUSED;
    case ClearanceStatus.CANCELLED:
      return undefined;
    default:
      // Pending, unknown or not found: not cleared.
      return CustomsStatus.PENDING;
  }
}

/**
 * The container's customs status from its declarations' statuses (undefined: declaration not found): the most
 * blocking of them; NO_DECLARATION when none lists it (cancelled ones do not count).
 */
export function aggregateCustoms(statuses: Iterable<ClearanceStatus | undefined>): CustomsStatus {
  let worst: CustomsStatus | undefined;
  for (const s of statuses) {
    const c = customsStatusOf(s);
    if (c === undefined) continue;
    if (worst === undefined || SEVERITY.indexOf(c) > SEVERITY.indexOf(worst)) worst = c;
  }
  return worst ?? CustomsStatus.NO_DECLARATION;
}

/** Current clearance status of each declaration (its last decision; PENDING before one; undefined: absent). */
export async function readDeclarationStatuses(
  declarations: KV,
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
 * Whether the container may gate out: only once discharged, and every declaration listing it is cleared (a
 * laden import needs at least one). Sets `released` and `releaseBlocker` from the status's customs fields.
 */
export function applyRelease(s: ContainerStatus): void {
  let blocker = '';
  if (s.dischargedTime === undefined) blocker = 'not discharged from a vessel';
  else if (s.customsStatus === CustomsStatus.NO_DECLARATION || s.declarationNumbers.length === 0) {
    if (s.emptyIndicator === EmptyIndicator.LADEN) blocker = 'no customs declaration for a laden import';
  } else if (s.customsStatus !== CustomsStatus.CLEARED) {
    blocker = `customs status ${CustomsStatus[s.customsStatus]}`;
  }
  s.released = blocker === '';
  s.releaseBlocker = blocker;
}

/**
 * Records that a declaration lists the container with this clearance status (CANCELLED unlinks it), and sets
 * customs_status / declaration_numbers / released with compare-and-set. The other declarations listed are read
 * from `declarations` (ps_declarations) when given; without it they count as not cleared. Creates the container
 * entry when the declaration comes before any event. Resolves with the status written.
 */
export async function linkDeclaration(
  containersKv: KV,
  containerNumber: string,
  declarationNumber: string,
  status: ClearanceStatus,
  declarations?: KV,
): Promise<ContainerStatus> {
  const written = await readModifyWrite(
    kvStore(containersKv),
    containerNumber,
    containerCodec,
    async (prev): Promise<ContainerRecord> => {
      const rec = prev ?? newContainerRecord(containerNumber);
      const s = rec.status;
      const others = s.declarationNumbers.filter((n) => n !== declarationNumber);
      s.declarationNumbers = status === ClearanceStatus.CANCELLED ? others : [...others, declarationNumber];
      const statuses =
        declarations === undefined
          ? new Map<string, ClearanceStatus | undefined>(others.map((n) => [n, ClearanceStatus.PENDING]))
          : await readDeclarationStatuses(declarations, others);
      statuses.set(declarationNumber, status);
      s.customsStatus = aggregateCustoms(statuses.values());
      applyRelease(s);
      return rec;
    },
  );
  if (written === undefined) throw new Error(`container ${containerNumber}: nothing written`);
  return written.status;
}
