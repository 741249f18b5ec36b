// Who may see what in the tracking API. A firm sees a container only when one of its tax codes is declarant or
// trader on a declaration listing it; an operator sees containers whose current facility is one of its
// terminals (it handles them; once a container left for another terminal, that terminal's operator owns it).
// Customs and admin see everything. Whatever a caller may not see is answered NOT_FOUND, exactly as if it did
// not exist, so nobody can probe which containers or declarations exist.
import { facilityKey, maySeeDeclaration, Role, type Principal } from '../../core/auth/principal.js';
import { ErrorCode, PortstreamError } from '../../core/errors.js';
import type { Declaration } from '../../proto/gen/portstream/v1/customs.js';
import type { ContainerStatus } from '../../proto/gen/portstream/v1/tracking.js';
import type { TrackingStore } from './store.js';

export function notFound(what: string): PortstreamError {
  return new PortstreamError(ErrorCode.NotFound, `${what} not found`);
}

export function declarationParties(d: Declaration): string[] {
  return [d.declarantTaxCode, d.traderTaxCode].filter((t) => t !== '');
}

export async function maySeeContainer(
  p: Principal,
  status: ContainerStatus,
  store: TrackingStore,
): Promise<boolean> {
  switch (p.role) {
    case Role.Admin:
    case Role.Customs:
      return true;
    case Role.Operator: {
      const f = status.facility;
      if (!f) return false;
      return p.terminals.has(facilityKey(f.unLocode, f.terminalCode)) || p.terminals.has(`${f.unLocode}:*`);
    }
    case Role.Firm: {
      for (const no of status.declarationNumbers) {
        const d = await store.declaration(no);
        if (d && maySeeDeclaration(p, declarationParties(d))) return true;
      }
      return false;
    }
  }
}

/** The container's status if it exists and the caller may see it; NOT_FOUND otherwise. */
export async function visibleContainer(
  p: Principal,
  containerNumber: string,
  store: TrackingStore,
): Promise<ContainerStatus> {
  const s = await store.container(containerNumber);
  if (!s || !(await maySeeContainer(p, s, store))) throw notFound(`container ${containerNumber}`);
  return s;
}

/** Firms see their own declarations' decisions; operators never see customs decisions. */
export async function assertMaySeeDeclaration(
  p: Principal,
  declarationNumber: string,
  store: TrackingStore,
): Promise<void> {
  if (p.role === Role.Admin || p.role === Role.Customs) return;
  if (p.role === Role.Operator) {
    throw new PortstreamError(ErrorCode.PermissionDenied, 'operator may not read customs decisions');
  }
  const d = await store.declaration(declarationNumber);
  if (!d || !maySeeDeclaration(p, declarationParties(d))) throw notFound(`declaration ${declarationNumber}`);
}
