// Who may see what in the tracking API. Customs and admin see everything. An operator sees containers whose
// current facility is one of its terminals (it handles them; once a container left for another terminal, that
// terminal's operator owns it), and of their history what happened at its terminals. A firm sees a container
// while it carries one of the firm's bills of lading (the firm, or a party it acts for, is shipper, consignee or
// notify party on the carrier's manifest): from that shipment's start (discharge from the call's vessel, or entry
// into the terminal for cargo leaving on it) to its end (gate-out, or loading), and of its history only that
// window; of a shipment not started yet it sees what the manifest says, not where the container is now. It never
// sees another party's bills or declaration numbers. A container on no manifest is seen by the parties of the
// declarations customs linked to it. Whatever a caller may not see is answered NOT_FOUND, exactly as if it did
// not exist, so nobody can probe which containers or declarations exist.
import { maySeeDeclaration, Role, type Principal } from '../../core/auth/principal.js';
import { containerView, declarationParties, type ContainerView } from '../../core/access/containers.js';
import { ErrorCode, PortstreamError } from '../../core/errors.js';
import type { TrackingStore } from './store.js';

// The rules themselves live in core/access (the notify service delivers by them too).
export {
  containerView,
  declarationParties,
  inView,
  type ContainerView,
  type Window,
} from '../../core/access/containers.js';

export function notFound(what: string): PortstreamError {
  return new PortstreamError(ErrorCode.NotFound, `${what} not found`);
}

/** The caller's view of the container if it exists and the caller may see it; NOT_FOUND otherwise. */
export async function visibleContainer(
  p: Principal,
  containerNumber: string,
  store: TrackingStore,
): Promise<ContainerView> {
  const rec = await store.container(containerNumber);
  const view = rec && (await containerView(p, rec, store));
  if (!view) throw notFound(`container ${containerNumber}`);
  return view;
}

/** Firms see their own declarations' decisions; operators and carriers never see customs decisions. */
export async function assertMaySeeDeclaration(
  p: Principal,
  declarationNumber: string,
  store: TrackingStore,
): Promise<void> {
  if (p.role === Role.Admin || p.role === Role.Customs) return;
  if (p.role === Role.Operator || p.role === Role.Carrier) {
    throw new PortstreamError(ErrorCode.PermissionDenied, `${p.role} may not read customs decisions`);
  }
  const d = await store.declaration(declarationNumber);
  if (!d || !maySeeDeclaration(p, declarationParties(d))) throw notFound(`declaration ${declarationNumber}`);
}
