// Authentication at the gRPC edge: the bearer token in the call's "authorization" metadata becomes a Principal.
import type { Metadata } from '@grpc/grpc-js';
import type { Authenticator } from '../auth/tokens.js';
import type { Principal, Role } from '../auth/principal.js';
import { ErrorCode, PortstreamError } from '../errors.js';

export function principalOf(auth: Authenticator, metadata: Metadata): Principal {
  const v = metadata.get('authorization')[0];
  return auth.authenticate(typeof v === 'string' ? v : undefined);
}

/** Throws PERMISSION_DENIED unless the principal has one of the roles. */
export function requireRole(p: Principal, roles: readonly Role[], what: string): void {
  if (!roles.includes(p.role)) {
    throw new PortstreamError(ErrorCode.PermissionDenied, `${p.role} may not ${what}`);
  }
}
